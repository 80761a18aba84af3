// The gateway's whole HTTP surface as one HttpApi: its OpenAPI document is served at /openapi.json and must stay
// true. Errors every route can answer are declared here once.
import { HttpApi, OpenApi } from "@effect/platform"
import { AdminJobsApi } from "./jobs/AdminJobsApi.ts"
import { AdminRequestsApi } from "./observability/AdminRequestsApi.ts"
import { AdminTenantsApi } from "./tenant/AdminTenantsApi.ts"
import { AdminUsersApi } from "./identity/AdminUsersApi.ts"
import { OAuthApi, SessionsApi } from "./identity/AuthApi.ts"
import { MfaApi, PasskeyLoginApi, PasskeysApi } from "./identity/PasskeysApi.ts"
import { ChannelsApi } from "./realtime/ChannelsApi.ts"
import { EventsApi } from "./events/EventsApi.ts"
import { HealthApi } from "./HealthApi.ts"
import { JobsApi } from "./jobs/JobsApi.ts"
import { documentTransform } from "./OpenApiDocument.ts"
import {
	InternalError,
	PayloadTooLarge,
	RouteNotFound,
	ServiceUnavailable,
	UnsupportedMediaType,
	ValidationError,
} from "./HttpErrors.ts"
import { IdempotencyKeyInUse } from "./IdempotencyKey.ts"
import { TenantApi } from "./tenant/TenantApi.ts"
import { TokenApi } from "./identity/TokenApi.ts"
import { UsersApi } from "./identity/UsersApi.ts"
import { WebhooksApi } from "./webhook/WebhooksApi.ts"

// --- [PROTOCOL]

const Api = HttpApi.make("platform")
	.add(HealthApi)
	.add(AdminTenantsApi)
	.add(AdminJobsApi)
	.add(AdminRequestsApi)
	.add(AdminUsersApi)
	.add(TenantApi)
	.add(OAuthApi)
	.add(SessionsApi)
	.add(PasskeysApi)
	.add(PasskeyLoginApi)
	.add(MfaApi)
	.add(TokenApi)
	.add(UsersApi)
	.add(ChannelsApi)
	.add(JobsApi)
	.add(EventsApi)
	.add(WebhooksApi)
	.addError(ValidationError)
	.addError(PayloadTooLarge)
	.addError(UnsupportedMediaType)
	.addError(ServiceUnavailable)
	.addError(RouteNotFound)
	.addError(InternalError)
	.addError(IdempotencyKeyInUse)
	.annotate(OpenApi.Title, "Effect Cluster Platform")
	.annotate(OpenApi.Description, "Multi-tenant gateway: tenants, identity, realtime and durable jobs.")
	.annotate(OpenApi.Transform, documentTransform)

// --- [EXPORT]

export { Api }
