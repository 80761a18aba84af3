// Protocol of identity's entities. UserSessions (id `<tenantId>/<userId>`) is the single writer of one user: every
// session (create with the per-tenant cap, revoke, expire), every API key, the profile, linked identities and
// deactivation. CredentialDirectory (id `<tenantId>`) answers credential lookups by hash for the gateways' cache and
// records last use; it never changes a status. Plaintext credentials never travel here: the gateway mints a token
// and sends only its hash, so no message or reply table ever holds one.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { PrimaryKey, Schema } from "effect"
import { StorageUnavailable } from "../platform/StorageUnavailable.ts"
import { ApiKeyId, SessionEndReason, SessionId, SessionStatus, TokenHash } from "./IdentityModel.ts"
import { InvalidTransition } from "./InvalidTransition.ts"
import { ProviderName } from "./OAuthProviderModel.ts"
import { TenantId } from "./Tenancy.ts"
import { UserId, UserStatus } from "./UserModel.ts"

// --- [CONSTANTS]

// Published on the cache service whenever credentials die (revoke, eviction, expiry, deactivation, key rotation's
// end), before the entity replies; every gateway drops them from its in-process tier.
const CredentialsRevokedChannel = "credentials.revoked"
// The PersistedCache store of resolved credentials; the runner deletes its Redis entries on revocation.
const CredentialStoreId = "credentials"

// --- [SCHEMA]

const CredentialKind = Schema.Literal("session", "apiKey")
type CredentialKind = typeof CredentialKind.Type

// Who a valid credential speaks for. `expiresAt` (epoch ms) is the latest instant the gateway may accept it without
// asking again: the session's absolute or idle deadline, or the key's expiry.
const Principal = Schema.Struct({
	kind: CredentialKind,
	tenantId: TenantId,
	userId: UserId,
	credentialId: Schema.UUID,
	expiresAt: Schema.NullOr(Schema.Number),
})
type Principal = typeof Principal.Type

// `revoked`: the credentials are dead (gateways remember that); otherwise they only changed (a rotated key's expiry)
// and gateways just drop their copies.
const CredentialsRevoked = Schema.parseJson(
	Schema.Struct({ tenantId: TenantId, hashes: Schema.Array(TokenHash), revoked: Schema.Boolean }),
)

// Hashes of the credentials a call ended, so the calling gateway applies the revocation before it answers.
const Revoked = Schema.Array(TokenHash)

const SessionView = Schema.Struct({
	id: SessionId,
	userId: UserId,
	status: SessionStatus,
	endReason: Schema.NullOr(SessionEndReason),
	provider: Schema.NullOr(Schema.String),
	ipAddress: Schema.NullOr(Schema.String),
	userAgent: Schema.NullOr(Schema.String),
	createdAt: Schema.DateTimeUtc,
	lastUsedAt: Schema.DateTimeUtc,
	expiresAt: Schema.DateTimeUtc,
})
type SessionView = typeof SessionView.Type

const ApiKeyView = Schema.Struct({
	id: ApiKeyId,
	name: Schema.String,
	prefix: Schema.String,
	status: Schema.Literal("active", "revoked"),
	expiresAt: Schema.NullOr(Schema.DateTimeUtc),
	lastUsedAt: Schema.NullOr(Schema.DateTimeUtc),
	replacedBy: Schema.NullOr(ApiKeyId),
	createdAt: Schema.DateTimeUtc,
})
type ApiKeyView = typeof ApiKeyView.Type

// `email` is verified by a provider only when `emailVerified`; one the user set is shown, never trusted.
const UserView = Schema.Struct({
	id: UserId,
	email: Schema.NullOr(Schema.String),
	emailVerified: Schema.Boolean,
	displayName: Schema.NullOr(Schema.String),
	status: UserStatus,
	createdAt: Schema.DateTimeUtc,
	updatedAt: Schema.DateTimeUtc,
})
type UserView = typeof UserView.Type

const IdentityView = Schema.Struct({
	provider: Schema.String,
	subject: Schema.String,
	email: Schema.NullOr(Schema.String),
	createdAt: Schema.DateTimeUtc,
})
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

class CredentialInvalid extends Schema.TaggedError<CredentialInvalid>()("CredentialInvalid", {
	message: Schema.String,
}) {}

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

// --- [PROTOCOL]

// A PersistedCache key: the gateway's tenant (from X-App-Id) and the credential's hash. A credential of another
// tenant is simply not found under this tenant. `epoch` (the gateway's pub/sub connection count) is part of the
// in-process key but not of the shared one, so what was kept in memory before a Redis reconnect is not trusted after.
class ResolveCredential extends Schema.TaggedRequest<ResolveCredential>()("ResolveCredential", {
	failure: Schema.Union(CredentialInvalid, StorageUnavailable),
	success: Principal,
	payload: { tenantId: TenantId, kind: CredentialKind, tokenHash: TokenHash, epoch: Schema.Number },
}) {
	[PrimaryKey.symbol]() {
		return credentialKey(this.tenantId, this.tokenHash)
	}
}

const Failures = Schema.Union(UserNotFound, UserDeactivated, InvalidTransition, StorageUnavailable)

const UserSessions = Entity.make("UserSessions", [
	// Register the user's first identity (sign-up); a repeat for the same identity is a no-op.
	Rpc.make("Open", {
		payload: { claims: VerifiedClaims },
		success: UserView,
		error: Schema.Union(IdentityTaken, UserDeactivated, StorageUnavailable),
	}),
	Rpc.make("CreateSession", {
		payload: { sessionId: SessionId, tokenHash: TokenHash, provider: Schema.NullOr(Schema.String) },
		success: Schema.Struct({ session: SessionView, revoked: Revoked }),
		error: Failures,
	}),
	Rpc.make("ListSessions", { success: Schema.Array(SessionView), error: Failures }),
	Rpc.make("RevokeSession", {
		payload: { sessionId: SessionId, reason: Schema.Literal("logout", "revoked") },
		success: Schema.Struct({ session: SessionView, revoked: Revoked }),
		error: Schema.Union(SessionNotFound, Failures),
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
])

// Stateless reads by hash (concurrency unbounded) and batched last-use updates; id = tenantId.
const CredentialDirectory = Entity.make("CredentialDirectory", [
	Rpc.make("Resolve", {
		payload: { kind: CredentialKind, tokenHash: TokenHash },
		success: Principal,
		error: Schema.Union(CredentialInvalid, StorageUnavailable),
	}),
	Rpc.make("Touch", {
		payload: { sessions: Schema.Array(SessionId), apiKeys: Schema.Array(ApiKeyId) },
		error: StorageUnavailable,
	}),
	// Find the user a provider identity belongs to (sign-in); none → the caller opens a new user.
	Rpc.make("FindIdentity", {
		payload: { provider: Schema.String, subject: Schema.String },
		success: Schema.NullOr(UserId),
		error: StorageUnavailable,
	}),
])

// --- [FUNCTIONS]

function credentialKey(tenantId: TenantId, tokenHash: string) {
	return `${tenantId}:${tokenHash}`
}

// --- [EXPORT]

export {
	ApiKeyName,
	ApiKeyNotFound,
	ApiKeyView,
	CredentialDirectory,
	CredentialInvalid,
	CredentialKind,
	credentialKey,
	CredentialsRevoked,
	CredentialsRevokedChannel,
	CredentialStoreId,
	DisplayName,
	Email,
	IdentityNotFound,
	IdentityTaken,
	IdentityView,
	LastIdentity,
	Principal,
	ResolveCredential,
	SessionNotFound,
	SessionView,
	UserDeactivated,
	UserNotFound,
	UserSessions,
	UserView,
	VerifiedClaims,
}
