// Handlers of /v1/auth for a signed-in caller: linking another identity (through the OAuthFlow), who the credential
// speaks for, and the user's sessions (sign out, list, revoke). A revoked session leaves this gateway's credential
// cache before the answer (Credentials.revoked; the others hear of it on the cache service's channel).
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Option } from "effect"
import type { SessionId } from "../../entities/identity/IdentityModel.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Api } from "../Api.ts"
import { CookieOptions, setCookie } from "./AuthCookies.ts"
import { Credentials } from "./Credentials.ts"
import { Unauthorized } from "../HttpErrors.ts"
import { byId, pageOf } from "../ListPage.ts"
import { OAuthFlow } from "./OAuthFlow.ts"
import { CurrentPrincipal, SessionCookieName } from "./PrincipalMiddleware.ts"
import { CurrentTenant } from "../tenant/TenantMiddleware.ts"
import { currentSession, withUser } from "./UserCalls.ts"

// --- [LAYERS]

const SessionsHttpLive = HttpApiBuilder.group(Api, "sessions", (handlers) =>
	Effect.gen(function* () {
		const credentials = yield* Credentials
		const flow = yield* OAuthFlow
		return handlers
			.handle("linkStart", ({ path, urlParams }) =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					const caller = yield* currentSession
					return yield* flow.link(tenant, caller.principal.userId, path.provider, urlParams.redirect_to)
				}).pipe(Telemetry.span("SessionsHttp.linkStart", { provider: path.provider })),
			)
			.handle("whoami", () =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					const caller = yield* CurrentPrincipal
					return caller.kind === "service"
						? {
								kind: "service" as const,
								tenantId: tenant.id,
								userId: null,
								credentialId: null,
								expiresAt: null,
							}
						: {
								kind: caller.principal.kind,
								tenantId: caller.principal.tenantId,
								userId: caller.principal.userId,
								credentialId: caller.principal.credentialId,
								expiresAt: caller.principal.expiresAt,
							}
				}).pipe(Telemetry.span("SessionsHttp.whoami")),
			)
			.handle("current", () =>
				Effect.gen(function* () {
					const caller = yield* currentSession
					const [user, sessions] = yield* withUser((entity) =>
						Effect.all([entity.GetUser(), entity.ListSessions()], { concurrency: 2 }),
					)
					const session = yield* Option.fromNullable(
						sessions.find((found) => found.id === caller.principal.credentialId),
					).pipe(Effect.mapError(() => new Unauthorized({ message: "the session has ended" })))
					return { session, user }
				}).pipe(Telemetry.span("SessionsHttp.current")),
			)
			.handle("logout", () =>
				Effect.gen(function* () {
					const caller = yield* currentSession
					const ended = yield* withUser((entity) =>
						entity.RevokeSession({
							sessionId: caller.principal.credentialId as SessionId,
							reason: "logout",
						}),
					).pipe(
						Effect.catchTag("SessionNotFound", () =>
							Effect.fail(new Unauthorized({ message: "the session has ended" })),
						),
					)
					yield* credentials.revoked(caller.principal.tenantId, ended.revoked)
					yield* setCookie(SessionCookieName, "", { ...CookieOptions, maxAge: 0 })
					return ended.session
				}).pipe(Telemetry.span("SessionsHttp.logout")),
			)
			.handle("list", ({ urlParams }) =>
				withUser((entity) => entity.ListSessions()).pipe(
					Effect.map((sessions) => pageOf(sessions, urlParams, byId)),
					Telemetry.span("SessionsHttp.list"),
				),
			)
			.handle("revoke", ({ path }) =>
				Effect.gen(function* () {
					const caller = yield* currentSession
					const ended = yield* withUser((entity) =>
						entity.RevokeSession({ sessionId: path.id as SessionId, reason: "revoked" }),
					)
					yield* credentials.revoked(caller.principal.tenantId, ended.revoked)
					return ended.session
				}).pipe(Telemetry.span("SessionsHttp.revoke")),
			)
			.handle("revokeOthers", () =>
				Effect.gen(function* () {
					const caller = yield* currentSession
					const except =
						caller.principal.kind === "session" ? (caller.principal.credentialId as SessionId) : null
					const ended = yield* withUser((entity) => entity.RevokeSessions({ except }))
					yield* credentials.revoked(caller.principal.tenantId, ended.revoked)
					return { revoked: ended.count }
				}).pipe(Telemetry.span("SessionsHttp.revokeOthers")),
			)
	}),
)

// --- [EXPORT]

export { SessionsHttpLive }
