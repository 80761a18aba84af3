// SQL access to `jobs` and `job_dlq` for the runners (seed G8). Every query is scoped by `app_id`. Each operation is
// one polymorphic function: given one row it answers for one, given an array it answers for all of them in one
// statement. Postgres not answering is StorageUnavailable; a row that does not decode is a defect.
import { SqlSchema } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Option, Schema } from "effect"
import type { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { DlqReason, DlqStatus, Job, JobDlq, JobOwner, JobStatus } from "./JobModel.ts"
import { KeysetPage } from "../KeysetPage.ts"
import { TenantId } from "../Tenancy.ts"

// --- [SCHEMA]

type JobStatus = typeof JobStatus.Type

const ListFilter = Schema.Struct({
	appId: Schema.NullOr(TenantId),
	owner: Schema.NullOr(JobOwner),
	status: Schema.NullOr(JobStatus),
	type: Schema.NullOr(Schema.String),
	limit: Schema.Int,
	after: Schema.NullOr(KeysetPage.CursorKey),
})

// --- [FUNCTIONS]

const classify = KeysetPage.settle

const jsonText = Schema.encodeSync(Schema.parseJson())

// --- [SERVICES]

class JobRepo extends Effect.Service<JobRepo>()("entities/JobRepo", {
	effect: Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		// The jsonb columns of a job row as parameters. Arrays go as JSON text: pg would send a JS array as a Postgres
		// array literal. A null result stays SQL NULL.
		const jsonColumns = <Row extends typeof Job.insert.Encoded | typeof Job.update.Encoded>(row: Row) => ({
			...row,
			payload: sql.json(row.payload),
			result: row.result === null ? null : jsonText(row.result),
			attemptLog: jsonText(row.attemptLog),
		})
		const insertMany = SqlSchema.findAll({
			Request: Schema.Array(Job.insert),
			Result: Job,
			execute: (rows) =>
				sql`INSERT INTO jobs ${sql.insert(rows.map(jsonColumns))}
					ON CONFLICT (app_id, owner, dedupe_key) WHERE dedupe_key IS NOT NULL DO NOTHING RETURNING *`,
		})
		const findMany = SqlSchema.findAll({
			Request: Schema.Struct({ appId: TenantId, ids: Schema.Array(Schema.UUID) }),
			Result: Job,
			execute: ({ appId, ids }) => sql`SELECT * FROM jobs WHERE app_id = ${appId} AND ${sql.in("id", ids)}`,
		})
		const findByDedupeKeys = SqlSchema.findAll({
			Request: Schema.Struct({ appId: TenantId, owner: JobOwner, keys: Schema.Array(Schema.String) }),
			Result: Job,
			execute: ({ appId, owner, keys }) =>
				sql`SELECT * FROM jobs WHERE app_id = ${appId} AND owner = ${owner} AND ${sql.in("dedupe_key", keys)}`,
		})
		const updateOne = SqlSchema.single({
			Request: Job.update,
			Result: Job,
			execute: (row) =>
				sql`UPDATE jobs SET ${sql.update(jsonColumns(row), ["id", "appId"])}
					WHERE id = ${row.id} AND app_id = ${row.appId} RETURNING *`,
		})
		const listJobs = SqlSchema.findAll({
			Request: ListFilter,
			Result: Job,
			execute: ({ appId, owner, status, type, limit, after }) => sql`
				SELECT * FROM jobs WHERE ${sql.and([
					...(appId === null ? [] : [sql`app_id = ${appId}`]),
					...(owner === null ? [] : [sql`owner = ${owner}`]),
					...(status === null ? [] : [sql`status = ${status}`]),
					...(type === null ? [] : [sql`type = ${type}`]),
					...(after === null ? [] : [sql`(created_at, id) > (${after[0]}::timestamptz, ${after[1]})`]),
				])} ORDER BY created_at, id LIMIT ${limit}`,
		})
		const countByStatus = SqlSchema.findAll({
			Request: Schema.Struct({ appId: TenantId, statuses: Schema.Array(JobStatus) }),
			Result: Schema.Struct({ status: JobStatus, count: Schema.Int }),
			execute: ({ appId, statuses }) =>
				sql`SELECT status, count(*)::int AS count FROM jobs
					WHERE app_id = ${appId} AND ${sql.in("status", statuses)} GROUP BY status`,
		})
		// One entry per job. A failure of another execution reopens the job's entry and counts one more failure; the
		// same execution reporting again (its dead-letter step re-ran) changes nothing but the details.
		const upsertDlqRow = SqlSchema.single({
			Request: JobDlq.insert,
			Result: JobDlq,
			execute: (row) =>
				sql`INSERT INTO job_dlq ${sql.insert({ ...row, attempts: sql.json(row.attempts) })}
					ON CONFLICT (app_id, job_id) DO UPDATE SET
						type = EXCLUDED.type,
						error_reason = EXCLUDED.error_reason,
						last_error = EXCLUDED.last_error,
						attempts = EXCLUDED.attempts,
						execution_id = EXCLUDED.execution_id,
						request_id = EXCLUDED.request_id,
						ip_address = EXCLUDED.ip_address,
						user_agent = EXCLUDED.user_agent,
						failures = job_dlq.failures
							+ CASE WHEN job_dlq.execution_id IS DISTINCT FROM EXCLUDED.execution_id THEN 1 ELSE 0 END,
						failed_at = CASE WHEN job_dlq.execution_id IS DISTINCT FROM EXCLUDED.execution_id
							THEN now() ELSE job_dlq.failed_at END,
						status = CASE WHEN job_dlq.execution_id IS DISTINCT FROM EXCLUDED.execution_id
							THEN 'open' ELSE job_dlq.status END,
						resolved_at = CASE WHEN job_dlq.execution_id IS DISTINCT FROM EXCLUDED.execution_id
							THEN NULL ELSE job_dlq.resolved_at END
					RETURNING *`,
		})
		const resolveDlqRow = SqlSchema.findAll({
			Request: Schema.Struct({ appId: TenantId, jobId: Schema.UUID }),
			Result: JobDlq,
			execute: ({ appId, jobId }) =>
				sql`UPDATE job_dlq SET status = 'resolved', resolved_at = now()
					WHERE app_id = ${appId} AND job_id = ${jobId} AND status <> 'resolved' RETURNING *`,
		})

		const listDlqRows = SqlSchema.findAll({
			Request: Schema.Struct({
				appId: Schema.NullOr(TenantId),
				reason: Schema.NullOr(DlqReason),
				status: Schema.NullOr(DlqStatus),
				type: Schema.NullOr(Schema.String),
				limit: Schema.Int,
				after: Schema.NullOr(KeysetPage.CursorKey),
			}),
			Result: JobDlq,
			execute: ({ appId, reason, status, type, limit, after }) => sql`
				SELECT * FROM job_dlq WHERE ${sql.and([
					...(appId === null ? [] : [sql`app_id = ${appId}`]),
					...(reason === null ? [] : [sql`error_reason = ${reason}`]),
					...(status === null ? [] : [sql`status = ${status}`]),
					...(type === null ? [] : [sql`type = ${type}`]),
					...(after === null ? [] : [sql`(created_at, id) > (${after[0]}::timestamptz, ${after[1]})`]),
				])} ORDER BY created_at, id LIMIT ${limit}`,
		})
		const findDlqRow = SqlSchema.findOne({
			Request: Schema.UUID,
			Result: JobDlq,
			execute: (id) => sql`SELECT * FROM job_dlq WHERE id = ${id}`,
		})
		const markDlqRow = SqlSchema.single({
			Request: Schema.UUID,
			Result: JobDlq,
			execute: (id) =>
				sql`UPDATE job_dlq SET retries = retries + 1, retried_at = now(),
					status = CASE WHEN status = 'resolved' THEN status ELSE 'retrying' END
					WHERE id = ${id} RETURNING *`,
		})
		const deleteDlqRow = SqlSchema.findOne({
			Request: Schema.UUID,
			Result: JobDlq,
			execute: (id) => sql`DELETE FROM job_dlq WHERE id = ${id} RETURNING *`,
		})

		// One row in, an Option out; an array in, an array out (rows whose dedupe key exists are skipped).
		function insert(row: typeof Job.insert.Type): Effect.Effect<Option.Option<Job>, StorageUnavailable>
		function insert(
			rows: ReadonlyArray<typeof Job.insert.Type>,
		): Effect.Effect<ReadonlyArray<Job>, StorageUnavailable>
		function insert(input: typeof Job.insert.Type | ReadonlyArray<typeof Job.insert.Type>) {
			return Array.isArray(input)
				? classify(insertMany(input))
				: classify(insertMany([input as typeof Job.insert.Type])).pipe(
						Effect.map((rows) => Option.fromNullable(rows[0])),
					)
		}

		function find(appId: TenantId, id: string): Effect.Effect<Option.Option<Job>, StorageUnavailable>
		function find(
			appId: TenantId,
			ids: ReadonlyArray<string>,
		): Effect.Effect<ReadonlyArray<Job>, StorageUnavailable>
		function find(appId: TenantId, input: string | ReadonlyArray<string>) {
			return typeof input === "string"
				? classify(findMany({ appId, ids: [input] })).pipe(Effect.map((rows) => Option.fromNullable(rows[0])))
				: classify(findMany({ appId, ids: input }))
		}

		// The dedup check: the job of this owner already holding a dedupe key, if any (keys are scoped by owner).
		function findByDedupeKey(
			appId: TenantId,
			owner: JobOwner,
			key: string,
		): Effect.Effect<Option.Option<Job>, StorageUnavailable>
		function findByDedupeKey(
			appId: TenantId,
			owner: JobOwner,
			keys: ReadonlyArray<string>,
		): Effect.Effect<ReadonlyArray<Job>, StorageUnavailable>
		function findByDedupeKey(appId: TenantId, owner: JobOwner, input: string | ReadonlyArray<string>) {
			return typeof input === "string"
				? classify(findByDedupeKeys({ appId, owner, keys: [input] })).pipe(
						Effect.map((rows) => Option.fromNullable(rows[0])),
					)
				: classify(findByDedupeKeys({ appId, owner, keys: input }))
		}

		// Status queries: how many of a tenant's jobs are in each of the given statuses.
		const countStatuses = (appId: TenantId, status: JobStatus | ReadonlyArray<JobStatus>) =>
			classify(countByStatus({ appId, statuses: typeof status === "string" ? [status] : status })).pipe(
				Effect.map((rows) => Object.fromEntries(rows.map((row) => [row.status, row.count]))),
			)

		const list = (filter: {
			readonly appId: TenantId | null
			readonly owner: JobOwner | null
			readonly status: JobStatus | null
			readonly type: string | null
			readonly limit: number
			readonly cursor: string | null
		}) =>
			Effect.flatMap(KeysetPage.after(filter.cursor), (after) =>
				classify(listJobs({ ...filter, limit: filter.limit + 1, after })),
			).pipe(Effect.flatMap((rows) => KeysetPage.page(rows, filter.limit)))

		return {
			insert,
			find,
			findByDedupeKey,
			countStatuses,
			list: (filter: Parameters<typeof list>[0]) => list(filter).pipe(Telemetry.span("JobRepo.list")),
			update: (row: typeof Job.update.Type) =>
				classify(updateOne(row).pipe(Effect.catchTag("NoSuchElementException", Effect.die))).pipe(
					Telemetry.span("JobRepo.update"),
				),
			// The job's DLQ entry after a failure of `row.executionId` (new, reopened, or as it was for the same execution).
			recordDlq: (row: typeof JobDlq.insert.Type) =>
				classify(upsertDlqRow(row).pipe(Effect.catchTag("NoSuchElementException", Effect.die))).pipe(
					Telemetry.span("JobRepo.recordDlq"),
				),
			// A run of the job succeeded: its entry, if it has one, is resolved.
			resolveDlq: (appId: TenantId, jobId: string) =>
				classify(resolveDlqRow({ appId, jobId })).pipe(Telemetry.span("JobRepo.resolveDlq")),
			listDlq: (filter: {
				readonly appId: TenantId | null
				readonly reason: typeof DlqReason.Type | null
				readonly status: typeof DlqStatus.Type | null
				readonly type: string | null
				readonly limit: number
				readonly cursor: string | null
			}) =>
				Effect.flatMap(KeysetPage.after(filter.cursor), (after) =>
					classify(listDlqRows({ ...filter, limit: filter.limit + 1, after })),
				).pipe(
					Effect.flatMap((rows) => KeysetPage.page(rows, filter.limit)),
					Telemetry.span("JobRepo.listDlq"),
				),
			findDlq: (id: string) => classify(findDlqRow(id)).pipe(Telemetry.span("JobRepo.findDlq")),
			markDlqRetried: (id: string) =>
				classify(markDlqRow(id).pipe(Effect.catchTag("NoSuchElementException", Effect.die))).pipe(
					Telemetry.span("JobRepo.markDlqRetried"),
				),
			deleteDlq: (id: string) => classify(deleteDlqRow(id)).pipe(Telemetry.span("JobRepo.deleteDlq")),
			withTransaction: sql.withTransaction,
		} as const
	}),
}) {}

// --- [EXPORT]

export { JobRepo }
