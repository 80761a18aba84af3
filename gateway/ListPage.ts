// Cursor pagination (CONTRACT "Lists") of lists that are read whole because they are small by construction (a user's
// sessions are capped, their keys and identities are few, a channel's presence): `?limit=` and `?cursor=` (the last
// key seen) give `{ items, nextCursor }` like every other list.
import { Schema } from "effect"

// --- [SCHEMA]

// `?limit=&cursor=` of these lists: the cursor is the last key seen, any string (a page starts after it).
const PageParams = Schema.Struct({
	limit: Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)), {
		default: () => 20,
	}),
	cursor: Schema.optional(Schema.String.pipe(Schema.maxLength(512))),
})

const Page = <A extends Schema.Schema.Any>(item: A) =>
	Schema.Struct({ items: Schema.Array(item), nextCursor: Schema.NullOr(Schema.String) })

// --- [FUNCTIONS]

// Items are ordered by key, and a page starts after the cursor's key, so a page is stable while items come and go
// (the cursor's own item may have left meanwhile).
const pageOf = <A>(
	items: ReadonlyArray<A>,
	params: { readonly limit: number; readonly cursor?: string | undefined },
	keyOf: (item: A) => string,
) => {
	const cursor = params.cursor
	const ordered = [...items].sort((left, right) =>
		keyOf(left) < keyOf(right) ? -1 : keyOf(left) > keyOf(right) ? 1 : 0,
	)
	const after = cursor === undefined ? ordered : ordered.filter((item) => keyOf(item) > cursor)
	const slice = after.slice(0, params.limit)
	const last = slice.at(-1)
	return { items: slice, nextCursor: after.length > params.limit && last !== undefined ? keyOf(last) : null }
}

const byId = (item: { readonly id: string }) => item.id

// --- [EXPORT]

export { byId, Page, PageParams, pageOf }
