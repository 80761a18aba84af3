// Handler of POST /v1/auth/token (PKCE hand-off): the code is redeemed first (taken, whatever follows), then a
// session is opened for the user it names, as a sign-in would. A user deactivated or gone meanwhile gets the same
// InvalidGrant as a bad code.
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Redacted } from "effect"
import { entityId } from "../../entities/Tenancy.ts"
import { UserSessions } from "../../entities/identity/UserSessionsProtocol.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Api } from "../Api.ts"
import { callEntity } from "../EntityCall.ts"
import { ServiceUnavailable } from "../HttpErrors.ts"
import { noStore } from "../NoStore.ts"
import { PkceHandoff } from "./PkceHandoff.ts"
import { RateLimiter } from "../RateLimiter.ts"
import { SignIn } from "./SignIn.ts"
import { CurrentTenant } from "../tenant/TenantMiddleware.ts"

// --- [LAYERS]

const TokenHttpLive = HttpApiBuilder.group(Api, "token", (handlers) =>
	Effect.gen(function* () {
		const limiter = yield* RateLimiter
		const users = yield* UserSessions.client
		return handlers.handle("exchange", ({ payload }) =>
			Effect.gen(function* () {
				yield* noStore
				yield* limiter.spend
				const tenant = yield* CurrentTenant
				const grant = yield* PkceHandoff.redeem(tenant.id, payload.code, payload.codeVerifier)
				const { token, session } = yield* SignIn.openSession(tenant.id, grant.userId, grant.provider)
				const user = yield* callEntity(users(entityId(tenant.id, grant.userId)).GetUser())
				return { token: Redacted.value(token), session, user }
			}).pipe(
				Effect.catchTags({
					UserDeactivated: () => Effect.fail(PkceHandoff.invalidGrant()),
					UserNotFound: () => Effect.fail(PkceHandoff.invalidGrant()),
					CacheUnavailable: () =>
						Effect.fail(new ServiceUnavailable({ message: "sign-in is temporarily unavailable" })),
				}),
				Telemetry.span("TokenHttp.exchange"),
			),
		)
	}),
)

// --- [EXPORT]

export { TokenHttpLive }
