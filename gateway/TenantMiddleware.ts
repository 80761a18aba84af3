// Every `/v1/` route names its tenant in `X-App-Id` (id or slug). Missing or empty → 400 MissingTenant (never a
// default tenant, seed C6); unknown or not active → 404 TenantNotFound with one body for both cases.
import { HttpApiMiddleware, HttpServerRequest } from "@effect/platform"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { TenantNotFound, type TenantView } from "../entities/TenantProtocol.ts"
import { callEntity } from "./EntityCall.ts"
import { MissingTenant, ServiceUnavailable } from "./HttpErrors.ts"
import { TenantCache } from "./TenantCache.ts"

// --- [SERVICES]

class CurrentTenant extends Context.Tag("gateway/CurrentTenant")<CurrentTenant, TenantView>() {}

class TenantMiddleware extends HttpApiMiddleware.Tag<TenantMiddleware>()("gateway/TenantMiddleware", {
	provides: CurrentTenant,
	failure: Schema.Union(MissingTenant, TenantNotFound, ServiceUnavailable),
}) {}

// --- [FUNCTIONS]

const notFound = () => new TenantNotFound({ message: "tenant not found" })

// --- [LAYERS]

const TenantMiddlewareLive = Layer.effect(
	TenantMiddleware,
	Effect.map(TenantCache, (tenants) =>
		Effect.gen(function* () {
			const request = yield* HttpServerRequest.HttpServerRequest
			const key = yield* Option.fromNullable(request.headers["x-app-id"]).pipe(
				Option.map((value) => value.trim()),
				Option.filter((value) => value.length > 0),
				Effect.mapError(() => new MissingTenant({ message: "the X-App-Id header is required" })),
			)
			return yield* callEntity(tenants.resolve(key)).pipe(
				Effect.filterOrFail((tenant) => tenant.status === "active", notFound),
			)
		}),
	),
)

// --- [EXPORT]

export { CurrentTenant, TenantMiddleware, TenantMiddlewareLive }
