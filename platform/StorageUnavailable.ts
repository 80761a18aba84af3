// Postgres did not answer. Crosses RPC as a typed error so callers answer 503 with Retry-After instead of waiting
// for an entity that keeps restarting; the SqlError itself (and its statement) is logged where it happened. Only
// failures of the connection or of the server's resources count: any other SqlError (bad SQL, a constraint the caller
// did not handle, bad data) is a bug, logged and raised as a defect (the gateway answers 500 InternalError).
import { SqlError } from "@effect/sql"
import { Effect, Option, Predicate, Schema } from "effect"

// --- [CONSTANTS]

// SQLSTATE classes of an unusable connection or an exhausted server: 08 connection exception, 53 insufficient
// resources, 57 operator intervention (57P01 admin shutdown, 57P03 cannot connect now, 57014 statement timeout), 58
// system (I/O) error. 40001 / 40P01 (serialization failure, deadlock) are transient too: trying again succeeds.
const UnavailableClasses = new Set(["08", "53", "57", "58"])
const TransientStates = new Set(["40001", "40P01"])

// Node socket and DNS errors raised while connecting to or talking with the server.
const NetworkCodes = new Set([
	"ECONNREFUSED",
	"ECONNRESET",
	"ECONNABORTED",
	"ETIMEDOUT",
	"EPIPE",
	"EHOSTUNREACH",
	"ENETUNREACH",
	"ENETDOWN",
	"ENOTFOUND",
	"EAI_AGAIN",
])

const SqlState = /^[0-9A-Z]{5}$/

// --- [ERRORS]

class StorageUnavailable extends Schema.TaggedError<StorageUnavailable>()("StorageUnavailable", {
	message: Schema.String,
}) {}

// --- [FUNCTIONS]

// The first `code` along the cause chain (SqlError → pg's error → an AggregateError's socket error …).
const codeOf = (cause: unknown, depth = 0): Option.Option<string> =>
	depth > 4 || !Predicate.isObject(cause)
		? Option.none()
		: Predicate.hasProperty(cause, "code") && Predicate.isString(cause.code)
			? Option.some(cause.code)
			: Predicate.hasProperty(cause, "cause")
				? codeOf(cause.cause, depth + 1)
				: Option.none()

// Connection-level trouble: a SQLSTATE of an unavailable class, a socket error, or an error that carries no code at
// all (pg reports a dropped connection or a connect timeout that way; a server answer always has a SQLSTATE). A
// programming error of the client (TypeError, RangeError) is not.
const isStorageUnavailable = (error: SqlError.SqlError) =>
	Option.match(codeOf(error.cause), {
		onSome: (code) =>
			SqlState.test(code)
				? UnavailableClasses.has(code.slice(0, 2)) || TransientStates.has(code)
				: NetworkCodes.has(code),
		onNone: () => !(error.cause instanceof TypeError || error.cause instanceof RangeError),
	})

const orStorageUnavailable = <A, E, R>(
	effect: Effect.Effect<A, E | SqlError.SqlError, R>,
): Effect.Effect<A, Exclude<E, SqlError.SqlError> | StorageUnavailable, R> =>
	effect.pipe(
		Effect.catchIf(
			(error): error is SqlError.SqlError => error instanceof SqlError.SqlError,
			(error) =>
				isStorageUnavailable(error)
					? Effect.logWarning("storage unavailable", error).pipe(
							Effect.zipRight(
								Effect.fail(new StorageUnavailable({ message: "storage is temporarily unavailable" })),
							),
						)
					: Effect.logError("SQL failure that is not unavailability: a defect", error).pipe(
							Effect.zipRight(Effect.die(error)),
						),
		),
	) as Effect.Effect<A, Exclude<E, SqlError.SqlError> | StorageUnavailable, R>

// --- [EXPORT]

export { isStorageUnavailable, orStorageUnavailable, StorageUnavailable }
