// How each kind of route group is mounted, declared once: its prefix, the middleware that admits a request and, with
// it, the errors that middleware answers (a middleware's `failure` becomes its group's errors), and what the document
// says a caller must present. A group lists only its own errors; those any route can answer are the Api's.
import { type HttpApiEndpoint, type HttpApiGroup, OpenApi } from "@effect/platform"
import { AdminAuth } from "./AdminAuth.ts"
import { tenantRoute } from "./OpenApiDocument.ts"
import { PrincipalMiddleware } from "./identity/PrincipalMiddleware.ts"
import { TenantMiddleware } from "./tenant/TenantMiddleware.ts"

// --- [TYPES]

type Group<
	Id extends string,
	Endpoints extends HttpApiEndpoint.HttpApiEndpoint.Any,
	Error,
	R,
> = HttpApiGroup.HttpApiGroup<Id, Endpoints, Error, R>

// --- [FUNCTIONS]

// `/admin/v1`: ADMIN_TOKEN as a bearer.
const adminRoutes = <Id extends string, Endpoints extends HttpApiEndpoint.HttpApiEndpoint.Any, Error, R>(
	group: Group<Id, Endpoints, Error, R>,
) => group.middleware(AdminAuth).prefix("/admin/v1")

// `/v1` routes of the tenant named by `X-App-Id`, without a credential.
const tenantRoutes = <Id extends string, Endpoints extends HttpApiEndpoint.HttpApiEndpoint.Any, Error, R>(
	group: Group<Id, Endpoints, Error, R>,
) => group.middleware(TenantMiddleware).annotateEndpoints(OpenApi.Transform, tenantRoute).prefix("/v1")

// `/v1` routes that act for someone: a credential of that tenant too. The middleware added last runs first, so the
// tenant is resolved before the credential is checked against it.
const signedInRoutes = <Id extends string, Endpoints extends HttpApiEndpoint.HttpApiEndpoint.Any, Error, R>(
	group: Group<Id, Endpoints, Error, R>,
) => tenantRoutes(group.middleware(PrincipalMiddleware))

// --- [EXPORT]

export { adminRoutes, signedInRoutes, tenantRoutes }
