// The OAuth redirect flow of a sign-in or a link, behind the thin handlers of OAuthHttp and SessionsHttp. Start: a
// transaction (state, nonce, PKCE verifier) bound to the browser, then 302 to the provider. Callback: limits first,
// then the single-use transaction, the code exchange on the runner (IdentityBroker), and the outcome: a session for the
// user behind the identity (SignIn), a linked identity, or a PKCE hand-off's one-time code. Every failure is logged once
// with its stage, counted when it is an abuse signal, and answered with one OAuthFailed body (OAuthFailure). It answers
// in the browser's terms (cookies, redirects): the flow is a round trip of the browser's.
import { HttpServerResponse } from "@effect/platform"
import { DateTime, Effect, Option, Redacted } from "effect"
import { IdentityBroker } from "../../entities/identity/IdentityBrokerProtocol.ts"
import { entityId, type TenantId } from "../../entities/Tenancy.ts"
import type { TenantView } from "../../entities/tenant/TenantProtocol.ts"
import type { UserId } from "../../entities/identity/UserModel.ts"
import { UserSessions, type VerifiedClaims } from "../../entities/identity/UserSessionsProtocol.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import type { CallbackParams, StartParams } from "./AuthApi.ts"
import { CookieOptions, setCookie } from "./AuthCookies.ts"
import { callEntity } from "../EntityCall.ts"
import { ServiceUnavailable } from "../HttpErrors.ts"
import { IdentityConfig } from "./IdentityConfig.ts"
import { LoginLimiter } from "./LoginLimiter.ts"
import { CallbackFailed, OAuthFailure } from "./OAuthFailure.ts"
import { OAuthTransactions, type Transaction } from "./OAuthTransactions.ts"
import { PkceHandoff } from "./PkceHandoff.ts"
import { SessionCookieName } from "./PrincipalMiddleware.ts"
import { redirectTarget } from "./RedirectTarget.ts"
import { SignIn } from "./SignIn.ts"
import { TenantCache } from "../tenant/TenantCache.ts"
import { activeTenant } from "../tenant/TenantMiddleware.ts"

// --- [SERVICES]

class OAuthFlow extends Effect.Service<OAuthFlow>()("gateway/OAuthFlow", {
	effect: Effect.gen(function* () {
		const config = yield* IdentityConfig
		const broker = yield* IdentityBroker.client
		const users = yield* UserSessions.client
		const tenants = yield* TenantCache

		// The transaction, its browser cookie, then 302 to the provider's authorization URL.
		const begin = (
			tenantId: TenantId,
			provider: string,
			flow: Pick<Transaction, "mode" | "userId" | "redirectTo" | "handoffChallenge">,
		) =>
			Effect.gen(function* () {
				// Before anything is written or any entity of the provider's is addressed.
				yield* tenants.requireProvider(tenantId, provider)
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
				yield* setCookie(started.cookie.name, started.cookie.value, {
					...CookieOptions,
					maxAge: config.transactionTtl,
				})
				return HttpServerResponse.redirect(url, { status: 302 })
			}).pipe(
				Effect.catchTag("CacheUnavailable", () =>
					Effect.fail(new ServiceUnavailable({ message: "sign-in is temporarily unavailable" })),
				),
			)

		// A sign-in of the tenant named by `app_id` (or `X-App-Id`), optionally handed off to an app by PKCE.
		const start = (provider: string, appId: string | undefined, params: StartParams) =>
			Effect.gen(function* () {
				const tenant = yield* activeTenant(appId).pipe(Effect.provideService(TenantCache, tenants))
				const redirectTo = yield* redirectTarget(config.callbackBaseUrl, tenant, params.redirect_to)
				const handoffChallenge = yield* PkceHandoff.challengeOf(params, redirectTo)
				return yield* begin(tenant.id, provider, { mode: "signin", userId: null, redirectTo, handoffChallenge })
			}).pipe(Telemetry.span("OAuthFlow.start", { provider }))

		// Linking another identity to a signed-in user.
		const link = (tenant: TenantView, userId: UserId, provider: string, redirectTo: string | undefined) =>
			Effect.gen(function* () {
				const target = yield* redirectTarget(config.callbackBaseUrl, tenant, redirectTo)
				return yield* begin(tenant.id, provider, {
					mode: "link",
					userId,
					redirectTo: target,
					handoffChallenge: null,
				})
			}).pipe(Telemetry.span("OAuthFlow.link", { provider }))

		// The user behind the identity (opened on first sign-in), then a new session.
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

		// The provider's code for claims, on the runner that holds the provider's client.
		const exchange = (transaction: Transaction, provider: string, params: CallbackParams) =>
			Effect.gen(function* () {
				// The provider's own error (the user cancelled or was refused there) is nobody's abuse: not counted.
				yield* Effect.when(
					Effect.fail(
						new CallbackFailed({
							stage: "provider_error",
							reason: "the provider sent an OAuth error back",
							counted: false,
							providerError: params.error,
							providerErrorDescription: params.error_description,
						}),
					),
					() => params.error !== undefined,
				)
				const code = yield* Option.match(Option.fromNullable(params.code), {
					onNone: () =>
						Effect.fail(new CallbackFailed({ stage: "callback", reason: "no code", counted: true })),
					onSome: Effect.succeed,
				})
				return yield* callEntity(
					broker(entityId(transaction.tenantId, provider)).Exchange({
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
			})

		// The callback as the browser brings it back: the provider's query string, its cookies and the client's address.
		const callback = ({
			provider,
			params,
			cookies,
			ip,
		}: {
			readonly provider: string
			readonly params: CallbackParams
			readonly cookies: Readonly<Record<string, string | undefined>>
			readonly ip: string | null
		}) =>
			Effect.gen(function* () {
				yield* LoginLimiter.check(ip)
				const taken = yield* Option.match(Option.fromNullable(params.state), {
					onNone: () => Effect.succeed(Option.none<Transaction>()),
					onSome: (state) => OAuthTransactions.take(state, cookies),
				})
				const transaction = yield* Option.match(
					Option.filter(taken, (found) => found.provider === provider),
					{
						onNone: () =>
							OAuthFailure.answer({ ip, provider })(
								new CallbackFailed({
									stage: "state",
									reason:
										params.state === undefined
											? "the callback carried no state"
											: "the state is unknown, expired, used, of another provider or without this browser's cookie",
									counted: true,
								}),
							),
						onSome: Effect.succeed,
					},
				)
				yield* setCookie(OAuthTransactions.cookieName(params.state ?? ""), "", { ...CookieOptions, maxAge: 0 })
				return yield* Effect.gen(function* () {
					const claims = yield* exchange(transaction, provider, params)
					// A PKCE hand-off answers with a one-time code for the app instead of a session.
					return yield* transaction.handoffChallenge === null
						? complete(transaction, claims)
						: PkceHandoff.handOff(transaction, claims, transaction.handoffChallenge, config.handoffCodeTtl)
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
					}),
					Effect.catchTag(
						"CallbackFailed",
						OAuthFailure.answer({ ip, provider, tenantId: transaction.tenantId }),
					),
					PkceHandoff.failuresTo(transaction.redirectTo),
				)
			}).pipe(
				Effect.catchTag("CacheUnavailable", () =>
					Effect.fail(new ServiceUnavailable({ message: "sign-in is temporarily unavailable" })),
				),
				Telemetry.span("OAuthFlow.callback", { provider }),
			)

		return { callback, link, start } as const
	}),
}) {}

// --- [EXPORT]

export { OAuthFlow }
