// The `users` table: one row per end user of one tenant (`app_id`). `email` is the user's only when `emailVerified`
// (a provider vouched for it); a verified email is unique within a tenant, an unverified one (set by the user) is not
// and never identifies anyone. `User.json` is the user's view over HTTP and RPC.
import { Model } from "@effect/sql"
import { Schema } from "effect"
import { NotInJson } from "../ModelFields.ts"
import { TenantId, Uuid } from "../Tenancy.ts"

// --- [CONSTANTS]

const UserStatuses = ["active", "deactivated"] as const

// --- [SCHEMA]

const UserId = Uuid.pipe(Schema.brand("UserId"))
type UserId = typeof UserId.Type

const UserStatus = Schema.Literal(...UserStatuses)
type UserStatus = typeof UserStatus.Type

// `email` is verified by a provider only when `emailVerified`; one the user set is shown, never trusted.
class User extends Model.Class<User>("User")({
	id: Model.GeneratedByApp(UserId),
	appId: NotInJson(TenantId),
	email: Schema.NullOr(Schema.String),
	emailVerified: Schema.Boolean,
	displayName: Schema.NullOr(Schema.String),
	status: UserStatus,
	createdAt: Model.DateTimeInsertFromDate,
	updatedAt: Model.DateTimeUpdateFromDate,
}) {}

// --- [EXPORT]

export { User, UserId, UserStatus, UserStatuses }
