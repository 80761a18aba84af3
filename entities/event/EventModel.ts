// What a tenant's event log holds (CONTRACT "Events"): `{ id, seq, type, subject, data, correlationId, requestId,
// occurredAt }`, `seq` per tenant, gapless from 1 in commit order. The table columns behind it: `payload` is `data`,
// `created_at` is `occurredAt`. Types are `<domain>.<verb>` (`tenant.suspended`, `job.succeeded`); a filter names one
// type exactly or every type under a prefix (`job.*`).
import { Schema } from "effect"

// --- [CONSTANTS]

const NotificationChannel = "events"

// --- [SCHEMA]

const EventType = Schema.String.pipe(
	Schema.pattern(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+$/, {
		message: () => "an event type is lower-case dotted words such as job.succeeded",
	}),
	Schema.maxLength(100),
)

const EventTypeFilter = Schema.String.pipe(
	Schema.pattern(/^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*(\.\*)?$/, {
		message: () => "type is an event type (job.succeeded) or a prefix followed by .* (job.*)",
	}),
	Schema.maxLength(100),
)

// bigint columns arrive as strings from pg.
const Seq = Schema.Union(Schema.Int, Schema.NumberFromString.pipe(Schema.int()))

const TenantEvent = Schema.Struct({
	id: Schema.String,
	seq: Schema.Int.pipe(Schema.positive()),
	type: Schema.String,
	subject: Schema.NullOr(Schema.String),
	data: Schema.Unknown,
	correlationId: Schema.NullOr(Schema.String),
	requestId: Schema.NullOr(Schema.String),
	occurredAt: Schema.DateTimeUtc,
}).annotations({ identifier: "Event" })
type TenantEvent = typeof TenantEvent.Type

// A row as the table gives it (column names already camelCased by the client).
const EventRow = Schema.Struct({
	id: Schema.String,
	seq: Seq,
	type: Schema.String,
	subject: Schema.NullOr(Schema.String),
	payload: Schema.Unknown,
	correlationId: Schema.NullOr(Schema.String),
	requestId: Schema.NullOr(Schema.String),
	createdAt: Schema.DateTimeUtcFromDate,
})

const EventPage = Schema.Struct({ items: Schema.Array(TenantEvent), nextCursor: Schema.NullOr(Schema.String) })
type EventPage = typeof EventPage.Type

// `<appId>:<seq>`, the payload of a notification on NotificationChannel: ids only, the event is read from the table.
const EventNotice = Schema.TemplateLiteralParser(Schema.String, ":", Schema.NumberFromString)

// --- [EXPORT]

export { EventNotice, EventPage, EventRow, EventType, EventTypeFilter, NotificationChannel, Seq, TenantEvent }
