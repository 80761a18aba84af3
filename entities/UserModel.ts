// The `users` table: one row per end user of one tenant (`app_id`). `email` is the user's only when `emailVerified`
// (a provider vouched for it); a verified email is unique within a tenant, an unverified one (set by the user) is not
// and never identifies anyone.
import { Model } from "@effect/sql"
import { Schema } from "effect"
import { TenantId, Uuid } from "./Tenancy.ts"

// --- [CONSTANTS]

const UserStatuses = ["active", "deactivated"] as const

// --- [SCHEMA]

const UserId = Uuid.pipe(Schema.brand("UserId"))
type UserId = typeof UserId.Type

const UserStatus = Schema.Literal(...UserStatuses)

class User extends Model.Class<User>("User")({
	id: Model.GeneratedByApp(UserId),
	appId: TenantId,
	email: Schema.NullOr(Schema.String),
	emailVerified: Schema.Boolean,
	displayName: Schema.NullOr(Schema.String),
	status: UserStatus,
	createdAt: Model.DateTimeInsertFromDate,
	updatedAt: Model.DateTimeUpdateFromDate,
}) {}

// --- [EXPORT]

export { User, UserId, UserStatus, UserStatuses }
