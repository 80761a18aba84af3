// The cluster's message backlog, read from its own storage (`cluster_messages`, the SQL message storage's default
// table): requests stored for entities that no runner has processed yet, and how long the oldest has waited. A
// message id is a Snowflake, so its creation time is in the id itself. Scheduled messages count once they are due.
import { Snowflake } from "@effect/cluster"
import { SqlClient } from "@effect/sql"
import { Effect, Metric } from "effect"
import { Metrics } from "./Metrics.ts"

// --- [CONSTANTS]

const RequestKind = 0

const backlog = Metric.gauge("cluster_message_backlog", {
	description: "Entity requests stored and not yet processed (due ones only)",
})

const oldestAge = Metric.gauge("cluster_message_backlog_oldest_age_seconds", {
	description: "Age of the oldest unprocessed entity request (0 when there is none)",
})

// --- [FUNCTIONS]

const refresh = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	const [row] = yield* sql<{ count: string; oldest: string | null }>`
		SELECT count(*)::text AS count, min(id)::text AS oldest FROM cluster_messages
		WHERE processed = false AND kind = ${RequestKind}
			AND (deliver_at IS NULL OR deliver_at <= ${Date.now()})`
	yield* Metric.set(backlog, Number(row?.count ?? 0))
	yield* Metric.set(
		oldestAge,
		row?.oldest == null
			? 0
			: Math.max(0, (Date.now() - Snowflake.timestamp(Snowflake.Snowflake(row.oldest))) / 1000),
	)
})

// --- [LAYERS]

const ClusterBacklogMetricsLive = Metrics.source(refresh)

// --- [EXPORT]

export { ClusterBacklogMetricsLive }
