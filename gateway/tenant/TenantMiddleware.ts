// Every `/v1/` route names its tenant in `X-App-Id` (id or slug). Missing or empty → 400 MissingTenant (never a
// default tenant, seed C6); unknown or not active → 404 TenantNotFound with one body for both cases. The middleware's
// `failure` is where these answers and their statuses are declared: every group it guards inherits them.
import { HttpApiMiddleware, HttpApiSchema, HttpServerRequest } from "@effect/platform"
import { Context, Effect, Layer, Option, Schema } from "effect"
import { TenantId } from "../../entities/Tenancy.ts"
import { TenantSlug } from "../../entities/tenant/TenantModel.ts"
import { TenantNotFound, type TenantView } from "../../entities/tenant/TenantProtocol.ts"
import { callEntity } from "../EntityCall.ts"
import { MissingTenant, ServiceUnavailable, TooManyRequests } from "../HttpErrors.ts"
import { TenantCache } from "./TenantCache.ts"

// --- [SCHEMA]

// What resolving a client's tenant can answer; also declared by the one route that resolves it without the middleware
// (the OAuth start, whose tenant may come from `app_id`).
const TenantFailure = Schema.Union(
	MissingTenant,
	TenantNotFound.annotations(HttpApiSchema.annotations({ status: 404 })),
	ServiceUnavailable,
	TooManyRequests,
)

// --- [SERVICES]

class CurrentTenant extends Context.Tag("gateway/CurrentTenant")<CurrentTenant, TenantView>() {}

class TenantMiddleware extends HttpApiMiddleware.Tag<TenantMiddleware>()("gateway/TenantMiddleware", {
	provides: CurrentTenant,
	failure: TenantFailure,
}) {}

// --- [FUNCTIONS]

const notFound = () => new TenantNotFound({ message: "tenant not found" })

const canonicalKey = Schema.decodeUnknown(Schema.Union(TenantId, TenantSlug))

// A tenant id or slug, as a client named it, to the tenant when it exists and is active.
const activeTenant = (key: string | undefined) =>
	Effect.gen(function* () {
		const tenants = yield* TenantCache
		const named = yield* Option.fromNullable(key).pipe(
			Option.map((value) => value.trim()),
			Option.filter((value) => value.length > 0),
			Effect.mapError(() => new MissingTenant({ message: "the X-App-Id header is required" })),
		)
		const canonical = yield* Effect.mapError(canonicalKey(named), notFound)
		return yield* callEntity(tenants.resolve(canonical)).pipe(
			Effect.filterOrFail((tenant) => tenant.status === "active", notFound),
		)
	})

// --- [LAYERS]

const TenantMiddlewareLive = Layer.effect(
	TenantMiddleware,
	Effect.map(TenantCache, (tenants) =>
		HttpServerRequest.HttpServerRequest.pipe(
			Effect.flatMap((request) => activeTenant(request.headers["x-app-id"])),
			Effect.provideService(TenantCache, tenants),
		),
	),
)

// --- [EXPORT]

export { activeTenant, CurrentTenant, TenantFailure, TenantMiddleware, TenantMiddlewareLive }
