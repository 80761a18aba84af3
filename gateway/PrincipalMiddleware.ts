// Tenant routes that act for someone need a credential. Until sessions and API keys exist (Identity), the only
// credential is ADMIN_TOKEN acting as the tenant's service principal (like a service-role key). Missing or wrong → 401.
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Context, Effect, Layer } from "effect"
import { isAdminToken } from "./AdminToken.ts"
import { GatewayConfig } from "./GatewayConfig.ts"
import { Unauthorized } from "./HttpErrors.ts"

// --- [SERVICES]

class CurrentPrincipal extends Context.Tag("gateway/CurrentPrincipal")<
	CurrentPrincipal,
	{ readonly kind: "service"; readonly subject: string }
>() {}

class PrincipalMiddleware extends HttpApiMiddleware.Tag<PrincipalMiddleware>()("gateway/PrincipalMiddleware", {
	failure: Unauthorized,
	provides: CurrentPrincipal,
	security: { bearer: HttpApiSecurity.bearer },
}) {}

// --- [LAYERS]

const PrincipalMiddlewareLive = Layer.effect(
	PrincipalMiddleware,
	Effect.map(GatewayConfig, (config) =>
		PrincipalMiddleware.of({
			bearer: (token) =>
				isAdminToken(config.adminToken, token)
					? Effect.succeed({ kind: "service" as const, subject: "service-role" })
					: Effect.fail(new Unauthorized({ message: "a valid credential for this tenant is required" })),
		}),
	),
)

// --- [EXPORT]

export { CurrentPrincipal, PrincipalMiddleware, PrincipalMiddlewareLive }
