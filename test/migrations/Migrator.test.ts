import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { NodeContext } from "@effect/platform-node"
import { PgClient, PgMigrator } from "@effect/sql-pg"
import { Effect, Layer, Record, Redacted, String } from "effect"
import { ApiKeyStatuses, SessionEndReasons, SessionStatuses } from "../../entities/identity/IdentityModel.ts"
import { DlqReasons, DlqStatuses, JobStatuses } from "../../entities/job/JobModel.ts"
import { TenantStatuses } from "../../entities/tenant/TenantModel.ts"
import { MfaPolicies, UserVerificationPolicies } from "../../entities/tenant/RelyingPartyModel.ts"
import { UserStatuses } from "../../entities/identity/UserModel.ts"
import { migrate, Migrations } from "../../migrations/Migrator.ts"
import { AuditOperations } from "../../entities/AuditLog.ts"
import { TestDatabase } from "../fixtures/TestDatabase.ts"

// Applies the migrations up to and including `last`, as a database of that release has them.
// What a migrate run reports having applied when the database stood just before `first`: it and every later one, as
// `<id>_<name>` (the id without its leading zeros).
const appliedFrom = (first: string) => {
	const names = Object.keys(Migrations)
	return names.slice(names.indexOf(first)).map((name) => name.replace(/^0+/, ""))
}

const migrateThrough = (last: string) =>
	PgMigrator.run({
		loader: PgMigrator.fromRecord(Record.filter(Migrations, (_, name) => name <= last)),
	}).pipe(Effect.provide(NodeContext.layer))

const withDatabase = <A, E>(body: Effect.Effect<A, E, SqlClient.SqlClient | PgClient.PgClient>) =>
	Effect.scoped(
		Effect.flatMap(TestDatabase, (database) =>
			body.pipe(
				Effect.provide(
					PgClient.layer({
						url: Redacted.make(database.url),
						transformQueryNames: String.camelToSnake,
						transformResultNames: String.snakeToCamel,
					}).pipe(Layer.orDie),
				),
			),
		),
	)

// The CHECK's list as Postgres stores it: `CHECK ((status = ANY (ARRAY['a'::text, …])))`.
const checkValues = (definition: string) => [...definition.matchAll(/'([^']+)'::text/g)].map((match) => match[1])

const constraint = (name: string) =>
	Effect.flatMap(
		SqlClient.SqlClient,
		(sql) =>
			sql<{
				definition: string
			}>`SELECT pg_get_constraintdef(oid) AS definition FROM pg_constraint WHERE conname = ${name}`,
	).pipe(Effect.map((rows) => checkValues(rows[0]?.definition ?? "")))

describe("Migrator", () => {
	it.live(
		"applies on an empty database, then is a no-op; CHECK lists equal the Schema literals",
		() =>
			withDatabase(
				Effect.gen(function* () {
					const first = yield* migrate
					const second = yield* migrate
					expect(first.map(([id, name]) => `${id}_${name}`)).toEqual(appliedFrom("0001_initial"))
					expect(second).toEqual([])
					expect(yield* constraint("apps_status_check")).toEqual([...TenantStatuses])
					expect(yield* constraint("users_status_check")).toEqual([...UserStatuses])
					expect(yield* constraint("jobs_status_check")).toEqual([...JobStatuses])
					expect(yield* constraint("job_dlq_error_reason_check")).toEqual([...DlqReasons])
					expect(yield* constraint("job_dlq_status_check")).toEqual([...DlqStatuses])
					expect(yield* constraint("audit_logs_operation_check")).toEqual([...AuditOperations])
					expect(yield* constraint("sessions_status_check")).toEqual([...SessionStatuses])
					expect(yield* constraint("sessions_end_reason_check")).toEqual([...SessionEndReasons])
					expect(yield* constraint("api_keys_status_check")).toEqual([...ApiKeyStatuses])
					expect(yield* constraint("webauthn_relying_parties_mfa_check")).toEqual([...MfaPolicies])
					expect(yield* constraint("webauthn_relying_parties_user_verification_check")).toEqual([
						...UserVerificationPolicies,
					])
					expect(DlqReasons).toContain("ValidationFailed")
				}),
			),
		60_000,
	)

	it.live(
		"concurrent migrations apply each migration exactly once",
		() =>
			withDatabase(
				Effect.gen(function* () {
					const results = yield* Effect.all([migrate, migrate, migrate], { concurrency: "unbounded" })
					expect(results.flat().length).toBe(Object.keys(Migrations).length)
					const sql = yield* SqlClient.SqlClient
					const rows = yield* sql<{ count: number }>`SELECT count(*)::int AS count FROM effect_sql_migrations`
					expect(rows[0]?.count).toBe(Object.keys(Migrations).length)
				}),
			),
		60_000,
	)

	it.live(
		"an asset with a null hash and a DLQ row with ValidationFailed are accepted; bad values are refused",
		() =>
			withDatabase(
				Effect.gen(function* () {
					yield* migrate
					const sql = yield* SqlClient.SqlClient
					const appId = crypto.randomUUID()
					const jobId = crypto.randomUUID()
					yield* sql`INSERT INTO apps (id, slug, name, status) VALUES (${appId}, 'acme', 'Acme', 'active')`
					yield* sql`INSERT INTO assets (id, app_id, key, content_type, size, hash)
						VALUES (${crypto.randomUUID()}, ${appId}, 'a.txt', 'text/plain', 0, NULL)`
					yield* sql`INSERT INTO jobs (id, app_id, type, status, payload)
						VALUES (${jobId}, ${appId}, 'http.call', 'failed', '{}'::jsonb)`
					yield* sql`INSERT INTO job_dlq (id, app_id, job_id, type, error_reason)
						VALUES (${crypto.randomUUID()}, ${appId}, ${jobId}, 'http.call', 'ValidationFailed')`
					const badHash = yield* sql`INSERT INTO assets (id, app_id, key, content_type, size, hash)
						VALUES (${crypto.randomUUID()}, ${appId}, 'b.txt', 'text/plain', 0, 'not-a-hash')`.pipe(Effect.flip)
					const badReason = yield* sql`INSERT INTO job_dlq (id, app_id, job_id, type, error_reason)
						VALUES (${crypto.randomUUID()}, ${appId}, ${jobId}, 'http.call', 'Whatever')`.pipe(Effect.flip)
					expect(badHash._tag).toBe("SqlError")
					expect(badReason._tag).toBe("SqlError")
					const counts = yield* sql<{ assets: number; dlq: number }>`
						SELECT (SELECT count(*)::int FROM assets) AS assets, (SELECT count(*)::int FROM job_dlq) AS dlq`
					expect(counts[0]).toEqual({ assets: 1, dlq: 1 })
				}),
			),
		60_000,
	)

	it.live(
		"0005: jobs from before owners existed belong to the service principal; dedupe keys become unique per owner",
		() =>
			withDatabase(
				Effect.gen(function* () {
					yield* migrateThrough("0004_identity")
					const sql = yield* SqlClient.SqlClient
					const appId = crypto.randomUUID()
					const oldJob = crypto.randomUUID()
					yield* sql`INSERT INTO apps (id, slug, name, status) VALUES (${appId}, 'acme', 'Acme', 'active')`
					yield* sql`INSERT INTO jobs (id, app_id, type, status, payload, dedupe_key)
						VALUES (${oldJob}, ${appId}, 'http.call', 'queued', '{}'::jsonb, 'k')`
					expect((yield* migrate).map(([id, name]) => `${id}_${name}`)).toEqual(appliedFrom("0005_job_owner"))
					const rows = yield* sql<{ owner: string; ownerKeyId: string | null }>`
						SELECT owner, owner_key_id FROM jobs WHERE id = ${oldJob}`
					expect(rows).toEqual([{ owner: "service", ownerKeyId: null }])
					const owner = `user:${crypto.randomUUID()}`
					yield* sql`INSERT INTO jobs (id, app_id, owner, type, status, payload, dedupe_key)
						VALUES (${crypto.randomUUID()}, ${appId}, ${owner}, 'http.call', 'queued', '{}'::jsonb, 'k')`
					const sameOwner = yield* sql`INSERT INTO jobs (id, app_id, owner, type, status, payload, dedupe_key)
						VALUES (${crypto.randomUUID()}, ${appId}, ${owner}, 'http.call', 'queued', '{}'::jsonb, 'k')`.pipe(Effect.flip)
					expect(sameOwner._tag).toBe("SqlError")
				}),
			),
		60_000,
	)

	it.live(
		"0008: a job's several DLQ rows become one (the newest, with every failure and retry counted); its status follows the job",
		() =>
			withDatabase(
				Effect.gen(function* () {
					yield* migrateThrough("0007_dlq_defect")
					const sql = yield* SqlClient.SqlClient
					const appId = crypto.randomUUID()
					// retried twice and now succeeded; failed once, retried, running again; failed once, untouched.
					const [healed, retrying, failed] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()]
					const [first, second, third] = [crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()]
					yield* sql`INSERT INTO apps (id, slug, name, status) VALUES (${appId}, 'acme', 'Acme', 'active')`
					yield* sql`INSERT INTO jobs (id, app_id, type, status, payload, finished_at) VALUES
						(${healed}, ${appId}, 'http.call', 'succeeded', '{}'::jsonb, now()),
						(${retrying}, ${appId}, 'http.call', 'running', '{}'::jsonb, NULL),
						(${failed}, ${appId}, 'http.call', 'dead_lettered', '{}'::jsonb, now())`
					yield* sql`INSERT INTO job_dlq (id, app_id, job_id, type, error_reason, last_error, execution_id,
							retries, retried_at, created_at) VALUES
						(${first}, ${appId}, ${healed}, 'http.call', 'Timeout', 'first', 'e1', 1, now() - interval '50 minutes', now() - interval '1 hour'),
						(${second}, ${appId}, ${healed}, 'http.call', 'MaxAttemptsExceeded', 'second', 'e2', 1, now() - interval '20 minutes', now() - interval '30 minutes'),
						(${third}, ${appId}, ${retrying}, 'http.call', 'Timeout', 'only', 'e3', 1, now() - interval '5 minutes', now() - interval '10 minutes'),
						(${crypto.randomUUID()}, ${appId}, ${failed}, 'http.call', 'NonRetryable', '410', 'e4', 0, NULL, now() - interval '10 minutes')`
					expect((yield* migrate).map(([id, name]) => `${id}_${name}`)).toEqual(
						appliedFrom("0008_dlq_one_per_job"),
					)
					const rows = yield* sql<{
						id: string
						jobId: string
						errorReason: string
						lastError: string
						executionId: string
						failures: number
						retries: number
						status: string
						resolved: boolean
						firstCreated: boolean
					}>`SELECT id, job_id, error_reason, last_error, execution_id, failures, retries, status,
							resolved_at IS NOT NULL AS resolved, created_at < now() - interval '59 minutes' AS first_created
						FROM job_dlq ORDER BY last_error`
					expect(rows).toEqual([
						expect.objectContaining({
							jobId: failed,
							failures: 1,
							retries: 0,
							status: "open",
							resolved: false,
						}),
						expect.objectContaining({ jobId: retrying, id: third, failures: 1, status: "retrying" }),
						{
							id: second,
							jobId: healed,
							errorReason: "MaxAttemptsExceeded",
							lastError: "second",
							executionId: "e2",
							failures: 2,
							retries: 2,
							status: "resolved",
							resolved: true,
							firstCreated: true,
						},
					])
					// From now on a job has one entry.
					const duplicate = yield* sql`INSERT INTO job_dlq (id, app_id, job_id, type, error_reason)
						VALUES (${crypto.randomUUID()}, ${appId}, ${failed}, 'http.call', 'Timeout')`.pipe(Effect.flip)
					expect(duplicate._tag).toBe("SqlError")
					const jobRows = yield* sql<{ result: unknown; attemptLog: unknown }>`
						SELECT result, attempt_log FROM jobs WHERE id = ${failed}`
					expect(jobRows).toEqual([{ result: null, attemptLog: [] }])
				}),
			),
		60_000,
	)
})
