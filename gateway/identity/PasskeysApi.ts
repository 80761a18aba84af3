// Passkeys under /v1/auth/passkeys (CONTRACT "Passkeys"): registration and management for a signed-in session, and
// usernameless sign-in with a discoverable credential (X-App-Id, no credential). The options are the JSON forms
// `@simplewebauthn/browser` takes (startRegistration / startAuthentication); the answers are what it returns. Any failed
// ceremony is 401 PasskeyVerificationFailed and changes nothing.
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import {
	AuthenticationResponse,
	PasskeyId,
	PasskeyName,
	PasskeyView,
	RegistrationResponse,
} from "../../entities/identity/PasskeyModel.ts"
import { LastFactor, PasskeyNotFound, PasskeyVerificationFailed } from "../../entities/identity/UserSessionsProtocol.ts"
import { WebAuthnNotConfigured } from "../../entities/tenant/TenantProtocol.ts"
import { Page, PageParams } from "../ListPage.ts"
import { signedInRoutes, tenantRoutes } from "../RouteGroups.ts"
import { SignedIn } from "./AuthApi.ts"
import { StepUpRequired } from "../HttpErrors.ts"
import { SessionView, UserView } from "../../entities/identity/UserSessionsProtocol.ts"

// --- [SCHEMA]

const Extensions = Schema.Record({ key: Schema.String, value: Schema.Unknown })

const CredentialDescriptor = Schema.Struct({
	id: Schema.String,
	type: Schema.Literal("public-key"),
	transports: Schema.optional(Schema.Array(Schema.String)),
})

const AuthenticatorSelection = Schema.Struct({
	authenticatorAttachment: Schema.optional(Schema.String),
	residentKey: Schema.optional(Schema.String),
	requireResidentKey: Schema.optional(Schema.Boolean),
	userVerification: Schema.optional(Schema.String),
})

// PublicKeyCredentialCreationOptionsJSON.
const CreationOptions = Schema.Struct({
	rp: Schema.Struct({ id: Schema.optional(Schema.String), name: Schema.String }),
	user: Schema.Struct({ id: Schema.String, name: Schema.String, displayName: Schema.String }),
	challenge: Schema.String,
	pubKeyCredParams: Schema.Array(Schema.Struct({ alg: Schema.Number, type: Schema.Literal("public-key") })),
	timeout: Schema.optional(Schema.Number),
	excludeCredentials: Schema.optional(Schema.Array(CredentialDescriptor)),
	authenticatorSelection: Schema.optional(AuthenticatorSelection),
	hints: Schema.optional(Schema.Array(Schema.String)),
	attestation: Schema.optional(Schema.String),
	extensions: Schema.optional(Extensions),
})

// PublicKeyCredentialRequestOptionsJSON.
const RequestOptions = Schema.Struct({
	challenge: Schema.String,
	timeout: Schema.optional(Schema.Number),
	rpId: Schema.optional(Schema.String),
	allowCredentials: Schema.optional(Schema.Array(CredentialDescriptor)),
	userVerification: Schema.optional(Schema.String),
	hints: Schema.optional(Schema.Array(Schema.String)),
	extensions: Schema.optional(Extensions),
})

const Registration = Schema.Struct({
	response: RegistrationResponse,
	name: Schema.optional(PasskeyName),
})

const Assertion = Schema.Struct({ response: AuthenticationResponse })

const PasskeyPath = Schema.Struct({ id: PasskeyId })

const RecoveryCodes = Schema.Struct({ codes: Schema.Array(Schema.String) })

const RecoveryCode = Schema.Struct({ code: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(64)) })

// --- [PROTOCOL]

const PasskeysApi = signedInRoutes(
	HttpApiGroup.make("passkeys")
		.add(
			HttpApiEndpoint.post("registrationOptions", "/auth/passkeys/registration/options")
				.annotate(OpenApi.Summary, "Start registering a passkey")
				.annotate(
					OpenApi.Description,
					"Creation options for `startRegistration` of @simplewebauthn/browser (a discoverable credential; " +
						"the user's passkeys are excluded). The challenge is single use and expires after " +
						"WEBAUTHN_CHALLENGE_TTL.",
				)
				.addSuccess(CreationOptions)
				.addError(WebAuthnNotConfigured, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.post("register", "/auth/passkeys/registration")
				.annotate(OpenApi.Summary, "Register a passkey")
				.annotate(OpenApi.Description, "The answer of `startRegistration`, and an optional name.")
				.setPayload(Registration)
				.addSuccess(PasskeyView, { status: 201 })
				.addError(PasskeyVerificationFailed, { status: 401 })
				.addError(WebAuthnNotConfigured, { status: 404 })
				.addError(StepUpRequired),
		)
		.add(
			HttpApiEndpoint.post("recoveryCodes", "/auth/recovery-codes")
				.annotate(OpenApi.Summary, "Generate recovery codes")
				.annotate(
					OpenApi.Description,
					"Ten single-use codes for POST /v1/auth/mfa/recovery, shown once (only their hashes are kept); " +
						"every earlier code is void.",
				)
				.addSuccess(RecoveryCodes, { status: 201 })
				.addError(StepUpRequired),
		)
		.add(
			HttpApiEndpoint.get("list", "/auth/passkeys")
				.annotate(OpenApi.Summary, "List the user's passkeys")
				.setUrlParams(PageParams)
				.addSuccess(Page(PasskeyView)),
		)
		.add(
			HttpApiEndpoint.patch("rename", "/auth/passkeys/:id")
				.annotate(OpenApi.Summary, "Rename a passkey")
				.setPath(PasskeyPath)
				.setPayload(Schema.Struct({ name: PasskeyName }))
				.addSuccess(PasskeyView)
				.addError(PasskeyNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.del("delete", "/auth/passkeys/:id")
				.annotate(OpenApi.Summary, "Delete a passkey")
				.annotate(OpenApi.Description, "409 LastFactor when the tenant requires MFA and it is the last one.")
				.setPath(PasskeyPath)
				.addSuccess(PasskeyView)
				.addError(PasskeyNotFound, { status: 404 })
				.addError(LastFactor, { status: 409 })
				.addError(StepUpRequired),
		),
)

// The second factor of a session (MFA) and the step-up of an active one: the same two calls.
const MfaApi = signedInRoutes(
	HttpApiGroup.make("mfa")
		.add(
			HttpApiEndpoint.post("options", "/auth/mfa/options")
				.annotate(OpenApi.Summary, "Start verifying a passkey (MFA or step-up)")
				.annotate(
					OpenApi.Description,
					"Request options over the user's passkeys for `startAuthentication`. Open to a session that is " +
						"`mfa_pending` (every other route refuses it with 401 MfaRequired).",
				)
				.addSuccess(RequestOptions)
				.addError(WebAuthnNotConfigured, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.post("verify", "/auth/mfa/verify")
				.annotate(OpenApi.Summary, "Verify a passkey (MFA or step-up)")
				.annotate(
					OpenApi.Description,
					"The answer of `startAuthentication`: an `mfa_pending` session becomes `active`; any session gets a " +
						"step-up window of WEBAUTHN_STEP_UP_WINDOW for sensitive operations.",
				)
				.setPayload(Assertion)
				.addSuccess(Schema.Struct({ session: SessionView, user: UserView }))
				.addError(PasskeyVerificationFailed, { status: 401 })
				.addError(WebAuthnNotConfigured, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.post("recovery", "/auth/mfa/recovery")
				.annotate(OpenApi.Summary, "Complete MFA with a recovery code")
				.annotate(
					OpenApi.Description,
					"Each code works once (401 PasskeyVerificationFailed after). No step-up window is granted.",
				)
				.setPayload(RecoveryCode)
				.addSuccess(Schema.Struct({ session: SessionView, user: UserView }))
				.addError(PasskeyVerificationFailed, { status: 401 }),
		),
)

const PasskeyLoginApi = tenantRoutes(
	HttpApiGroup.make("passkeyLogin")
		.add(
			HttpApiEndpoint.post("loginOptions", "/auth/passkeys/login/options")
				.annotate(OpenApi.Summary, "Start a passkey sign-in")
				.annotate(
					OpenApi.Description,
					"Request options for `startAuthentication` of @simplewebauthn/browser, without a user: the " +
						"authenticator offers the tenant's discoverable credentials.",
				)
				.addSuccess(RequestOptions)
				.addError(WebAuthnNotConfigured, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.post("login", "/auth/passkeys/login")
				.annotate(OpenApi.Summary, "Sign in with a passkey")
				.annotate(
					OpenApi.Description,
					"The answer of `startAuthentication`: 200 with a session token (and the HttpOnly session cookie).",
				)
				.setPayload(Assertion)
				.addSuccess(SignedIn)
				.addError(PasskeyVerificationFailed, { status: 401 })
				.addError(WebAuthnNotConfigured, { status: 404 }),
		),
)

// --- [EXPORT]

export { Assertion, CreationOptions, MfaApi, PasskeyLoginApi, PasskeysApi, RequestOptions }
