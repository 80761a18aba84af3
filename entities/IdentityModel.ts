// Rows of identity: sessions, API keys and linked provider identities, each tenant-scoped by `app_id`. The status and
// reason lists are the single source of the Schema literals and the SQL CHECKs (seed C1–C3). Credentials are stored
// only as SHA-256 hashes; the plaintext exists once, in the response that hands it out.
import { Schema } from "effect"
import { TenantId, Uuid } from "./Tenancy.ts"
import { UserId } from "./UserModel.ts"

// --- [CONSTANTS]

const SessionStatuses = ["pending_mfa", "active", "revoked", "expired"] as const
const SessionEndReasons = ["logout", "revoked", "evicted", "deactivated", "idle", "lifetime"] as const
const ApiKeyStatuses = ["active", "revoked"] as const

// Typed prefixes: a leaked credential says what it is (and secret scanners can match it).
const SessionTokenPrefix = "ecps_"
const ApiKeyPrefix = "ecpk_"

// --- [SCHEMA]

const SessionId = Uuid.pipe(Schema.brand("SessionId"))
type SessionId = typeof SessionId.Type
const ApiKeyId = Uuid.pipe(Schema.brand("ApiKeyId"))
type ApiKeyId = typeof ApiKeyId.Type

const SessionStatus = Schema.Literal(...SessionStatuses)
type SessionStatus = typeof SessionStatus.Type
const SessionEndReason = Schema.Literal(...SessionEndReasons)
type SessionEndReason = typeof SessionEndReason.Type
const ApiKeyStatus = Schema.Literal(...ApiKeyStatuses)

const TokenHash = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))

const SessionRow = Schema.Struct({
	id: SessionId,
	appId: TenantId,
	userId: UserId,
	tokenHash: TokenHash,
	status: SessionStatus,
	endReason: Schema.NullOr(SessionEndReason),
	provider: Schema.NullOr(Schema.String),
	ipAddress: Schema.NullOr(Schema.String),
	userAgent: Schema.NullOr(Schema.String),
	createdAt: Schema.DateTimeUtcFromDate,
	lastUsedAt: Schema.DateTimeUtcFromDate,
	expiresAt: Schema.DateTimeUtcFromDate,
	endedAt: Schema.NullOr(Schema.DateTimeUtcFromDate),
})
type SessionRow = typeof SessionRow.Type

const ApiKeyRow = Schema.Struct({
	id: ApiKeyId,
	appId: TenantId,
	userId: UserId,
	name: Schema.String,
	prefix: Schema.String,
	keyHash: TokenHash,
	status: ApiKeyStatus,
	expiresAt: Schema.NullOr(Schema.DateTimeUtcFromDate),
	lastUsedAt: Schema.NullOr(Schema.DateTimeUtcFromDate),
	replacedBy: Schema.NullOr(ApiKeyId),
	createdAt: Schema.DateTimeUtcFromDate,
	revokedAt: Schema.NullOr(Schema.DateTimeUtcFromDate),
})
type ApiKeyRow = typeof ApiKeyRow.Type

const IdentityRow = Schema.Struct({
	appId: TenantId,
	userId: UserId,
	provider: Schema.String,
	subject: Schema.String,
	email: Schema.NullOr(Schema.String),
	createdAt: Schema.DateTimeUtcFromDate,
})
type IdentityRow = typeof IdentityRow.Type

// --- [EXPORT]

export {
	ApiKeyId,
	ApiKeyPrefix,
	ApiKeyRow,
	ApiKeyStatuses,
	IdentityRow,
	SessionEndReason,
	SessionEndReasons,
	SessionId,
	SessionRow,
	SessionStatus,
	SessionStatuses,
	SessionTokenPrefix,
	TokenHash,
}
