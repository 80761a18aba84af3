// Cluster-wide periodic work, run by ClusterCron so that exactly one runner does each run, however many runners exist.
// jobs.purge (seed H1) deletes finished jobs older than JOBS_RETENTION, in batches (a succeeded job together with its
// resolved DLQ entry; a job whose entry is open or retrying stays). It then deletes the @effect/cluster journal of
// workflow executions and Job entities whose job row is gone, which the library never deletes itself; a journal a live
// job still relies on for idempotency is kept. dlq.watch (seed H2) first dead-letters, with reason Defect, jobs whose
// workflow died with a defect and so left no DLQ entry. It retries open entries whose reason their kind declares
// retryable (`dlqAutoRetry` in JobKinds.ts) while the job has failed at most JOBS_DLQ_AUTO_RETRIES times, and raises
// an alert (a warning log and an `events` row) when jobs failed into the DLQ since its last run or the open entries
// pass JOBS_DLQ_ALERT_THRESHOLD. Each run leaves an `events` row. events.purge deletes tenants' events older than
// their retention (the tenant setting `eventRetentionDays`, else EVENTS_RETENTION_DAYS) and platform rows older than
// the default; `event_sequences` is never touched, so a tenant's numbering goes on where it was.
import { ClusterCron, Snowflake } from "@effect/cluster"
import { PgClient } from "@effect/sql-pg"
import { Cron, DateTime, Duration, Effect, Layer, Schedule, Schema } from "effect"
import { DlqCommand, DlqEntry } from "../entities/job/DlqProtocol.ts"
import { TenantId } from "../entities/Tenancy.ts"
import { Events } from "../platform/Events.ts"
import { RequestMeta } from "../platform/RequestContext.ts"
import { orStorageUnavailable } from "../platform/StorageUnavailable.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { makeJobReporter } from "./JobReporter.ts"
import { JobKinds } from "./JobKinds.ts"
import { EventsConfig } from "./EventsConfig.ts"
import { JobsConfig } from "./JobsConfig.ts"

// --- [SCHEMA]

const Deleted = Schema.Array(Schema.Struct({ id: Schema.Unknown }))
const Retryable = Schema.Array(Schema.Struct({ id: Schema.String, failures: Schema.Int }))
const Counts = Schema.Array(Schema.Struct({ arrived: Schema.Int, open: Schema.Int }))
const Orphans = Schema.Array(
	Schema.Struct({
		execution_id: Schema.String,
		type: Schema.String,
		cause: Schema.NullOr(Schema.String),
		run: Schema.parseJson(
			Schema.Struct({ tenantId: TenantId, jobId: Schema.UUID, run: Schema.Int, meta: RequestMeta }),
		),
	}),
)

// --- [FUNCTIONS]

// Repeats a batched DELETE until a batch comes back short; answers how many rows went in all.
const drain = <E, R>(batch: number, deleteBatch: Effect.Effect<number, E, R>) =>
	Effect.iterate(
		{ total: 0, last: batch },
		{
			while: (state) => state.last >= batch,
			body: (state) => Effect.map(deleteBatch, (count) => ({ total: state.total + count, last: count })),
		},
	).pipe(Effect.map((state) => state.total))

const purge = Effect.gen(function* () {
	const config = yield* Effect.orDie(JobsConfig)
	const sql = (yield* PgClient.PgClient).withoutTransforms()
	const cutoff = DateTime.subtractDuration(yield* DateTime.now, Duration.decode(config.retention))
	const cutoffId = String(BigInt(DateTime.toEpochMillis(cutoff) - Snowflake.constEpochMillis) << 22n)
	const counted = <E, R>(statement: Effect.Effect<unknown, E, R>) =>
		statement.pipe(
			Effect.flatMap(Schema.decodeUnknown(Deleted)),
			Effect.map((rows) => rows.length),
			Effect.orDie,
		)
	// A resolved DLQ entry (a retry succeeded) goes with its job; an open or retrying one keeps the job.
	const resolvedEntries = yield* drain(
		config.purgeBatch,
		counted(sql`
			DELETE FROM job_dlq WHERE id IN (
				SELECT d.id FROM job_dlq d JOIN jobs j ON j.id = d.job_id AND j.app_id = d.app_id
				WHERE d.status = 'resolved' AND j.status = 'succeeded' AND j.finished_at < ${DateTime.toDate(cutoff)}
				LIMIT ${config.purgeBatch}
			) RETURNING id`),
	)
	const jobs = yield* drain(
		config.purgeBatch,
		counted(sql`
			DELETE FROM jobs WHERE id IN (
				SELECT id FROM jobs j
				WHERE j.finished_at < ${DateTime.toDate(cutoff)}
					AND j.status IN ('succeeded', 'failed', 'cancelled', 'dead_lettered')
					AND NOT EXISTS (SELECT 1 FROM job_dlq d WHERE d.job_id = j.id)
				LIMIT ${config.purgeBatch}
			) RETURNING id`),
	)
	// Completed workflow executions and processed Job entity messages whose job row no longer exists.
	const journal = yield* drain(
		config.purgeBatch,
		counted(sql`
			WITH gone AS (
				SELECT m.entity_type, m.entity_id FROM cluster_messages m
				JOIN cluster_replies r ON r.request_id = m.id AND r.kind = 0
				WHERE m.tag = 'run' AND m.entity_type LIKE 'Workflow/%' AND m.entity_type <> 'Workflow/-/DurableClock'
					AND m.id < ${cutoffId}::bigint
					AND r.payload::jsonb #>> '{value,_tag}' = 'Complete'
					AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.id::text = m.payload::jsonb ->> 'jobId')
				UNION
				SELECT m.entity_type, m.entity_id FROM cluster_messages m
				WHERE m.entity_type = 'Job' AND m.processed AND m.id < ${cutoffId}::bigint
					AND NOT EXISTS (SELECT 1 FROM jobs j WHERE j.app_id::text || '/' || j.id::text = m.entity_id)
				LIMIT ${config.purgeBatch}
			),
			doomed AS (
				SELECT id FROM cluster_messages WHERE (entity_type, entity_id) IN (SELECT entity_type, entity_id FROM gone)
				UNION
				-- The durable clocks (backoff waits) of those executions.
				SELECT id FROM cluster_messages
				WHERE entity_type = 'Workflow/-/DurableClock' AND entity_id IN (SELECT entity_id FROM gone)
			),
			replies AS (DELETE FROM cluster_replies WHERE request_id IN (SELECT id FROM doomed))
			DELETE FROM cluster_messages WHERE id IN (SELECT id FROM doomed) RETURNING id`),
	)
	// The crons' own processed run messages.
	const cron = yield* counted(sql`
		WITH doomed AS (
			SELECT id FROM cluster_messages
			WHERE entity_type LIKE 'ClusterCron/%' AND processed AND id < ${cutoffId}::bigint
			LIMIT ${config.purgeBatch}
		),
		replies AS (DELETE FROM cluster_replies WHERE request_id IN (SELECT id FROM doomed))
		DELETE FROM cluster_messages WHERE id IN (SELECT id FROM doomed) RETURNING id`)
	yield* Events.emit("jobs.purge", {
		jobs,
		resolvedEntries,
		journal: journal + cron,
		cutoff: DateTime.formatIso(cutoff),
	})
	yield* Effect.logInfo(
		`jobs.purge: ${jobs} jobs and ${journal + cron} journal messages older than ${DateTime.formatIso(cutoff)}`,
	)
}).pipe(orStorageUnavailable, Telemetry.span("Maintenance.purge"))

const purgeEvents = Effect.gen(function* () {
	const config = yield* Effect.orDie(EventsConfig)
	const batch = (yield* Effect.orDie(JobsConfig)).purgeBatch
	const sql = (yield* PgClient.PgClient).withoutTransforms()
	const counted = <E, R>(statement: Effect.Effect<unknown, E, R>) =>
		statement.pipe(
			Effect.flatMap(Schema.decodeUnknown(Deleted)),
			Effect.map((rows) => rows.length),
			Effect.orDie,
		)
	// A setting that is not a number in range (written before validation existed) counts as the default.
	const tenants = yield* drain(
		batch,
		counted(sql`
			DELETE FROM events WHERE id IN (
				SELECT e.id FROM events e JOIN apps a ON a.id = e.app_id
				WHERE e.seq IS NOT NULL AND e.created_at < now() - make_interval(days => CASE
					WHEN a.settings ->> 'eventRetentionDays' ~ '^[0-9]{1,4}$'
						THEN (a.settings ->> 'eventRetentionDays')::int
					ELSE ${config.retentionDays}::int END)
				LIMIT ${batch}
			) RETURNING id`),
	)
	const platform = yield* drain(
		batch,
		counted(sql`
			DELETE FROM events WHERE id IN (
				SELECT id FROM events
				WHERE app_id IS NULL AND seq IS NULL
					AND created_at < now() - make_interval(days => ${config.retentionDays}::int)
				LIMIT ${batch}
			) RETURNING id`),
	)
	yield* Effect.logInfo(`events.purge: ${tenants} tenant events and ${platform} platform events past retention`)
	return { tenants, platform }
}).pipe(orStorageUnavailable, Telemetry.span("Maintenance.purgeEvents"))

const watch = Effect.gen(function* () {
	const config = yield* Effect.orDie(JobsConfig)
	const sql = yield* PgClient.PgClient
	const entries = yield* DlqEntry.client
	// Jobs whose current execution finished failed without leaving a DLQ entry: the workflow died with a defect (or
	// before its dead-letter step). Each is dead-lettered with reason Defect, as its workflow would have done.
	const defects = yield* Effect.gen(function* () {
		const raw = sql.withoutTransforms()
		const orphans = yield* raw`
			SELECT j.execution_id, j.type, m.payload AS run, left(r.payload::jsonb #>> '{value,exit,cause}', 500) AS cause
			FROM jobs j
			JOIN cluster_messages m ON m.entity_id = j.execution_id AND m.tag = 'run'
				AND m.entity_type LIKE 'Workflow/%' AND m.entity_type <> 'Workflow/-/DurableClock'
			JOIN cluster_replies r ON r.request_id = m.id AND r.kind = 0
			WHERE j.status IN ('queued', 'running', 'failed')
				AND r.payload::jsonb #>> '{value,_tag}' = 'Complete'
				AND r.payload::jsonb #>> '{value,exit,_tag}' = 'Failure'
				AND NOT EXISTS (SELECT 1 FROM job_dlq d WHERE d.execution_id = j.execution_id)
			ORDER BY j.updated_at LIMIT 100`.pipe(Effect.flatMap(Schema.decodeUnknown(Orphans)), Effect.orDie)
		const deadLettered = yield* Effect.forEach(
			orphans,
			(orphan) =>
				makeJobReporter({ ...orphan.run, type: orphan.type, executionId: orphan.execution_id }).pipe(
					Effect.flatMap(({ deadLetter }) =>
						deadLetter("Defect", `the workflow died with a defect: ${orphan.cause ?? "unknown cause"}`, {}),
					),
					Effect.as(1),
					Effect.catchAllCause((cause) =>
						Effect.logWarning(`dlq.watch could not dead-letter ${orphan.execution_id}`, cause).pipe(
							Effect.as(0),
						),
					),
				),
			{ concurrency: 4 },
		)
		return deadLettered.reduce((sum, one) => sum + one, 0)
	})
	// One retry per failure: the request key names the failure it answers.
	const retryable = yield* sql`
		SELECT d.id, d.failures FROM job_dlq d
		WHERE d.status = 'open' AND (${sql.or(
			Object.values(JobKinds).map(
				(kind) => sql`(d.type = ${kind.kind} AND ${sql.in("d.error_reason", kind.dlqAutoRetry)})`,
			),
		)})
			AND d.failures <= ${config.dlqAutoRetries}
		ORDER BY d.failed_at LIMIT 100`.pipe(Effect.flatMap(Schema.decodeUnknown(Retryable)), Effect.orDie)
	const retried = yield* Effect.forEach(
		retryable,
		({ id, failures }) =>
			entries(id)
				.Retry(new DlqCommand({ requestKey: `dlq.watch:${id}:${failures}` }))
				.pipe(
					Effect.as(1),
					Effect.catchAll((error) =>
						Effect.logWarning(`dlq.watch could not retry ${id}`, error).pipe(Effect.as(0)),
					),
				),
		{ concurrency: 4 },
	)
	const [counts] = yield* sql`
		SELECT
			(SELECT count(*)::int FROM job_dlq WHERE failed_at > coalesce(
				(SELECT max(created_at) FROM events WHERE type = 'dlq.watch'), '-infinity'::timestamptz)) AS arrived,
			(SELECT count(*)::int FROM job_dlq WHERE status = 'open') AS open`.pipe(
		Effect.flatMap(Schema.decodeUnknown(Counts)),
		Effect.orDie,
	)
	const arrived = counts?.arrived ?? 0
	const open = counts?.open ?? 0
	yield* arrived > 0 || open >= config.dlqAlertThreshold
		? Effect.logWarning(`DLQ alert: ${arrived} new entries since the last check, ${open} open`).pipe(
				Effect.zipRight(Events.emit("dlq.alert", { arrived, open, threshold: config.dlqAlertThreshold })),
			)
		: Effect.void
	yield* Events.emit("dlq.watch", { retried: retried.reduce((sum, one) => sum + one, 0), defects, arrived, open })
}).pipe(orStorageUnavailable, Telemetry.span("Maintenance.watch"))

// --- [LAYERS]

const MaintenanceLive = Layer.unwrapEffect(
	Effect.map(Effect.orDie(Effect.all([JobsConfig, EventsConfig])), ([config, events]) =>
		Layer.mergeAll(
			ClusterCron.make({
				name: "events.purge",
				cron: Cron.unsafeParse(events.purgeCron),
				execute: purgeEvents.pipe(
					Effect.retry(Schedule.recurs(2)),
					Effect.catchAll((error) => Effect.logWarning("events.purge failed", error)),
				),
				skipIfOlderThan: "1 hour",
			}),
			ClusterCron.make({
				name: "jobs.purge",
				cron: Cron.unsafeParse(config.purgeCron),
				execute: purge.pipe(
					Effect.retry(Schedule.recurs(2)),
					Effect.catchAll((error) => Effect.logWarning("jobs.purge failed", error)),
				),
				skipIfOlderThan: "1 hour",
			}),
			ClusterCron.make({
				name: "dlq.watch",
				cron: Cron.unsafeParse(config.dlqWatchCron),
				execute: watch.pipe(Effect.catchAll((error) => Effect.logWarning("dlq.watch failed", error))),
				skipIfOlderThan: "10 minutes",
			}),
		),
	),
)

// --- [EXPORT]

export { drain, MaintenanceLive, purge, purgeEvents, watch }
