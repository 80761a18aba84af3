// The caller's own tenant: `GET /v1/tenant` with `X-App-Id`.
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { TenantSlug, TenantStatus } from "../../entities/tenant/TenantModel.ts"
import { TenantId } from "../../entities/Tenancy.ts"
import { TenantMiddleware } from "./TenantMiddleware.ts"
import { tenantRoute } from "../OpenApiDocument.ts"

// --- [SCHEMA]

const PublicTenant = Schema.Struct({ id: TenantId, slug: TenantSlug, name: Schema.String, status: TenantStatus })

// --- [PROTOCOL]

const TenantApi = HttpApiGroup.make("tenant")
	.add(
		HttpApiEndpoint.get("current", "/tenant")
			.annotate(OpenApi.Summary, "The caller's tenant")
			.annotate(OpenApi.Description, "The public view of the tenant named by `X-App-Id`.")
			.addSuccess(PublicTenant),
	)
	.middleware(TenantMiddleware)
	.annotateEndpoints(OpenApi.Transform, tenantRoute)
	.prefix("/v1")

// --- [EXPORT]

export { PublicTenant, TenantApi }
