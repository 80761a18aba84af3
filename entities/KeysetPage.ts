// Cursor pagination shared by every list over a table ordered by (created_at, id): the cursor is the last row's key,
// base64url-encoded. An unreadable cursor starts from the beginning instead of failing. `settle` is how repositories
// classify query failures: a row that does not decode is a defect; Postgres not answering is StorageUnavailable.
import type { SqlError } from "@effect/sql"
import { DateTime, Effect, Option, ParseResult, Schema } from "effect"
import { orStorageUnavailable, type StorageUnavailable } from "../platform/StorageUnavailable.ts"

// --- [SCHEMA]

const CursorKey = Schema.Tuple(Schema.String, Schema.UUID)
type CursorKey = typeof CursorKey.Type

const Cursor = Schema.StringFromBase64Url.pipe(Schema.compose(Schema.parseJson(CursorKey)))

// `?cursor=` of a keyset list as the HTTP edge accepts it: a cursor this module issued, else 400 before any query.
const CursorParam = Schema.String.pipe(
	Schema.maxLength(512),
	Schema.filter((cursor) => Option.isSome(Schema.decodeUnknownOption(Cursor)(cursor)), {
		message: () => "cursor is not one this list issued (pass nextCursor back unchanged)",
	}),
)

// --- [FUNCTIONS]

const after = (cursor: string | null): Effect.Effect<CursorKey | null> =>
	cursor === null ? Effect.succeed(null) : Schema.decode(Cursor)(cursor).pipe(Effect.orElseSucceed(() => null))

// `rows` was fetched with `limit + 1`: the extra row only says whether another page exists.
const page = <Row extends { readonly createdAt: DateTime.Utc; readonly id: string }>(
	rows: ReadonlyArray<Row>,
	limit: number,
) => {
	const items = rows.slice(0, limit)
	const last = items.at(-1)
	return Effect.map(
		rows.length > limit && last !== undefined
			? Schema.encode(Cursor)([DateTime.formatIso(last.createdAt), last.id])
			: Effect.succeed(null),
		(nextCursor) => ({ items, nextCursor }),
	).pipe(Effect.orDie)
}

const settle = <A, E, R>(effect: Effect.Effect<A, E | ParseResult.ParseError | SqlError.SqlError, R>) =>
	effect.pipe(Effect.catchIf(ParseResult.isParseError, Effect.die), orStorageUnavailable) as Effect.Effect<
		A,
		Exclude<E, ParseResult.ParseError | SqlError.SqlError> | StorageUnavailable,
		R
	>

// --- [EXPORT]

const KeysetPage = { after, page, settle, CursorKey, CursorParam } as const

export { KeysetPage }
