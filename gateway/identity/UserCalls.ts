// How identity handlers reach the signed-in user's UserSessions entity: the principal must be a user of the tenant
// (the service principal has no user → 401), and a user who vanished or was deactivated meanwhile is 401 too.
import { Effect, Option, Schema } from "effect"
import { entityId } from "../../entities/Tenancy.ts"
import { UserDeactivated, UserNotFound, UserSessions } from "../../entities/identity/UserSessionsProtocol.ts"
import { callEntity } from "../EntityCall.ts"
import { Unauthorized } from "../HttpErrors.ts"
import { CurrentPrincipal } from "./PrincipalMiddleware.ts"

// --- [FUNCTIONS]

const currentUser = Effect.flatMap(CurrentPrincipal, (caller) =>
	caller.kind === "user"
		? Effect.succeed(caller)
		: Effect.fail(new Unauthorized({ message: "this route needs a user's session token or API key" })),
)

const currentSession = Effect.flatMap(currentUser, (caller) =>
	Option.match(
		Option.liftPredicate(caller, (user) => user.principal.kind === "session"),
		{
			onNone: () => Effect.fail(new Unauthorized({ message: "this route needs a session token" })),
			onSome: Effect.succeed,
		},
	),
)

// Runs `call` against the caller's entity; account errors become 401 (the credential no longer speaks for anyone).
const withUser = <A, E, R>(
	call: (
		entity: ReturnType<Effect.Effect.Success<typeof UserSessions.client>>,
		caller: Effect.Effect.Success<typeof currentUser>,
	) => Effect.Effect<A, E, R>,
) =>
	Effect.gen(function* () {
		const caller = yield* currentUser
		const client = yield* UserSessions.client
		return yield* callEntity(call(client(entityId(caller.principal.tenantId, caller.principal.userId)), caller))
	}).pipe(
		Effect.catchIf(
			(error): error is Extract<typeof error, UserNotFound | UserDeactivated> =>
				Schema.is(UserNotFound)(error) || Schema.is(UserDeactivated)(error),
			() => Effect.fail(new Unauthorized({ message: "the account is deactivated or no longer exists" })),
		),
	)

// --- [EXPORT]

export { currentSession, currentUser, withUser }
