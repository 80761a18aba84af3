// Sign-in and sessions under /v1/auth: the OAuth redirect flow (start and callback need no credential; the callback
// takes its tenant from the transaction), linking another provider, and the caller's sessions.
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { OAuthFailed } from "../../entities/identity/IdentityBrokerProtocol.ts"
import { InvalidTransition } from "../../entities/InvalidTransition.ts"
import { ProviderName } from "../../entities/identity/OAuthProviderModel.ts"
import { Uuid } from "../../entities/Tenancy.ts"
import { OAuthProviderNotFound } from "../../entities/tenant/TenantProtocol.ts"
import { IdentityTaken, SessionNotFound, SessionView, UserView } from "../../entities/identity/UserSessionsProtocol.ts"
import { Page, PageParams } from "../ListPage.ts"
import { TooManyAttempts } from "./LoginLimiter.ts"
import { CodeChallenge } from "./PkceHandoff.ts"
import { signedInRoutes } from "../RouteGroups.ts"
import { TenantFailure } from "../tenant/TenantMiddleware.ts"

// --- [SCHEMA]

const ProviderPath = Schema.Struct({ provider: ProviderName })

const StartParams = Schema.Struct({
	app_id: Schema.optional(Schema.String.pipe(Schema.maxLength(128))),
	redirect_to: Schema.optional(Schema.String.pipe(Schema.maxLength(2048))),
	// PKCE hand-off to an app on another origin: the S256 challenge of a verifier the app keeps (needs redirect_to).
	code_challenge: Schema.optional(CodeChallenge),
	code_challenge_method: Schema.optional(
		Schema.Literal("S256").annotations({ message: () => "code_challenge_method must be S256" }),
	),
})
type StartParams = typeof StartParams.Type

const LinkParams = Schema.Struct({ redirect_to: Schema.optional(Schema.String.pipe(Schema.maxLength(2048))) })

// What the provider sends back; anything else on the query string is ignored.
const CallbackParams = Schema.Struct({
	code: Schema.optional(Schema.String.pipe(Schema.maxLength(2048))),
	state: Schema.optional(Schema.String.pipe(Schema.maxLength(512))),
	error: Schema.optional(Schema.String.pipe(Schema.maxLength(256))),
	error_description: Schema.optional(Schema.String.pipe(Schema.maxLength(1024))),
})
type CallbackParams = typeof CallbackParams.Type

const SignedIn = Schema.Struct({ token: Schema.String, session: SessionView, user: UserView })

const Linked = Schema.Struct({
	linked: Schema.Struct({ provider: Schema.String, subject: Schema.String, email: Schema.NullOr(Schema.String) }),
})

const CurrentSession = Schema.Struct({ session: SessionView, user: UserView })

const SessionPath = Schema.Struct({ id: Uuid })

// Who the presented credential speaks for, straight from the credential cache (no entity call).
const WhoAmI = Schema.Struct({
	kind: Schema.Literal("session", "apiKey", "service"),
	tenantId: Schema.String,
	userId: Schema.NullOr(Schema.String),
	credentialId: Schema.NullOr(Schema.String),
	expiresAt: Schema.NullOr(Schema.Number),
})

const Redirect = HttpApiSchema.Empty(302).annotations({ description: "Redirect (Location header)" })

// --- [ERRORS]

class RedirectNotAllowed extends Schema.TaggedError<RedirectNotAllowed>()(
	"RedirectNotAllowed",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 400 }),
) {}

// --- [PROTOCOL]

const OAuthApi = HttpApiGroup.make("oauth")
	.add(
		HttpApiEndpoint.get("start", "/auth/oauth/:provider/start")
			.annotate(OpenApi.Summary, "Start an OAuth sign-in")
			.setPath(ProviderPath)
			.setUrlParams(StartParams)
			.addSuccess(Redirect)
			.addError(TenantFailure)
			.addError(OAuthProviderNotFound, { status: 404 })
			.addError(RedirectNotAllowed)
			.annotate(
				OpenApi.Description,
				"Starts a sign-in: 302 to the provider and a transaction cookie. With code_challenge (PKCE hand-off, " +
					"needs redirect_to), the callback answers 302 to redirect_to?code=<one-time code> for " +
					"POST /v1/auth/token.",
			),
	)
	.add(
		HttpApiEndpoint.get("callback", "/auth/oauth/:provider/callback")
			.annotate(OpenApi.Summary, "Complete an OAuth sign-in")
			.setPath(ProviderPath)
			.setUrlParams(CallbackParams)
			.addSuccess(SignedIn)
			.addSuccess(Linked)
			.addSuccess(Redirect)
			.addError(OAuthFailed, { status: 401 })
			.addError(IdentityTaken, { status: 409 })
			.addError(TooManyAttempts)
			.annotate(
				OpenApi.Description,
				"The provider's redirect target: 200 with the session token (and an HttpOnly cookie), or 302 to the " +
					"transaction's redirect_to.",
			),
	)
	.prefix("/v1")

const SessionsApi = signedInRoutes(
	HttpApiGroup.make("sessions")
		.add(
			HttpApiEndpoint.get("linkStart", "/auth/oauth/:provider/link/start")
				.annotate(OpenApi.Summary, "Start linking another OAuth identity to the signed-in user")
				.setPath(ProviderPath)
				.setUrlParams(LinkParams)
				.addSuccess(Redirect)
				.addError(OAuthProviderNotFound, { status: 404 })
				.addError(RedirectNotAllowed),
		)
		.add(
			HttpApiEndpoint.get("whoami", "/auth/whoami")
				.annotate(OpenApi.Summary, "The principal of the credential")
				.annotate(
					OpenApi.Description,
					"A user (session or API key) or the tenant's service principal (ADMIN_TOKEN).",
				)
				.addSuccess(WhoAmI),
		)
		.add(
			HttpApiEndpoint.get("current", "/auth/session")
				.annotate(OpenApi.Summary, "The current session")
				.addSuccess(CurrentSession),
		)
		.add(
			HttpApiEndpoint.del("logout", "/auth/session")
				.annotate(OpenApi.Summary, "Sign out (revoke the current session)")
				.addSuccess(SessionView),
		)
		.add(
			HttpApiEndpoint.get("list", "/auth/sessions")
				.annotate(OpenApi.Summary, "List the user's sessions")
				.setUrlParams(PageParams)
				.addSuccess(Page(SessionView)),
		)
		.add(
			HttpApiEndpoint.del("revoke", "/auth/sessions/:id")
				.annotate(OpenApi.Summary, "Revoke one of the user's sessions")
				.setPath(SessionPath)
				.addSuccess(SessionView)
				.addError(SessionNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.del("revokeOthers", "/auth/sessions")
				.annotate(OpenApi.Summary, "Revoke all the user's other sessions")
				.addSuccess(Schema.Struct({ revoked: Schema.Int })),
		)
		.addError(InvalidTransition, { status: 409 }),
)

// --- [EXPORT]

export { CallbackParams, OAuthApi, RedirectNotAllowed, SessionsApi, SignedIn, StartParams }
