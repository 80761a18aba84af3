// Bearer authentication of `/admin/v1/*` against ADMIN_TOKEN (compared in constant time). Without ADMIN_TOKEN the
// admin API answers 401 to everyone.
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Effect, Layer, Option, Redacted } from "effect"
import { timingSafeEqual } from "node:crypto"
import { GatewayConfig } from "./GatewayConfig.ts"
import { Unauthorized } from "./HttpErrors.ts"

// --- [FUNCTIONS]

const sameSecret = (given: string, expected: string) =>
	given.length === expected.length && timingSafeEqual(Buffer.from(given), Buffer.from(expected))

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
				Option.match(config.adminToken, {
					onNone: () => false,
					onSome: (expected) => sameSecret(Redacted.value(token), Redacted.value(expected)),
				})
					? Effect.void
					: Effect.fail(new Unauthorized({ message: "a valid admin bearer token is required" })),
		}),
	),
)

// --- [EXPORT]

export { AdminAuth, AdminAuthLive }
