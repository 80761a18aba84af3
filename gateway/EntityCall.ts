// How the gateway calls entities: infrastructure faults of the call (mailbox full, storage or transport down, a
// defect on the runner) become 503 ServiceUnavailable; the entity's own typed errors pass through untouched.
import { ClusterError } from "@effect/cluster"
import { Cause, Effect, Predicate, Schema } from "effect"
import { StorageUnavailable } from "../platform/StorageUnavailable.ts"
import { ServiceUnavailable } from "./HttpErrors.ts"

// --- [CONSTANTS]

// A backstop: an entity that cannot be reached (its runner died and the shard has not moved yet, or it keeps failing
// to start) answers 503 after this long instead of holding the request open. Failover completes well within it.
const EntityCallDeadline = "20 seconds"

// --- [FUNCTIONS]

type Infrastructure =
	| ClusterError.MailboxFull
	| ClusterError.AlreadyProcessingMessage
	| ClusterError.PersistenceError
	| StorageUnavailable

const isInfrastructure = <E>(error: E): error is Extract<E, Infrastructure> =>
	ClusterError.MailboxFull.is(error) ||
	ClusterError.AlreadyProcessingMessage.is(error) ||
	Predicate.isTagged(error, "PersistenceError") ||
	Schema.is(StorageUnavailable)(error)

const unavailable = (cause: Cause.Cause<unknown>) =>
	Effect.logWarning("entity call failed on infrastructure; answering 503", cause).pipe(
		Effect.zipRight(Effect.fail(new ServiceUnavailable({ message: "the platform is temporarily unavailable" }))),
	)

const callEntity = <A, E, R>(
	call: Effect.Effect<A, E, R>,
): Effect.Effect<A, Exclude<E, Extract<E, Infrastructure>> | ServiceUnavailable, R> =>
	call.pipe(
		Effect.catchIf(isInfrastructure<E>, (error) => unavailable(Cause.fail(error))),
		Effect.catchAllDefect((defect) => unavailable(Cause.die(defect))),
		Effect.timeoutFail({
			duration: EntityCallDeadline,
			onTimeout: () => new ServiceUnavailable({ message: "the platform did not answer in time; try again" }),
		}),
	)

// --- [EXPORT]

export { callEntity }
