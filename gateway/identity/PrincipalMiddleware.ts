// Tenant routes that act for someone need a credential of the tenant named by `X-App-Id`: a session token or API key
// (bearer, or the session cookie), validated by Credentials without a database round trip, or ADMIN_TOKEN acting as
// the tenant's service principal. Missing, invalid, expired, revoked or another tenant's → 401 with one body; a client
// group that keeps presenting unknown credentials → 429 TooManyRequests. A session waiting for its second factor
// (mfa_pending) is refused here, for every route at once (401 MfaRequired), except the MFA routes and, while it can only
// enroll a passkey (mfa=required, none yet), passkey registration: no route can forget the check.
import { HttpApiMiddleware, HttpApiSecurity, HttpServerRequest } from "@effect/platform"
import { Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Principal } from "../../entities/identity/CredentialDirectoryProtocol.ts"
import { isAdminToken } from "../AdminToken.ts"
import { Credentials } from "./Credentials.ts"
import { GatewayConfig } from "../GatewayConfig.ts"
import { MfaRequired, ServiceUnavailable, TooManyRequests, Unauthorized } from "../HttpErrors.ts"
import { CurrentTenant } from "../tenant/TenantMiddleware.ts"

// --- [CONSTANTS]

// `__Host-`: the browser keeps it only when Secure, Path=/ and without Domain, so no sibling subdomain can set it.
const SessionCookieName = "__Host-ecp_session"

// What an mfa_pending session may call: completing MFA always, registering its first passkey when it has none.
const MfaPaths = new Set(["/v1/auth/mfa/options", "/v1/auth/mfa/verify", "/v1/auth/mfa/recovery"])
const EnrollPaths = new Set(["/v1/auth/passkeys/registration/options", "/v1/auth/passkeys/registration"])

// --- [SCHEMA]

const CallerPrincipal = Schema.Union(
	Schema.Struct({ kind: Schema.Literal("service"), subject: Schema.String }),
	Schema.Struct({ kind: Schema.Literal("user"), principal: Principal, tokenHash: Schema.String }),
)
type CallerPrincipal = typeof CallerPrincipal.Type

// --- [SERVICES]

class CurrentPrincipal extends Context.Tag("gateway/CurrentPrincipal")<CurrentPrincipal, CallerPrincipal>() {}

class PrincipalMiddleware extends HttpApiMiddleware.Tag<PrincipalMiddleware>()("gateway/PrincipalMiddleware", {
	failure: Schema.Union(Unauthorized, MfaRequired, ServiceUnavailable, TooManyRequests),
	provides: CurrentPrincipal,
	security: {
		bearer: HttpApiSecurity.bearer,
		cookie: HttpApiSecurity.apiKey({ key: SessionCookieName, in: "cookie" }),
	},
}) {}

// --- [LAYERS]

const PrincipalMiddlewareLive = Layer.effect(
	PrincipalMiddleware,
	Effect.gen(function* () {
		const config = yield* GatewayConfig
		const credentials = yield* Credentials
		// The schemes are tried in turn and the last one's failure is the answer: a request whose bearer was refused
		// for MFA and that carries no cookie must still be told MfaRequired, not Unauthorized.
		const refusedForMfa = new WeakSet<HttpServerRequest.HttpServerRequest>()
		const mfaRequired = () =>
			new MfaRequired({ message: "this session must complete MFA (POST /v1/auth/mfa/verify) first" })
		const check = (
			token: Redacted.Redacted<string>,
		): Effect.Effect<
			CallerPrincipal,
			Unauthorized | MfaRequired | ServiceUnavailable | TooManyRequests,
			HttpServerRequest.HttpServerRequest
		> =>
			Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
				Redacted.value(token) === "" && refusedForMfa.has(request)
					? Effect.fail(mfaRequired())
					: authenticate(token).pipe(
							Effect.tapErrorTag("MfaRequired", () => Effect.sync(() => refusedForMfa.add(request))),
						),
			)
		const authenticate = (
			token: Redacted.Redacted<string>,
		): Effect.Effect<
			CallerPrincipal,
			Unauthorized | MfaRequired | ServiceUnavailable | TooManyRequests,
			HttpServerRequest.HttpServerRequest
		> =>
			isAdminToken(config.adminToken, token)
				? Effect.succeed({ kind: "service" as const, subject: "service-role" })
				: Effect.serviceOption(CurrentTenant).pipe(
						Effect.flatMap(
							Option.match({
								onNone: () =>
									Effect.fail(
										new Unauthorized({ message: "a valid credential for this tenant is required" }),
									),
								onSome: (tenant) => credentials.authenticate(tenant.id, token),
							}),
						),
						Effect.tap(({ principal }) =>
							principal.mfa === undefined
								? Effect.void
								: Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
										const path = new URL(request.url, "http://gateway").pathname
										return MfaPaths.has(path) ||
											(principal.mfa === "enroll" && EnrollPaths.has(path))
											? Effect.void
											: Effect.fail(mfaRequired())
									}),
						),
						Effect.map(({ principal, tokenHash }) => ({ kind: "user" as const, principal, tokenHash })),
					)
		return PrincipalMiddleware.of({ bearer: check, cookie: check })
	}),
)

// --- [EXPORT]

export { type CallerPrincipal, CurrentPrincipal, PrincipalMiddleware, PrincipalMiddlewareLive, SessionCookieName }
