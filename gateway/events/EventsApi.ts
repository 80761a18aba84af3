// Replay of a tenant's event log under /v1/events (CONTRACT "Events"): in `seq` order, after a seq or since a time,
// optionally one type or a type prefix, cursor-paginated like every list. Any credential of the tenant may read it.
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { EventTypeFilter, TenantEvent } from "../../entities/event/EventModel.ts"
import { signedInRoutes } from "../RouteGroups.ts"

// --- [SCHEMA]

const SeqParam = Schema.NumberFromString.pipe(Schema.int(), Schema.between(0, Number.MAX_SAFE_INTEGER))

const EventListParams = Schema.Struct({
	after: Schema.optional(SeqParam).annotations({ description: "Only events whose seq is greater than this." }),
	since: Schema.optional(
		Schema.DateTimeUtc.annotations({ description: "Only events that occurred at or after this RFC 3339 time." }),
	),
	type: Schema.optional(EventTypeFilter).annotations({
		description: "One event type (`job.succeeded`) or every type under a prefix (`job.*`).",
	}),
	limit: Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)), {
		default: () => 20,
	}),
	cursor: Schema.optional(
		Schema.String.pipe(
			Schema.pattern(/^[0-9]{1,15}$/, { message: () => "cursor is the nextCursor of a previous page" }),
		),
	),
})

const EventList = Schema.Struct({ items: Schema.Array(TenantEvent), nextCursor: Schema.NullOr(Schema.String) })

// --- [PROTOCOL]

const EventsApi = signedInRoutes(
	HttpApiGroup.make("events").add(
		HttpApiEndpoint.get("list", "/events")
			.annotate(OpenApi.Summary, "Replay the tenant's events")
			.annotate(
				OpenApi.Description,
				"In `seq` order (per tenant, from 1, gapless, in commit order). `after` and `since` may be combined; `nextCursor` continues the same filter.",
			)
			.setUrlParams(EventListParams)
			.addSuccess(EventList),
	),
)

// --- [EXPORT]

export { EventsApi }
