// Rows of identity: sessions, API keys and linked provider identities, each tenant-scoped by `app_id`. The status and
// reason lists are the single source of the Schema literals and the SQL CHECKs (seed C1–C3). Credentials are stored
// only as SHA-256 hashes (`Model.Sensitive`: never in a json variant); the plaintext exists once, in the response that
// hands it out. Each Model's `json` variant is its view over HTTP and RPC.
import { Model } from "@effect/sql"
import { Schema } from "effect"
import { NotInJson, NullableTimestamp, Timestamp } from "../ModelFields.ts"
import { TenantId, Uuid } from "../Tenancy.ts"
import { UserId } from "./UserModel.ts"

// --- [CONSTANTS]

const SessionStatuses = ["mfa_pending", "active", "revoked", "expired"] as const
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
type ApiKeyStatus = typeof ApiKeyStatus.Type

const TokenHash = Schema.String.pipe(Schema.pattern(/^[0-9a-f]{64}$/))

class Session extends Model.Class<Session>("Session")({
	id: Model.GeneratedByApp(SessionId),
	appId: NotInJson(TenantId),
	userId: UserId,
	tokenHash: Model.Sensitive(TokenHash),
	status: SessionStatus,
	endReason: Schema.NullOr(SessionEndReason),
	provider: Schema.NullOr(Schema.String),
	ipAddress: Schema.NullOr(Schema.String),
	userAgent: Schema.NullOr(Schema.String),
	createdAt: Model.DateTimeInsertFromDate,
	lastUsedAt: Timestamp,
	expiresAt: Timestamp,
	endedAt: NotInJson(Schema.NullOr(Model.DateTimeFromDate)),
}) {}

class ApiKey extends Model.Class<ApiKey>("ApiKey")({
	id: Model.GeneratedByApp(ApiKeyId),
	appId: NotInJson(TenantId),
	userId: NotInJson(UserId),
	name: Schema.String,
	prefix: Schema.String,
	keyHash: Model.Sensitive(TokenHash),
	status: ApiKeyStatus,
	expiresAt: NullableTimestamp,
	lastUsedAt: NullableTimestamp,
	replacedBy: Schema.NullOr(ApiKeyId),
	createdAt: Model.DateTimeInsertFromDate,
	revokedAt: NotInJson(Schema.NullOr(Model.DateTimeFromDate)),
}) {}

class Identity extends Model.Class<Identity>("Identity")({
	appId: NotInJson(TenantId),
	userId: NotInJson(UserId),
	provider: Schema.String,
	subject: Schema.String,
	email: Schema.NullOr(Schema.String),
	createdAt: Model.DateTimeInsertFromDate,
}) {}

// --- [EXPORT]

export {
	ApiKey,
	ApiKeyId,
	ApiKeyPrefix,
	ApiKeyStatus,
	ApiKeyStatuses,
	Identity,
	Session,
	SessionEndReason,
	SessionEndReasons,
	SessionId,
	SessionStatus,
	SessionStatuses,
	SessionTokenPrefix,
	TokenHash,
}
