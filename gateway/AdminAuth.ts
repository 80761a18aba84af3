// Bearer authentication of `/admin/v1/*` against ADMIN_TOKEN (compared in constant time). Without ADMIN_TOKEN the
// admin API answers 401 to everyone.
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Effect, Layer } from "effect"
import { isAdminToken } from "./AdminToken.ts"
import { GatewayConfig } from "./GatewayConfig.ts"
import { Unauthorized } from "./HttpErrors.ts"

// --- [SERVICES]

class AdminAuth extends HttpApiMiddleware.Tag<AdminAuth>()("gateway/AdminAuth", {
	failure: Unauthorized,
	security: { bearer: HttpApiSecurity.bearer },
}) {}

// --- [LAYERS]

const AdminAuthLive = Layer.effect(
	AdminAuth,
	Effect.map(GatewayConfig, (config) =>
		AdminAuth.of({
			bearer: (token) =>
				isAdminToken(config.adminToken, token)
					? Effect.void
					: Effect.fail(new Unauthorized({ message: "a valid admin bearer token is required" })),
		}),
	),
)

// --- [EXPORT]

export { AdminAuth, AdminAuthLive }
