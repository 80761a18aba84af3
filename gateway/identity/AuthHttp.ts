// Handlers of the OAuth flow and of /v1/auth sessions. Start: a transaction (state, nonce, PKCE verifier) bound to
// the browser, then 302 to the provider. Callback: limits first, then the single-use transaction, the code exchange
// on the runner (IdentityBroker), the user (found by identity, or opened), and a session minted here: the token
// never leaves this process except in the response, only its hash goes to the entity. Every failure is logged once
// with its stage, counted when it is an abuse signal, and answered with one OAuthFailed body (OAuthFailure).
import { HttpApiBuilder, HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { DateTime, Effect, Option, Redacted } from "effect"
import { IdentityBroker } from "../../entities/identity/IdentityBrokerProtocol.ts"
import type { SessionId } from "../../entities/identity/IdentityModel.ts"
import { entityId, type TenantId } from "../../entities/Tenancy.ts"
import type { TenantView } from "../../entities/tenant/TenantProtocol.ts"
import { UserSessions, type VerifiedClaims } from "../../entities/identity/UserSessionsProtocol.ts"
import { currentRequestMeta } from "../../platform/RequestContext.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Api } from "../Api.ts"
import { RedirectNotAllowed } from "./AuthApi.ts"
import { Credentials } from "./Credentials.ts"
import { byId, pageOf } from "../ListPage.ts"
import { callEntity } from "../EntityCall.ts"
import { ServiceUnavailable, Unauthorized } from "../HttpErrors.ts"
import { IdentityConfig } from "./IdentityConfig.ts"
import { noStore } from "../NoStore.ts"
import { LoginLimiter, type TooManyAttempts } from "./LoginLimiter.ts"
import { CallbackFailed, OAuthFailure } from "./OAuthFailure.ts"
import { OAuthTransactions, type Transaction } from "./OAuthTransactions.ts"
import { PkceHandoff } from "./PkceHandoff.ts"
import { CurrentPrincipal, SessionCookieName } from "./PrincipalMiddleware.ts"
import { RateLimiter } from "../RateLimiter.ts"
import { SignIn } from "./SignIn.ts"
import { TenantCache } from "../tenant/TenantCache.ts"
import { activeTenant, CurrentTenant } from "../tenant/TenantMiddleware.ts"
import { currentSession, withUser } from "./UserCalls.ts"

// --- [CONSTANTS]

// Every cookie here is a `__Host-` cookie: Secure, Path=/, no Domain (browsers accept Secure cookies from
// http://localhost and loopback addresses too).
const CookieOptions = { httpOnly: true, sameSite: "lax", secure: true, path: "/" } as const

// --- [FUNCTIONS]

// Control characters and backslashes: URL parsers drop or reinterpret them (`/\t/evil.com` and `/\evil.com` both
// become `//evil.com`), so a target holding one, at any layer of percent-decoding, is refused; so is raw whitespace
// (an encoded space, `%20`, is fine).
const UnsafeRedirectCharacters = /[\u0000-\u001f\u007f\\]/
const UnsafeRawRedirectCharacters = /[\u0000-\u0020\u007f\\]/

// The value and each percent-decoding of it (as far as decoding changes it), so `/%2F%2Fevil.com`, which some
// frameworks decode before they redirect again, is judged as `//evil.com` too.
const decodings = (value: string, depth = 3): ReadonlyArray<string> =>
	Option.match(
		Option.filter(Option.liftThrowable(decodeURIComponent)(value), (decoded) => decoded !== value && depth > 0),
		{ onNone: () => [value], onSome: (decoded) => [value, ...decodings(decoded, depth - 1)] },
	)

// A path on the gateway's origin, or an absolute http(s) URL of an origin the tenant allows. Every decoding of the
// value is parsed with the WHATWG URL parser against the gateway's origin and must land on an allowed origin, without
// userinfo; what is returned is the parsed, normalised form, so the Location header is exactly what was checked.
const redirectTarget = (tenant: TenantView, redirectTo: string | undefined) =>
	Option.match(Option.fromNullable(redirectTo), {
		onNone: () => Effect.succeed(null),
		onSome: (target) =>
			Effect.gen(function* () {
				const config = yield* IdentityConfig
				const gateway = new URL(config.callbackBaseUrl).origin
				const isPath = target.startsWith("/")
				const permitted = isPath ? [gateway] : (tenant.settings.allowedRedirectOrigins ?? [])
				const parse = (value: string, layer: number) =>
					Option.filter(
						Option.liftThrowable(() => (isPath ? new URL(value, `${gateway}/`) : new URL(value)))(),
						(url) =>
							!(layer === 0 ? UnsafeRawRedirectCharacters : UnsafeRedirectCharacters).test(value) &&
							(url.protocol === "https:" || url.protocol === "http:") &&
							url.username === "" &&
							url.password === "" &&
							permitted.includes(url.origin) &&
							!url.pathname.startsWith("//"),
					)
				const layers = decodings(target).map(parse)
				return yield* Option.match(Option.all(layers), {
					onNone: () =>
						Effect.fail(
							new RedirectNotAllowed({
								message: "redirect_to must be a path or an origin the tenant allows",
							}),
						),
					onSome: ([url]) =>
						Effect.succeed(
							url === undefined ? null : isPath ? `${url.pathname}${url.search}${url.hash}` : url.href,
						),
				})
			}),
	})

// Sets a cookie on whatever response this request ends with (typed success, redirect or error).
const setCookie = (name: string, value: string, options: Parameters<typeof HttpServerResponse.unsafeSetCookie>[3]) =>
	HttpApp.appendPreResponseHandler((_request, response) =>
		Effect.succeed(HttpServerResponse.unsafeSetCookie(response, name, value, options)),
	)

const tooMany = (error: TooManyAttempts) =>
	HttpServerResponse.unsafeJson(
		{ _tag: error._tag, message: error.message, retryAfterSeconds: error.retryAfterSeconds },
		{ status: 429, headers: { "retry-after": String(error.retryAfterSeconds) } },
	)

// Starts a sign-in or link: the transaction, its browser cookie, then 302 to the provider's authorization URL.
const beginFlow = (
	tenantId: TenantId,
	provider: string,
	flow: Pick<Transaction, "mode" | "userId" | "redirectTo" | "handoffChallenge">,
) =>
	Effect.gen(function* () {
		const config = yield* IdentityConfig
		const broker = yield* IdentityBroker.client
		// Before anything is written or any entity of the provider's is addressed.
		yield* (yield* TenantCache).requireProvider(tenantId, provider)
		const redirectUri = `${config.callbackBaseUrl}/v1/auth/oauth/${provider}/callback`
		const started = yield* OAuthTransactions.begin(
			{ tenantId, provider, redirectUri, ...flow },
			config.transactionTtl,
		)
		const { url } = yield* callEntity(
			broker(entityId(tenantId, provider)).Authorize({
				redirectUri,
				state: started.state,
				nonce: started.nonce,
				codeChallenge: started.codeChallenge,
			}),
		).pipe(
			Effect.catchTag("OAuthFailed", () =>
				Effect.fail(new ServiceUnavailable({ message: "the identity provider cannot be reached" })),
			),
		)
		yield* setCookie(started.cookie.name, started.cookie.value, { ...CookieOptions, maxAge: config.transactionTtl })
		return HttpServerResponse.redirect(url, { status: 302 })
	}).pipe(
		Effect.catchTag("CacheUnavailable", () =>
			Effect.fail(new ServiceUnavailable({ message: "sign-in is temporarily unavailable" })),
		),
	)

// --- [LAYERS]

const OAuthHttpLive = HttpApiBuilder.group(Api, "oauth", (handlers) =>
	Effect.gen(function* () {
		const broker = yield* IdentityBroker.client
		const users = yield* UserSessions.client
		const limiter = yield* RateLimiter
		const config = yield* IdentityConfig

		// Completes a sign-in: the user behind the identity (opened on first sign-in), then a new session.
		const signIn = (tenantId: TenantId, claims: VerifiedClaims) =>
			Effect.gen(function* () {
				const { userId, user } = yield* SignIn.openUser(tenantId, claims)
				const { token, session } = yield* SignIn.openSession(tenantId, userId, claims.provider)
				return { token, session, user }
			})

		const complete = (transaction: Transaction, claims: VerifiedClaims) =>
			transaction.mode === "link"
				? Option.match(Option.fromNullable(transaction.userId), {
						onNone: () =>
							Effect.fail(
								new CallbackFailed({
									stage: "state",
									reason: "a link without its user",
									counted: true,
								}),
							),
						onSome: (userId) =>
							callEntity(users(entityId(transaction.tenantId, userId)).LinkIdentity({ claims })).pipe(
								Effect.map((identity) =>
									Option.match(Option.fromNullable(transaction.redirectTo), {
										onNone: () => ({
											linked: {
												provider: identity.provider,
												subject: identity.subject,
												email: identity.email,
											},
										}),
										onSome: (target) => HttpServerResponse.redirect(target, { status: 302 }),
									}),
								),
							),
					})
				: signIn(transaction.tenantId, claims).pipe(
						Effect.tap(({ token, session }) =>
							setCookie(SessionCookieName, Redacted.value(token), {
								...CookieOptions,
								expires: DateTime.toDateUtc(session.expiresAt),
							}),
						),
						Effect.map(({ token, session, user }) =>
							Option.match(Option.fromNullable(transaction.redirectTo), {
								onNone: () => ({ token: Redacted.value(token), session, user }),
								onSome: (target) => HttpServerResponse.redirect(target, { status: 302 }),
							}),
						),
					)

		return handlers
			.handle("start", ({ path, urlParams }) =>
				Effect.gen(function* () {
					const request = yield* HttpServerRequest.HttpServerRequest
					yield* limiter.spend
					const tenant = yield* activeTenant(urlParams.app_id ?? request.headers["x-app-id"])
					const redirectTo = yield* redirectTarget(tenant, urlParams.redirect_to)
					const handoffChallenge = yield* PkceHandoff.challengeOf(urlParams, redirectTo)
					return yield* beginFlow(tenant.id, path.provider, {
						mode: "signin",
						userId: null,
						redirectTo,
						handoffChallenge,
					})
				}).pipe(Telemetry.span("OAuthHttp.start", { provider: path.provider })),
			)
			.handle("callback", ({ path, urlParams }) =>
				Effect.gen(function* () {
					yield* noStore
					const request = yield* HttpServerRequest.HttpServerRequest
					const ip = (yield* currentRequestMeta).ip
					yield* LoginLimiter.check(ip)
					const taken = yield* Option.match(Option.fromNullable(urlParams.state), {
						onNone: () => Effect.succeed(Option.none<Transaction>()),
						onSome: (state) => OAuthTransactions.take(state, request.cookies),
					})
					const transaction = yield* Option.match(
						Option.filter(taken, (found) => found.provider === path.provider),
						{
							onNone: () =>
								OAuthFailure.answer({ ip, provider: path.provider })(
									new CallbackFailed({
										stage: "state",
										reason:
											urlParams.state === undefined
												? "the callback carried no state"
												: "the state is unknown, expired, used, of another provider or without this browser's cookie",
										counted: true,
									}),
								),
							onSome: Effect.succeed,
						},
					)
					yield* setCookie(OAuthTransactions.cookieName(urlParams.state ?? ""), "", {
						...CookieOptions,
						maxAge: 0,
					})
					return yield* Effect.gen(function* () {
						// The provider's own error (the user cancelled or was refused there) is nobody's abuse: not counted.
						yield* Effect.when(
							Effect.fail(
								new CallbackFailed({
									stage: "provider_error",
									reason: "the provider sent an OAuth error back",
									counted: false,
									providerError: urlParams.error,
									providerErrorDescription: urlParams.error_description,
								}),
							),
							() => urlParams.error !== undefined,
						)
						const code = yield* Option.match(Option.fromNullable(urlParams.code), {
							onNone: () =>
								Effect.fail(
									new CallbackFailed({ stage: "callback", reason: "no code", counted: true }),
								),
							onSome: Effect.succeed,
						})
						const claims = yield* callEntity(
							broker(entityId(transaction.tenantId, path.provider)).Exchange({
								code,
								codeVerifier: transaction.codeVerifier,
								redirectUri: transaction.redirectUri,
								nonce: transaction.nonce,
							}),
						).pipe(
							Effect.catchTag("ExchangeFailed", (error) =>
								Effect.fail(
									new CallbackFailed({
										stage: error.stage,
										reason: error.reason,
										// A provider that is down, or whose discovery is broken, is not the client's doing.
										counted: !error.unavailable && error.stage !== "discovery",
										providerError: error.providerError,
										providerErrorDescription: error.providerErrorDescription,
									}),
								),
							),
						)
						// A PKCE hand-off answers with a one-time code for the app instead of a session.
						return yield* transaction.handoffChallenge === null
							? complete(transaction, claims)
							: PkceHandoff.handOff(
									transaction,
									claims,
									transaction.handoffChallenge,
									config.handoffCodeTtl,
								)
					}).pipe(
						Effect.catchTags({
							// A hand-off transaction always has its redirect_to; one without is not to be trusted.
							NoSuchElementException: () =>
								Effect.fail(
									new CallbackFailed({
										stage: "state",
										reason: "a hand-off without its redirect_to",
										counted: true,
									}),
								),
							OAuthProviderNotFound: () =>
								Effect.fail(
									new CallbackFailed({
										stage: "configuration",
										reason: "the tenant no longer has this provider",
										counted: true,
									}),
								),
							UserDeactivated: () =>
								Effect.fail(
									new CallbackFailed({
										stage: "account",
										reason: "the user is deactivated",
										counted: true,
									}),
								),
							UserNotFound: () =>
								Effect.fail(
									new CallbackFailed({
										stage: "account",
										reason: "the user to link no longer exists",
										counted: true,
									}),
								),
							// A fresh session id met an existing session: a bug, not the caller's doing.
							InvalidTransition: (error) => Effect.die(error),
						}),
						Effect.catchTag(
							"CallbackFailed",
							OAuthFailure.answer({ ip, provider: path.provider, tenantId: transaction.tenantId }),
						),
						PkceHandoff.failuresTo(transaction.redirectTo),
					)
				}).pipe(
					Effect.catchTag("TooManyAttempts", (error) => Effect.succeed(tooMany(error))),
					Effect.catchTag("CacheUnavailable", () =>
						Effect.fail(new ServiceUnavailable({ message: "sign-in is temporarily unavailable" })),
					),
					Telemetry.span("OAuthHttp.callback", { provider: path.provider }),
				),
			)
	}),
)

const SessionsHttpLive = HttpApiBuilder.group(Api, "sessions", (handlers) =>
	Effect.gen(function* () {
		const credentials = yield* Credentials
		return handlers
			.handle("linkStart", ({ path, urlParams }) =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					const caller = yield* currentSession
					const redirectTo = yield* redirectTarget(tenant, urlParams.redirect_to)
					return yield* beginFlow(tenant.id, path.provider, {
						mode: "link",
						userId: caller.principal.userId,
						redirectTo,
						handoffChallenge: null,
					})
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

export { OAuthHttpLive, SessionsHttpLive }
