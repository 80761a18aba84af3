// Handlers of /admin/v1/tenants/{id}/users/{userId}/sessions: an operator's view of one user's live sessions and
// the "sign out everywhere" button. Revocations are applied to this gateway's credential cache before the answer.
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { entityId } from "../../entities/Tenancy.ts"
import { UserNotFound, UserSessions } from "../../entities/identity/UserSessionsProtocol.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Api } from "../Api.ts"
import { Credentials } from "./Credentials.ts"
import { callEntity } from "../EntityCall.ts"
import { byId, pageOf } from "../ListPage.ts"
import { TenantCache } from "../tenant/TenantCache.ts"
import { tenantIdOf as tenantRef } from "../tenant/TenantRef.ts"

// --- [LAYERS]

const AdminUsersHttpLive = HttpApiBuilder.group(Api, "adminUsers", (handlers) =>
	Effect.gen(function* () {
		const users = yield* UserSessions.client
		const credentials = yield* Credentials
		const tenantIdOf = tenantRef(yield* TenantCache)
		const accountErrors = {
			UserDeactivated: () => Effect.fail(new UserNotFound({ message: "the user is deactivated" })),
		} as const
		return handlers
			.handle("sessions", ({ path, urlParams }) =>
				tenantIdOf(path.id).pipe(
					Effect.flatMap((tenantId) => callEntity(users(entityId(tenantId, path.userId)).ListSessions())),
					Effect.map((sessions) => pageOf(sessions, urlParams, byId)),
					Effect.catchTags(accountErrors),
					Telemetry.span("AdminUsersHttp.sessions"),
				),
			)
			.handle("revokeSessions", ({ path }) =>
				Effect.gen(function* () {
					const tenantId = yield* tenantIdOf(path.id)
					const ended = yield* callEntity(
						users(entityId(tenantId, path.userId)).RevokeSessions({ except: null }),
					)
					yield* credentials.revoked(tenantId, ended.revoked)
					return { revoked: ended.count }
				}).pipe(Effect.catchTags(accountErrors), Telemetry.span("AdminUsersHttp.revokeSessions")),
			)
	}),
)

// --- [EXPORT]

export { AdminUsersHttpLive }
