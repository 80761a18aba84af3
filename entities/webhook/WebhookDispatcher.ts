// Turns new events into deliveries. A cluster singleton (one runner at a time) polls every WEBHOOKS_DISPATCH_INTERVAL:
// for each active or failing endpoint it reads the tenant's events after the endpoint's cursor (`webhook_cursors`,
// set to the log's head when the endpoint was registered), in `seq` order, up to a batch; submits one `webhook.deliver`
// job per matching event, with a job id derived from (tenant, endpoint, seq) so that a repeat (a crash between the
// submission and the cursor update, a second runner taking over) reaches the same job and delivers nothing twice;
// then moves the cursor past the batch (unless a replay moved it meanwhile: a replay starts a new generation of the
// cursor, whose job ids are new, so replayed events are delivered again). Polling rather than LISTEN: the events branch's stream was not available.
import { Singleton } from "@effect/cluster"
import { SqlSchema } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Schedule, Schema } from "effect"
import { deterministicId } from "../../platform/DeterministicId.ts"
import { orStorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { JobEntity, SubmitJob } from "../job/JobProtocol.ts"
import { entityId, TenantId } from "../Tenancy.ts"
import { WebhooksConfig } from "./WebhookConfig.ts"
import { matches } from "./WebhookModel.ts"

// --- [CONSTANTS]

const Batch = 100

// --- [SCHEMA]

const Subscription = Schema.Struct({
	appId: TenantId,
	id: Schema.String,
	eventTypes: Schema.Array(Schema.String),
	lastSeq: Schema.NumberFromString,
	generation: Schema.Int,
})

const LoggedEvent = Schema.Struct({ seq: Schema.NumberFromString, type: Schema.String })

// --- [FUNCTIONS]

const dispatchOnce = Effect.gen(function* () {
	const sql = yield* PgClient.PgClient
	const jobs = yield* JobEntity.client
	const subscriptions = yield* SqlSchema.findAll({
		Request: Schema.Void,
		Result: Subscription,
		execute: () =>
			sql`SELECT e.app_id, e.id, e.event_types, c.last_seq::text AS last_seq, c.generation
				FROM webhook_endpoints e JOIN webhook_cursors c ON c.app_id = e.app_id AND c.endpoint_id = e.id
				WHERE e.status IN ('active', 'failing')
					AND EXISTS (SELECT 1 FROM events ev WHERE ev.app_id = e.app_id AND ev.seq > c.last_seq)`,
	})(undefined)
	const eventsAfter = SqlSchema.findAll({
		Request: Schema.Struct({ appId: Schema.String, after: Schema.Number }),
		Result: LoggedEvent,
		execute: ({ appId, after }) =>
			sql`SELECT seq::text AS seq, type FROM events WHERE app_id = ${appId} AND seq > ${after}
				ORDER BY seq LIMIT ${Batch}`,
	})
	yield* Effect.forEach(
		subscriptions,
		(endpoint) =>
			Effect.gen(function* () {
				const events = yield* eventsAfter({ appId: endpoint.appId, after: endpoint.lastSeq })
				yield* Effect.forEach(
					events.filter((event) => matches(endpoint.eventTypes, event.type)),
					(event) =>
						jobs(
							entityId(
								endpoint.appId,
								deterministicId(
									"webhook.deliver",
									endpoint.appId,
									endpoint.id,
									String(event.seq),
									...(endpoint.generation === 0 ? [] : [`replay-${endpoint.generation}`]),
								),
							),
						).Submit(
							new SubmitJob({
								type: "webhook.deliver",
								payload: { endpointId: endpoint.id, eventSeq: event.seq },
								dedupeKey: null,
							}),
						),
					{ concurrency: 8, discard: true },
				)
				const last = events.at(-1)
				yield* last === undefined
					? Effect.void
					: sql`UPDATE webhook_cursors SET last_seq = GREATEST(last_seq, ${last.seq})
							WHERE app_id = ${endpoint.appId} AND endpoint_id = ${endpoint.id}
								AND generation = ${endpoint.generation}`
			}),
		{ concurrency: 4, discard: true },
	)
}).pipe(orStorageUnavailable, Telemetry.span("WebhookDispatcher.dispatchOnce"))

// --- [LAYERS]

const WebhookDispatcherLive = Singleton.make(
	"webhook-dispatcher",
	Effect.gen(function* () {
		const config = yield* Effect.orDie(WebhooksConfig)
		yield* dispatchOnce.pipe(
			Effect.catchAllCause((cause) => Effect.logWarning("webhook dispatch failed; trying again", cause)),
			Effect.repeat(Schedule.spaced(config.dispatchInterval)),
		)
	}),
)

// --- [EXPORT]

export { WebhookDispatcherLive }
