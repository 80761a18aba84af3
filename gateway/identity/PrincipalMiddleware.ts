// Tenant routes that act for someone need a credential of the tenant named by `X-App-Id`: a session token or API key
// (bearer, or the session cookie), validated by Credentials without a database round trip, or ADMIN_TOKEN acting as
// the tenant's service principal. Missing, invalid, expired, revoked or another tenant's → 401 with one body; a client
// group that keeps presenting unknown credentials → 429 TooManyRequests.
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Context, Effect, Layer, Option, type Redacted, Schema } from "effect"
import { Principal } from "../../entities/identity/CredentialDirectoryProtocol.ts"
import { isAdminToken } from "../AdminToken.ts"
import { Credentials } from "./Credentials.ts"
import { GatewayConfig } from "../GatewayConfig.ts"
import { ServiceUnavailable, TooManyRequests, Unauthorized } from "../HttpErrors.ts"
import { CurrentTenant } from "../tenant/TenantMiddleware.ts"

// --- [CONSTANTS]

// `__Host-`: the browser keeps it only when Secure, Path=/ and without Domain, so no sibling subdomain can set it.
const SessionCookieName = "__Host-ecp_session"

// --- [SCHEMA]

const CallerPrincipal = Schema.Union(
	Schema.Struct({ kind: Schema.Literal("service"), subject: Schema.String }),
	Schema.Struct({ kind: Schema.Literal("user"), principal: Principal, tokenHash: Schema.String }),
)
type CallerPrincipal = typeof CallerPrincipal.Type

// --- [SERVICES]

class CurrentPrincipal extends Context.Tag("gateway/CurrentPrincipal")<CurrentPrincipal, CallerPrincipal>() {}

class PrincipalMiddleware extends HttpApiMiddleware.Tag<PrincipalMiddleware>()("gateway/PrincipalMiddleware", {
	failure: Schema.Union(Unauthorized, ServiceUnavailable, TooManyRequests),
	provides: CurrentPrincipal,
	security: {
		bearer: HttpApiSecurity.bearer,
		cookie: HttpApiSecurity.apiKey({ key: SessionCookieName, in: "cookie" }),
	},
}) {}

// --- [LAYERS]

const PrincipalMiddlewareLive = Layer.effect(
	PrincipalMiddleware,
	Effect.gen(function* () {
		const config = yield* GatewayConfig
		const credentials = yield* Credentials
		const authenticate = (
			token: Redacted.Redacted<string>,
		): Effect.Effect<CallerPrincipal, Unauthorized | ServiceUnavailable | TooManyRequests> =>
			isAdminToken(config.adminToken, token)
				? Effect.succeed({ kind: "service" as const, subject: "service-role" })
				: Effect.serviceOption(CurrentTenant).pipe(
						Effect.flatMap(
							Option.match({
								onNone: () =>
									Effect.fail(
										new Unauthorized({ message: "a valid credential for this tenant is required" }),
									),
								onSome: (tenant) => credentials.authenticate(tenant.id, token),
							}),
						),
						Effect.map(({ principal, tokenHash }) => ({ kind: "user" as const, principal, tokenHash })),
					)
		return PrincipalMiddleware.of({ bearer: authenticate, cookie: authenticate })
	}),
)

// --- [EXPORT]

export { type CallerPrincipal, CurrentPrincipal, PrincipalMiddleware, PrincipalMiddlewareLive, SessionCookieName }
