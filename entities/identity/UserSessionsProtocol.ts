// Protocol of UserSessions (id `<tenantId>/<userId>`), the single writer of one user: every session (create with the
// per-tenant cap, revoke, expire), every API key, the profile, linked identities and deactivation. Its views are the
// Models' json variants: hashes are `Model.Sensitive` and travel only in `revoked`/`changed`. Plaintext credentials
// never travel here: the gateway mints a token and sends only its hash, so no message or reply table ever holds one.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { ApiKey, ApiKeyId, Identity, Session, SessionEndReason, SessionId, TokenHash } from "./IdentityModel.ts"
import { InvalidTransition } from "../InvalidTransition.ts"
import { ProviderName } from "./OAuthProviderModel.ts"
import { User } from "./UserModel.ts"
import {
	AuthenticationResponse,
	Ceremony,
	PasskeyId,
	PasskeyName,
	PasskeyRecord,
	PasskeyView,
	RegistrationResponse,
} from "./PasskeyModel.ts"

// --- [SCHEMA]

// Hashes of the credentials a call ended, so the calling gateway applies the revocation before it answers.
const Revoked = Schema.Array(TokenHash)

const SessionView = Session.json
type SessionView = typeof SessionView.Type

const ApiKeyView = ApiKey.json
type ApiKeyView = typeof ApiKeyView.Type

const UserView = User.json
type UserView = typeof UserView.Type

const IdentityView = Identity.json
type IdentityView = typeof IdentityView.Type

// What a provider vouched for, after the ID token was verified.
const VerifiedClaims = Schema.Struct({
	provider: ProviderName,
	subject: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255)),
	email: Schema.NullOr(Schema.String),
	emailVerified: Schema.Boolean,
	name: Schema.NullOr(Schema.String),
})
type VerifiedClaims = typeof VerifiedClaims.Type

const DisplayName = Schema.Trim.pipe(Schema.minLength(1), Schema.maxLength(200))
const Email = Schema.Trim.pipe(
	Schema.maxLength(320),
	Schema.pattern(/^[^\s@]+@[^\s@]+\.[^\s@]+$/, { message: () => "email must look like name@example.com" }),
)

const ApiKeyName = Schema.Trim.pipe(Schema.minLength(1), Schema.maxLength(100))

// --- [ERRORS]

class SessionNotFound extends Schema.TaggedError<SessionNotFound>()("SessionNotFound", { message: Schema.String }) {}

class ApiKeyNotFound extends Schema.TaggedError<ApiKeyNotFound>()("ApiKeyNotFound", { message: Schema.String }) {}

class UserNotFound extends Schema.TaggedError<UserNotFound>()("UserNotFound", { message: Schema.String }) {}

class UserDeactivated extends Schema.TaggedError<UserDeactivated>()("UserDeactivated", {
	message: Schema.String,
}) {}

class LastIdentity extends Schema.TaggedError<LastIdentity>()("LastIdentity", { message: Schema.String }) {}

class IdentityNotFound extends Schema.TaggedError<IdentityNotFound>()("IdentityNotFound", {
	message: Schema.String,
}) {}

// The provider identity belongs to another user of the tenant, or the user already has one of that provider.
class IdentityTaken extends Schema.TaggedError<IdentityTaken>()("IdentityTaken", { message: Schema.String }) {}

// A WebAuthn ceremony failed: the client learns no more than that (401 at the edge).
class PasskeyVerificationFailed extends Schema.TaggedError<PasskeyVerificationFailed>()("PasskeyVerificationFailed", {
	message: Schema.String,
}) {}

class PasskeyNotFound extends Schema.TaggedError<PasskeyNotFound>()("PasskeyNotFound", { message: Schema.String }) {}

// The tenant requires MFA and this is the user's last passkey.
class LastFactor extends Schema.TaggedError<LastFactor>()("LastFactor", { message: Schema.String }) {}

// --- [PROTOCOL]

const Failures = Schema.Union(UserNotFound, UserDeactivated, StorageUnavailable)

const UserSessions = Entity.make("UserSessions", [
	// Register the user's first identity (sign-up); a repeat for the same identity is a no-op.
	Rpc.make("Open", {
		payload: { claims: VerifiedClaims },
		success: UserView,
		error: Schema.Union(IdentityTaken, UserDeactivated, StorageUnavailable),
	}),
	Rpc.make("CreateSession", {
		payload: {
			sessionId: SessionId,
			tokenHash: TokenHash,
			provider: Schema.NullOr(Schema.String),
			// The sign-in itself proved a second factor (a passkey): never mfa_pending.
			mfaSatisfied: Schema.Boolean,
		},
		success: Schema.Struct({ session: SessionView, revoked: Revoked }),
		error: Failures,
	}),
	Rpc.make("ListSessions", { success: Schema.Array(SessionView), error: Failures }),
	Rpc.make("RevokeSession", {
		payload: { sessionId: SessionId, reason: SessionEndReason.pipe(Schema.pickLiteral("logout", "revoked")) },
		success: Schema.Struct({ session: SessionView, revoked: Revoked }),
		// The one request that names a session: it may have ended already.
		error: Schema.Union(SessionNotFound, InvalidTransition, Failures),
	}),
	Rpc.make("RevokeSessions", {
		payload: { except: Schema.NullOr(SessionId) },
		success: Schema.Struct({ count: Schema.Int, revoked: Revoked }),
		error: Failures,
	}),
	Rpc.make("GetUser", { success: UserView, error: Schema.Union(UserNotFound, StorageUnavailable) }),
	Rpc.make("UpdateUser", {
		payload: {
			displayName: Schema.optional(Schema.NullOr(DisplayName)),
			email: Schema.optional(Schema.NullOr(Email)),
		},
		success: UserView,
		error: Failures,
	}),
	Rpc.make("Deactivate", {
		success: Schema.Struct({
			user: UserView,
			sessionsRevoked: Schema.Int,
			apiKeysRevoked: Schema.Int,
			revoked: Revoked,
		}),
		error: Failures,
	}),
	Rpc.make("ListIdentities", { success: Schema.Array(IdentityView), error: Failures }),
	Rpc.make("LinkIdentity", {
		payload: { claims: VerifiedClaims },
		success: IdentityView,
		error: Schema.Union(IdentityTaken, Failures),
	}),
	Rpc.make("UnlinkIdentity", {
		payload: { provider: Schema.String },
		success: IdentityView,
		error: Schema.Union(IdentityNotFound, LastIdentity, Failures),
	}),
	Rpc.make("CreateApiKey", {
		payload: {
			keyId: ApiKeyId,
			keyHash: TokenHash,
			prefix: Schema.String,
			name: ApiKeyName,
			expiresAt: Schema.NullOr(Schema.DateTimeUtc),
		},
		success: ApiKeyView,
		error: Failures,
	}),
	Rpc.make("ListApiKeys", { success: Schema.Array(ApiKeyView), error: Failures }),
	Rpc.make("RotateApiKey", {
		payload: {
			keyId: ApiKeyId,
			newKeyId: ApiKeyId,
			keyHash: TokenHash,
			prefix: Schema.String,
			gracePeriodSeconds: Schema.Int.pipe(Schema.between(0, 30 * 86_400)),
		},
		success: Schema.Struct({ key: ApiKeyView, changed: Revoked }),
		error: Schema.Union(ApiKeyNotFound, Failures),
	}),
	Rpc.make("RevokeApiKey", {
		payload: { keyId: ApiKeyId },
		success: Schema.Struct({ key: ApiKeyView, revoked: Revoked }),
		error: Schema.Union(ApiKeyNotFound, Failures),
	}),
	Rpc.make("ListPasskeys", { success: Schema.Array(PasskeyRecord), error: Failures }),
	Rpc.make("RegisterPasskey", {
		payload: {
			passkeyId: PasskeyId,
			name: PasskeyName,
			ceremony: Ceremony,
			response: RegistrationResponse,
		},
		// `changed`: the user's sessions waiting to enroll a passkey, which now wait to verify one instead.
		success: Schema.Struct({ passkey: PasskeyView, changed: Revoked }),
		error: Schema.Union(PasskeyVerificationFailed, Failures),
	}),
	Rpc.make("RenamePasskey", {
		payload: { passkeyId: PasskeyId, name: PasskeyName },
		success: PasskeyView,
		error: Schema.Union(PasskeyNotFound, Failures),
	}),
	Rpc.make("DeletePasskey", {
		payload: { passkeyId: PasskeyId, mfaRequired: Schema.Boolean },
		success: Schema.Struct({ passkey: PasskeyView, changed: Revoked }),
		error: Schema.Union(PasskeyNotFound, LastFactor, Failures),
	}),
	// An assertion by one of the user's passkeys (sign-in, MFA, step-up): the counter moves, or a regression marks
	// the passkey cloned (refused from then on).
	Rpc.make("VerifyPasskey", {
		payload: { ceremony: Ceremony, response: AuthenticationResponse },
		success: PasskeyView,
		error: Schema.Union(PasskeyVerificationFailed, Failures),
	}),
	// The second factor of a session (or a step-up of an active one): a passkey assertion; an mfa_pending session
	// becomes active, its credential `changed` on every gateway.
	// Ten new recovery codes (their hashes; the gateway shows the codes once): every earlier code is void.
	Rpc.make("RegenerateRecoveryCodes", {
		payload: { hashes: Schema.Array(TokenHash).pipe(Schema.itemsCount(10)) },
		success: Schema.Struct({ count: Schema.Int }),
		error: Failures,
	}),
	// MFA by a recovery code instead of a passkey: each code works once.
	Rpc.make("UseRecoveryCode", {
		payload: { sessionId: SessionId, codeHash: TokenHash },
		success: Schema.Struct({ session: SessionView, changed: Revoked }),
		error: Schema.Union(PasskeyVerificationFailed, SessionNotFound, Failures),
	}),
	Rpc.make("CompleteMfa", {
		payload: { sessionId: SessionId, ceremony: Ceremony, response: AuthenticationResponse },
		success: Schema.Struct({ session: SessionView, changed: Revoked }),
		error: Schema.Union(PasskeyVerificationFailed, SessionNotFound, Failures),
	}),
])

// --- [EXPORT]

export {
	ApiKeyName,
	ApiKeyNotFound,
	ApiKeyView,
	DisplayName,
	Email,
	IdentityNotFound,
	IdentityTaken,
	IdentityView,
	LastFactor,
	LastIdentity,
	PasskeyNotFound,
	PasskeyVerificationFailed,
	SessionNotFound,
	SessionView,
	UserDeactivated,
	UserNotFound,
	UserSessions,
	UserView,
	VerifiedClaims,
}
