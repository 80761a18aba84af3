// The caller's own tenant: `GET /v1/tenant` with `X-App-Id`.
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { TenantSlug, TenantStatus } from "../../entities/tenant/TenantModel.ts"
import { TenantId } from "../../entities/Tenancy.ts"
import { tenantRoutes } from "../RouteGroups.ts"

// --- [SCHEMA]

const PublicTenant = Schema.Struct({ id: TenantId, slug: TenantSlug, name: Schema.String, status: TenantStatus })

// --- [PROTOCOL]

const TenantApi = tenantRoutes(
	HttpApiGroup.make("tenant").add(
		HttpApiEndpoint.get("current", "/tenant")
			.annotate(OpenApi.Summary, "The caller's tenant")
			.annotate(OpenApi.Description, "The public view of the tenant named by `X-App-Id`.")
			.addSuccess(PublicTenant),
	),
)

// --- [EXPORT]

export { PublicTenant, TenantApi }
