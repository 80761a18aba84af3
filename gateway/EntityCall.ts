// How the gateway calls entities: infrastructure faults of the call (mailbox full, storage or transport down, a
// defect on the runner) become 503 ServiceUnavailable; the entity's own typed errors pass through untouched.
import { ClusterError } from "@effect/cluster"
import { Cause, Effect, Predicate } from "effect"
import { ServiceUnavailable } from "./HttpErrors.ts"

// --- [FUNCTIONS]

type Infrastructure = ClusterError.MailboxFull | ClusterError.AlreadyProcessingMessage | ClusterError.PersistenceError

const isInfrastructure = <E>(error: E): error is Extract<E, Infrastructure> =>
	ClusterError.MailboxFull.is(error) ||
	ClusterError.AlreadyProcessingMessage.is(error) ||
	Predicate.isTagged(error, "PersistenceError")

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
	)

// --- [EXPORT]

export { callEntity }
