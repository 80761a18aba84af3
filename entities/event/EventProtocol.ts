// The read side of a tenant's event log: the TenantEvents entity (id = tenantId) answers pages of the log (the
// replay route) and the events after a seq (the realtime `events` channel's catch-up), so the gateway never reads
// the table itself. Reads only: events are written by the changes they record (EventLog.append).
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { EventPage, TenantEvent } from "./EventModel.ts"

// --- [PROTOCOL]

const TenantEvents = Entity.make("TenantEvents", [
	Rpc.make("List", {
		payload: {
			// Events numbered after this seq (0: from the first).
			after: Schema.Int.pipe(Schema.nonNegative()),
			// Events that occurred at or after this time.
			since: Schema.NullOr(Schema.DateTimeUtc),
			// An exact type or `prefix.*`.
			type: Schema.NullOr(Schema.String),
			limit: Schema.Int.pipe(Schema.between(1, 100)),
		},
		success: EventPage,
		error: StorageUnavailable,
	}),
	Rpc.make("After", {
		payload: { after: Schema.Int.pipe(Schema.nonNegative()), limit: Schema.Int.pipe(Schema.between(1, 1000)) },
		success: Schema.Array(TenantEvent),
		error: StorageUnavailable,
	}),
	// The last seq handed out (0 before the first event).
	Rpc.make("Head", { success: Schema.Int, error: StorageUnavailable }),
])

// --- [EXPORT]

export { TenantEvents }
