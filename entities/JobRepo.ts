// SQL access to `jobs` and `job_dlq` for the runners (seed G8). Every query is scoped by `app_id`. Each operation is
// one polymorphic function: given one row it answers for one, given an array it answers for all of them in one
// statement. Postgres not answering is StorageUnavailable; a row that does not decode is a defect.
import { SqlSchema } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Option, Schema } from "effect"
import type { StorageUnavailable } from "../platform/StorageUnavailable.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { DlqReason, Job, JobDlq, JobOwner, JobStatus } from "./JobModel.ts"
import { KeysetPage } from "./KeysetPage.ts"
import { TenantId } from "./Tenancy.ts"

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

// --- [SERVICES]

class JobRepo extends Effect.Service<JobRepo>()("entities/JobRepo", {
	effect: Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const insertMany = SqlSchema.findAll({
			Request: Schema.Array(Job.insert),
			Result: Job,
			execute: (rows) =>
				sql`INSERT INTO jobs ${sql.insert(rows.map((row) => ({ ...row, payload: sql.json(row.payload) })))}
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
				sql`UPDATE jobs SET ${sql.update({ ...row, payload: sql.json(row.payload) }, ["id", "appId"])}
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
		const insertDlqMany = SqlSchema.findAll({
			Request: Schema.Array(JobDlq.insert),
			Result: JobDlq,
			execute: (rows) =>
				sql`INSERT INTO job_dlq ${sql.insert(rows.map((row) => ({ ...row, attempts: sql.json(row.attempts) })))}
					ON CONFLICT (id) DO NOTHING RETURNING *`,
		})

		const listDlqRows = SqlSchema.findAll({
			Request: Schema.Struct({
				appId: Schema.NullOr(TenantId),
				reason: Schema.NullOr(DlqReason),
				type: Schema.NullOr(Schema.String),
				limit: Schema.Int,
				after: Schema.NullOr(KeysetPage.CursorKey),
			}),
			Result: JobDlq,
			execute: ({ appId, reason, type, limit, after }) => sql`
				SELECT * FROM job_dlq WHERE ${sql.and([
					...(appId === null ? [] : [sql`app_id = ${appId}`]),
					...(reason === null ? [] : [sql`error_reason = ${reason}`]),
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
				sql`UPDATE job_dlq SET retries = retries + 1, retried_at = now() WHERE id = ${id} RETURNING *`,
		})
		const countDlqRows = SqlSchema.single({
			Request: Schema.Struct({ appId: TenantId, jobId: Schema.UUID }),
			Result: Schema.Struct({ count: Schema.Int }),
			execute: ({ appId, jobId }) =>
				sql`SELECT count(*)::int AS count FROM job_dlq WHERE app_id = ${appId} AND job_id = ${jobId}`,
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

		// Entries carry deterministic ids: inserting one again (an activity that re-ran) is a no-op.
		function insertDlq(row: typeof JobDlq.insert.Type): Effect.Effect<Option.Option<JobDlq>, StorageUnavailable>
		function insertDlq(
			rows: ReadonlyArray<typeof JobDlq.insert.Type>,
		): Effect.Effect<ReadonlyArray<JobDlq>, StorageUnavailable>
		function insertDlq(input: typeof JobDlq.insert.Type | ReadonlyArray<typeof JobDlq.insert.Type>) {
			return Array.isArray(input)
				? classify(insertDlqMany(input))
				: classify(insertDlqMany([input as typeof JobDlq.insert.Type])).pipe(
						Effect.map((rows) => Option.fromNullable(rows[0])),
					)
		}

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
			insertDlq,
			listDlq: (filter: {
				readonly appId: TenantId | null
				readonly reason: typeof DlqReason.Type | null
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
			// How many times a job has failed into the DLQ: its next run number.
			countDlqForJob: (appId: TenantId, jobId: string) =>
				classify(
					countDlqRows({ appId, jobId }).pipe(Effect.catchTag("NoSuchElementException", Effect.die)),
				).pipe(
					Effect.map((row) => row.count),
					Telemetry.span("JobRepo.countDlqForJob"),
				),
			deleteDlq: (id: string) => classify(deleteDlqRow(id)).pipe(Telemetry.span("JobRepo.deleteDlq")),
			withTransaction: sql.withTransaction,
		} as const
	}),
}) {}

// --- [EXPORT]

export { JobRepo }
