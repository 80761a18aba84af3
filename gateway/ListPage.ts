// Cursor pagination (CONTRACT "Lists") of lists an entity returns whole because they are small by construction (a
// user's sessions are capped, their keys and identities are few): `?limit=` and `?cursor=` (the last id seen) give
// `{ items, nextCursor }` like every other list.
import { Schema } from "effect"

// --- [SCHEMA]

const Page = <A extends Schema.Schema.Any>(item: A) =>
	Schema.Struct({ items: Schema.Array(item), nextCursor: Schema.NullOr(Schema.String) })

// --- [FUNCTIONS]

const pageOf = <A>(
	items: ReadonlyArray<A>,
	params: { readonly limit: number; readonly cursor?: string | undefined },
	keyOf: (item: A) => string,
) => {
	const start = params.cursor === undefined ? 0 : items.findIndex((item) => keyOf(item) === params.cursor) + 1
	const slice = items.slice(start, start + params.limit)
	const last = slice.at(-1)
	return {
		items: slice,
		nextCursor: start + params.limit < items.length && last !== undefined ? keyOf(last) : null,
	}
}

const byId = (item: { readonly id: string }) => item.id

// --- [EXPORT]

export { byId, Page, pageOf }
