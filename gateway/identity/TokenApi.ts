// POST /v1/auth/token: the app's end of the PKCE hand-off (see PkceHandoff): a one-time code from the callback's
// redirect and the verifier behind its challenge, traded for a session. Needs X-App-Id; no credential.
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { SignedIn } from "./AuthApi.ts"
import { TooManyRequests } from "../HttpErrors.ts"
import { CodeVerifier, InvalidGrant } from "./PkceHandoff.ts"
import { tenantRoutes } from "../RouteGroups.ts"

// --- [SCHEMA]

const TokenRequest = Schema.Struct({
	code: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(256)),
	codeVerifier: CodeVerifier,
})

// --- [PROTOCOL]

const TokenApi = tenantRoutes(
	HttpApiGroup.make("token").add(
		HttpApiEndpoint.post("exchange", "/auth/token")
			.setPayload(TokenRequest)
			.addSuccess(SignedIn)
			.addError(InvalidGrant)
			.addError(TooManyRequests)
			.annotate(OpenApi.Summary, "Trade a one-time sign-in code for a session (PKCE hand-off)")
			.annotate(
				OpenApi.Description,
				"PKCE hand-off: trades the one-time code the callback put on redirect_to (single use, bound to the " +
					"start's code_challenge and tenant) and the verifier for a session. Unknown, expired, used, " +
					"another tenant's or a wrong verifier: 400 InvalidGrant.",
			),
	),
)

// --- [EXPORT]

export { TokenApi }
