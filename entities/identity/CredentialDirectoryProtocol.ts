// Protocol of CredentialDirectory (id `<tenantId>`): answers credential lookups by hash for the gateways' cache,
// records last use and finds the user a provider identity belongs to; it never changes a status (UserSessions does).
// Plaintext credentials never travel here: the gateway sends only a token's hash.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { PrimaryKey, Schema } from "effect"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { ApiKeyId, SessionId, TokenHash } from "./IdentityModel.ts"
import { TenantId } from "../Tenancy.ts"
import { UserId } from "./UserModel.ts"

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
	// A session waiting for its second factor: "verify" (the user has a passkey) or "enroll" (mfa=required, none yet).
	mfa: Schema.optionalWith(Schema.Literal("verify", "enroll"), { exact: true }),
})
type Principal = typeof Principal.Type

// `revoked`: the credentials are dead (gateways remember that); otherwise they only changed (a rotated key's expiry)
// and gateways just drop their copies.
const CredentialsRevoked = Schema.parseJson(
	Schema.Struct({ tenantId: TenantId, hashes: Schema.Array(TokenHash), revoked: Schema.Boolean }),
)

// --- [ERRORS]

class CredentialInvalid extends Schema.TaggedError<CredentialInvalid>()("CredentialInvalid", {
	message: Schema.String,
}) {}

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
	CredentialDirectory,
	CredentialInvalid,
	CredentialKind,
	credentialKey,
	CredentialsRevoked,
	CredentialsRevokedChannel,
	CredentialStoreId,
	Principal,
	ResolveCredential,
}
