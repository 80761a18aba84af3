// A user's passkeys (WebAuthn credentials) and what a ceremony carries. The row keeps the COSE public key and the
// signature counter, which never leave the runner; the view is what the user sees of a passkey. Responses are the
// JSON forms `@simplewebauthn/browser` produces (binary fields base64url), bounded so no request can be huge.
import { Schema } from "effect"
import { TenantId, Uuid } from "../Tenancy.ts"
import { UserId } from "./UserModel.ts"

// --- [SCHEMA]

const PasskeyId = Uuid.pipe(Schema.brand("PasskeyId"))
type PasskeyId = typeof PasskeyId.Type

const Base64Url = Schema.String.pipe(Schema.maxLength(16_384), Schema.pattern(/^[A-Za-z0-9_-]*={0,2}$/))

const PasskeyName = Schema.Trim.pipe(
	Schema.minLength(1, { message: () => "name must not be empty" }),
	Schema.maxLength(100, { message: () => "name must be at most 100 characters" }),
)

const Transports = Schema.Array(Schema.String.pipe(Schema.maxLength(32))).pipe(Schema.maxItems(10))

const PasskeyRow = Schema.Struct({
	id: PasskeyId,
	appId: TenantId,
	userId: UserId,
	credentialId: Schema.String,
	publicKey: Schema.Uint8ArrayFromSelf,
	counter: Schema.Union(Schema.Number, Schema.NumberFromString),
	transports: Transports,
	backedUp: Schema.Boolean,
	aaguid: Schema.String,
	name: Schema.String,
	cloned: Schema.Boolean,
	createdAt: Schema.DateTimeUtcFromDate,
	lastUsedAt: Schema.NullOr(Schema.DateTimeUtcFromDate),
})
type PasskeyRow = typeof PasskeyRow.Type

const PasskeyView = Schema.Struct({
	id: PasskeyId,
	name: Schema.String,
	createdAt: Schema.DateTimeUtc,
	lastUsedAt: Schema.NullOr(Schema.DateTimeUtc),
	backedUp: Schema.Boolean,
	transports: Transports,
})
type PasskeyView = typeof PasskeyView.Type

// The view, the credential id and whether it was cloned (refused), for the gateway's exclude and allow lists (never shown as such).
const PasskeyRecord = Schema.Struct({ ...PasskeyView.fields, credentialId: Schema.String, cloned: Schema.Boolean })

const Extensions = Schema.Record({ key: Schema.String, value: Schema.Unknown })

// `navigator.credentials.create()` as JSON (RegistrationResponseJSON).
const RegistrationResponse = Schema.Struct({
	id: Base64Url,
	rawId: Base64Url,
	type: Schema.Literal("public-key"),
	response: Schema.Struct({
		clientDataJSON: Base64Url,
		attestationObject: Base64Url,
		transports: Schema.optionalWith(Transports, { exact: true }),
	}),
	authenticatorAttachment: Schema.optionalWith(Schema.Literal("platform", "cross-platform"), { exact: true }),
	clientExtensionResults: Schema.optionalWith(Extensions, { default: () => ({}) }),
})

// `navigator.credentials.get()` as JSON (AuthenticationResponseJSON).
const AuthenticationResponse = Schema.Struct({
	id: Base64Url,
	rawId: Base64Url,
	type: Schema.Literal("public-key"),
	response: Schema.Struct({
		clientDataJSON: Base64Url,
		authenticatorData: Base64Url,
		signature: Base64Url,
		userHandle: Schema.optionalWith(Base64Url, { exact: true }),
	}),
	authenticatorAttachment: Schema.optionalWith(Schema.Literal("platform", "cross-platform"), { exact: true }),
	clientExtensionResults: Schema.optionalWith(Extensions, { default: () => ({}) }),
})

// What the gateway hands the verifier: the relying party's terms and the challenge it issued (already consumed).
const Ceremony = Schema.Struct({
	rpId: Schema.String,
	origins: Schema.Array(Schema.String),
	requireUserVerification: Schema.Boolean,
	challenge: Schema.String,
})
type Ceremony = typeof Ceremony.Type

// --- [EXPORT]

export {
	AuthenticationResponse,
	Base64Url,
	Ceremony,
	PasskeyId,
	PasskeyName,
	PasskeyRecord,
	PasskeyRow,
	PasskeyView,
	RegistrationResponse,
	Transports,
}
