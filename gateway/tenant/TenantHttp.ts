// Handler of `GET /v1/tenant`: the public view of the tenant the middleware resolved.
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Api } from "../Api.ts"
import { CurrentTenant } from "./TenantMiddleware.ts"

// --- [LAYERS]

const TenantHttpLive = HttpApiBuilder.group(Api, "tenant", (handlers) =>
	handlers.handle("current", () =>
		Effect.map(CurrentTenant, (tenant) => ({
			id: tenant.id,
			slug: tenant.slug,
			name: tenant.name,
			status: tenant.status,
		})).pipe(Telemetry.span("TenantHttp.current")),
	),
)

// --- [EXPORT]

export { TenantHttpLive }
