// Postgres did not answer. Crosses RPC as a typed error so callers answer 503 with Retry-After instead of waiting
// for an entity that keeps restarting; the SqlError itself (and its statement) is logged where it happened.
import { SqlError } from "@effect/sql"
import { Effect, Schema } from "effect"

// --- [ERRORS]

class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>()("StorageUnavailable", {
	message: Schema.String,
}) {}

// --- [FUNCTIONS]

const orStorageUnavailable = <A, E, R>(
	effect: Effect.Effect<A, E | SqlError.SqlError, R>,
): Effect.Effect<A, Exclude<E, SqlError.SqlError> | StorageUnavailable, R> =>
	effect.pipe(
		Effect.catchIf(
			(error): error is SqlError.SqlError => error instanceof SqlError.SqlError,
			(error) =>
				Effect.logWarning("storage unavailable", error).pipe(
					Effect.zipRight(
						Effect.fail(new StorageUnavailable({ message: "storage is temporarily unavailable" })),
					),
				),
		),
	) as Effect.Effect<A, Exclude<E, SqlError.SqlError> | StorageUnavailable, R>

// --- [EXPORT]

export { orStorageUnavailable, StorageUnavailable }
