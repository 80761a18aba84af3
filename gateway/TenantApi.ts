// The caller's own tenant: `GET /v1/tenant` with `X-App-Id`.
import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { TenantSlug, TenantStatus } from "../entities/TenantModel.ts"
import { TenantId } from "../entities/Tenancy.ts"
import { TenantMiddleware } from "./TenantMiddleware.ts"

// --- [SCHEMA]

const PublicTenant = Schema.Struct({ id: TenantId, slug: TenantSlug, name: Schema.String, status: TenantStatus })

// --- [PROTOCOL]

const TenantApi = HttpApiGroup.make("tenant")
	.add(HttpApiEndpoint.get("current", "/tenant").addSuccess(PublicTenant))
	.middleware(TenantMiddleware)
	.prefix("/v1")

// --- [EXPORT]

export { PublicTenant, TenantApi }
