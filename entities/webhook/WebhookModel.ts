// The `webhook_endpoints` row and what a tenant sees of it, the endpoint lifecycle's states, and the input rules an
// endpoint must meet (URL, event type patterns, description). The sealed secrets never leave the runner.
import { Schema } from "effect"
import { TenantId, Uuid } from "../Tenancy.ts"

// --- [CONSTANTS]

const WebhookStatuses = ["pending_verification", "active", "failing", "disabled"] as const

// The event families of the Events contract an endpoint may subscribe to.
const EventFamilies = ["tenant", "user", "session", "apikey", "passkey", "job", "asset", "webhook"] as const

// --- [SCHEMA]

const WebhookStatus = Schema.Literal(...WebhookStatuses)
type WebhookStatus = typeof WebhookStatus.Type

const WebhookUrl = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(2048))

// `*` (everything), a family's wildcard `user.*`, or an exact type `user.created`.
const EventTypePattern = Schema.String.pipe(
	Schema.filter(
		(pattern) =>
			pattern === "*" ||
			EventFamilies.some(
				(family) => pattern === `${family}.*` || new RegExp(`^${family}(\\.[a-z0-9_]+)+$`).test(pattern),
			),
		{
			message: () =>
				`must be '*', '<family>.*' or an exact event type of the families ${EventFamilies.join(", ")}`,
		},
	),
)

const EventTypes = Schema.Array(EventTypePattern).pipe(
	Schema.minItems(1, { message: () => "eventTypes must name at least one type" }),
	Schema.maxItems(50),
)

const WebhookDescription = Schema.String.pipe(
	Schema.maxLength(500, { message: () => "description must be at most 500 characters" }),
)

const WebhookRow = Schema.Struct({
	appId: TenantId,
	id: Uuid,
	url: Schema.String,
	eventTypes: Schema.Array(Schema.String),
	description: Schema.NullOr(Schema.String),
	status: WebhookStatus,
	secretEnc: Schema.String,
	previousSecretEnc: Schema.NullOr(Schema.String),
	previousSecretUntil: Schema.NullOr(Schema.DateTimeUtcFromDate),
	consecutiveFailures: Schema.Int,
	failingSince: Schema.NullOr(Schema.DateTimeUtcFromDate),
	lastFailureAt: Schema.NullOr(Schema.DateTimeUtcFromDate),
	createdAt: Schema.DateTimeUtcFromDate,
	updatedAt: Schema.DateTimeUtcFromDate,
})
type WebhookRow = typeof WebhookRow.Type

const WebhookView = Schema.Struct({
	id: Schema.String,
	url: Schema.String,
	eventTypes: Schema.Array(Schema.String),
	description: Schema.NullOr(Schema.String),
	status: WebhookStatus,
	createdAt: Schema.DateTimeUtc,
	updatedAt: Schema.DateTimeUtc,
})
type WebhookView = typeof WebhookView.Type

const AttemptView = Schema.Struct({
	webhookId: Schema.String,
	eventType: Schema.String,
	eventSeq: Schema.NullOr(Schema.Number),
	attempt: Schema.Int,
	statusCode: Schema.NullOr(Schema.Int),
	durationMs: Schema.Int,
	error: Schema.NullOr(Schema.String),
	createdAt: Schema.DateTimeUtc,
})

const AttemptRow = Schema.Struct({
	id: Schema.NumberFromString,
	webhookId: Schema.String,
	eventType: Schema.String,
	eventSeq: Schema.NullOr(Schema.NumberFromString),
	attempt: Schema.Int,
	statusCode: Schema.NullOr(Schema.Int),
	durationMs: Schema.Int,
	error: Schema.NullOr(Schema.String),
	createdAt: Schema.DateTimeUtcFromDate,
})

// --- [FUNCTIONS]

// Where the sealed secret is bound (a sealed value moved to another endpoint does not open).
const secretBinding = (appId: string, endpointId: string) => `webhook_endpoints:${appId}:${endpointId}:secret`

const viewOf = (row: WebhookRow): WebhookView => ({
	id: row.id,
	url: row.url,
	eventTypes: row.eventTypes,
	description: row.description,
	status: row.status,
	createdAt: row.createdAt,
	updatedAt: row.updatedAt,
})

// An event type matches a pattern exactly, by `prefix.*`, or `*`.
const matches = (patterns: ReadonlyArray<string>, type: string) =>
	patterns.some(
		(pattern) =>
			pattern === "*" || pattern === type || (pattern.endsWith(".*") && type.startsWith(pattern.slice(0, -1))),
	)

// --- [EXPORT]

export {
	AttemptRow,
	AttemptView,
	EventTypes,
	matches,
	secretBinding,
	viewOf,
	WebhookDescription,
	WebhookRow,
	WebhookStatus,
	WebhookStatuses,
	WebhookUrl,
	WebhookView,
}
