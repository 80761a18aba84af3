// Operator endpoints for one user of a tenant (bearer ADMIN_TOKEN): list their live sessions, revoke them all.
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { TenantNotFound } from "../../entities/tenant/TenantProtocol.ts"
import { UserId } from "../../entities/identity/UserModel.ts"
import { SessionView, UserNotFound } from "../../entities/identity/UserSessionsProtocol.ts"
import { Page, PageParams } from "../ListPage.ts"
import { adminRoutes } from "../RouteGroups.ts"

// --- [SCHEMA]

const UserPath = Schema.Struct({ id: Schema.String, userId: UserId })

// --- [PROTOCOL]

const AdminUsersApi = adminRoutes(
	HttpApiGroup.make("adminUsers")
		.add(
			HttpApiEndpoint.get("sessions", "/tenants/:id/users/:userId/sessions")
				.annotate(OpenApi.Summary, "List a user's sessions")
				.setPath(UserPath)
				.setUrlParams(PageParams)
				.addSuccess(Page(SessionView)),
		)
		.add(
			HttpApiEndpoint.del("revokeSessions", "/tenants/:id/users/:userId/sessions")
				.annotate(OpenApi.Summary, "Revoke all of a user's sessions")
				.setPath(UserPath)
				.addSuccess(Schema.Struct({ revoked: Schema.Int })),
		)
		.addError(TenantNotFound, { status: 404 })
		.addError(UserNotFound, { status: 404 }),
)

// --- [EXPORT]

export { AdminUsersApi }
