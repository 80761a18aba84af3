// How the gateway calls entities: infrastructure faults of the call (mailbox full, storage or transport down, a
// defect on the runner) become 503 ServiceUnavailable; the entity's own typed errors pass through untouched.
import { Cause, Effect } from "effect"
import { ServiceUnavailable } from "./HttpErrors.ts"

// --- [FUNCTIONS]

const unavailable = (cause: unknown) =>
	Effect.logWarning("entity call failed on infrastructure; answering 503", cause).pipe(
		Effect.zipRight(Effect.fail(new ServiceUnavailable({ message: "the platform is temporarily unavailable" }))),
	)

const callEntity = <A, E, R>(
	call: Effect.Effect<A, E, R>,
): Effect.Effect<
	A,
	Exclude<E, { readonly _tag: "MailboxFull" | "AlreadyProcessingMessage" | "PersistenceError" }> | ServiceUnavailable,
	R
> =>
	call.pipe(
		Effect.catchIf(
			(
				error,
			): error is Extract<
				E,
				{ readonly _tag: "MailboxFull" | "AlreadyProcessingMessage" | "PersistenceError" }
			> =>
				typeof error === "object" &&
				error !== null &&
				["MailboxFull", "AlreadyProcessingMessage", "PersistenceError"].includes(
					String(Reflect.get(error, "_tag")),
				),
			unavailable,
		),
		Effect.catchAllDefect((defect) => unavailable(Cause.die(defect))),
	) as never

// --- [EXPORT]

export { callEntity }
