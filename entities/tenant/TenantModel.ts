// The `apps` table (one row per tenant) as a Model, and the tenant lifecycle's status list: the Schema literal and
// the SQL CHECK constraint are both built from `TenantStatuses`, so they cannot drift.
import { Model } from "@effect/sql"
import { Option, Schema } from "effect"
import { TenantId } from "../Tenancy.ts"

// --- [CONSTANTS]

const TenantStatuses = ["provisioning", "active", "suspended", "deleting", "deleted"] as const

// --- [SCHEMA]

const TenantStatus = Schema.Literal(...TenantStatuses)
type TenantStatus = typeof TenantStatus.Type

const TenantSlug = Schema.String.pipe(
	Schema.pattern(/^[a-z0-9-]{3,63}$/, {
		message: () => "slug must be 3–63 characters of lowercase letters, digits and '-'",
	}),
	Schema.brand("TenantSlug"),
)
type TenantSlug = typeof TenantSlug.Type

const TenantName = Schema.Trim.pipe(
	Schema.minLength(1, { message: () => "name must not be empty" }),
	Schema.maxLength(200, { message: () => "name must be at most 200 characters" }),
)

// A web origin exactly as browsers send it in `Origin`: http(s), host, optional port; no path, no trailing slash.
const WebOrigin = Schema.String.pipe(
	Schema.maxLength(512),
	Schema.filter(
		(value) =>
			Option.exists(
				Option.liftThrowable(() => new URL(value))(),
				(url) => (url.protocol === "https:" || url.protocol === "http:") && url.origin === value,
			),
		{ message: () => "must be an origin such as https://app.example.com (scheme, host and port only)" },
	),
)

const TenantSettings = Schema.Struct({
	maxSessionsPerUser: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000))),
	allowedRedirectOrigins: Schema.optional(Schema.Array(Schema.String.pipe(Schema.maxLength(512)))),
	// Origins whose pages may call /v1/ routes from a browser (CORS). Default: the origins of allowedRedirectOrigins.
	allowedOrigins: Schema.optional(Schema.Array(WebOrigin).pipe(Schema.maxItems(100))),
	// "none": clients may not publish over WebSocket; only the tenant's backend broadcasts (HTTP). Default "all".
	realtimeClientPublish: Schema.optional(Schema.Literal("all", "none")),
	// `http.call` jobs may be submitted with a plain user session (default: only with an API key or ADMIN_TOKEN).
	allowUserHttpCalls: Schema.optional(Schema.Boolean),
	// Days this tenant's events are kept for replay (default EVENTS_RETENTION_DAYS).
	eventRetentionDays: Schema.optional(Schema.Int.pipe(Schema.between(1, 3650))),
})
type TenantSettings = typeof TenantSettings.Type

class TenantModel extends Model.Class<TenantModel>("TenantModel")({
	id: Model.GeneratedByApp(TenantId),
	slug: TenantSlug,
	name: Schema.String,
	status: TenantStatus,
	settings: TenantSettings,
	createdAt: Model.DateTimeInsertFromDate,
	updatedAt: Model.DateTimeUpdateFromDate,
}) {}

// --- [EXPORT]

export { TenantModel, TenantName, TenantSettings, TenantSlug, TenantStatus, TenantStatuses, WebOrigin }
