// A runner's gauges of durable work, read from Postgres at each scrape: jobs (one workflow execution each) by status,
// and open DLQ entries by reason. Every status and reason is always present (0 when none), so a series does not
// vanish when its last job moves on.
import { SqlClient } from "@effect/sql"
import { Effect, Metric, MetricLabel } from "effect"
import { DlqReasons, JobStatuses } from "../entities/job/JobModel.ts"
import { Metrics } from "../platform/Metrics.ts"

// --- [CONSTANTS]

const executions = Metric.gauge("workflow_executions", {
	description: "Jobs (each one workflow execution) by status, all tenants",
})

const openDlq = Metric.gauge("dlq_open_entries", { description: "Open dead-letter entries by reason, all tenants" })

// --- [FUNCTIONS]

const refresh = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	const [jobs, dlq] = yield* Effect.all(
		[
			sql<{ status: string; count: string }>`SELECT status, count(*)::text AS count FROM jobs GROUP BY status`,
			sql<{ reason: string; count: string }>`
				SELECT error_reason AS reason, count(*)::text AS count FROM job_dlq WHERE status = 'open'
				GROUP BY error_reason`,
		],
		{ concurrency: 2 },
	)
	yield* Effect.forEach(JobStatuses, (status) =>
		Metric.set(
			Metric.taggedWithLabels(executions, [MetricLabel.make("status", status)]),
			Number(jobs.find((row) => row.status === status)?.count ?? 0),
		),
	)
	yield* Effect.forEach(DlqReasons, (reason) =>
		Metric.set(
			Metric.taggedWithLabels(openDlq, [MetricLabel.make("reason", reason)]),
			Number(dlq.find((row) => row.reason === reason)?.count ?? 0),
		),
	)
})

// --- [LAYERS]

const OperationalMetricsLive = Metrics.source(refresh)

// --- [EXPORT]

export { OperationalMetricsLive }
