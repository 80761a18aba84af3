// The maintenance crons across real processes: a fresh database, migrations, two runners and one gateway, with
// dlq.watch every 2 s, jobs.purge every 3 s and a retention of 4 s. Each cron run leaves an `events` row; two runners
// must never both run one period. The watcher retries a retryable DLQ entry once (JOBS_DLQ_AUTO_RETRIES=1) and never a
// NonRetryable one, and raises an alert; the purge deletes finished jobs older than the retention together with their
// workflow journal, and keeps young jobs and jobs with DLQ entries. The operator CLI is run against the same cluster.
import { Schema } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
	exited,
	freePort,
	httpReady,
	type Managed,
	run,
	sleep,
	start,
	stopAll,
	testEncryptionKeys,
	waitFor,
} from "../fixtures/Processes.ts"
import { query as queryDatabase, settled, withAppName } from "../fixtures/ShardLocks.ts"
import { createDatabase } from "../fixtures/TestDatabase.ts"

// --- [CONSTANTS]

const adminToken = `e2e-maintenance-admin-token-${crypto.randomUUID()}`
const suffix = Math.random().toString(36).slice(2, 8)
const watchPeriodSeconds = 2
const purgePeriodSeconds = 3
const retentionSeconds = 4
const observeMs = 12_000
const requestTimeoutMs = 10_000
const CliDeadlineMs = 90_000
// `failed` is passed through on the way to `dead_lettered`, so it is not final here.
const Final = ["succeeded", "dead_lettered", "cancelled"]
const encodeJson = Schema.encodeSync(Schema.parseJson())

// --- [TYPES]

type JobBody = {
	readonly id: string
	readonly status: string
	readonly executionId: string | null
	readonly finishedAt: string | null
}

type DlqRow = {
	readonly id: string
	readonly retries: number
	readonly error_reason: string
	readonly failures: number
	readonly status: string
	readonly failed_at: Date
	readonly created_at: Date
}

// --- [STATE]

let database: Awaited<ReturnType<typeof createDatabase>> | undefined
let receiver: Server | undefined
let receiverUrl = ""
let gatewayUrl = ""
let tenantId = ""
const runners = new Map<string, Managed>()
const deliveries: Array<{ readonly path: string; readonly tag: string }> = []
// Jobs submitted in beforeAll: `old` succeeded (to be purged), `failing` → 503, `gone` → 410, `cliGone` → 410 (for
// the CLI's drop).
let old: JobBody
let oldJournal = 0
let failing: JobBody
let gone: JobBody
let cliGone: JobBody

// --- [FUNCTIONS]

const query = <A>(text: string, params: Array<unknown> = []) => queryDatabase<A>(database?.url ?? "", text, params)

const baseEnv = (url: string): Record<string, string> => ({
	DATABASE_URL: url,
	REDIS_URL: "redis://127.0.0.1:6379",
	REDIS_KEY_PREFIX: `e2e-maintenance-${suffix}:`,
	ENCRYPTION_KEYS: testEncryptionKeys,
	ADMIN_TOKEN: adminToken,
	JOBS_DLQ_WATCH_CRON: `*/${watchPeriodSeconds} * * * * *`,
	JOBS_PURGE_CRON: `*/${purgePeriodSeconds} * * * * *`,
	JOBS_RETENTION: `${retentionSeconds} seconds`,
	JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1",
	JOBS_HTTP_MAX_ATTEMPTS: "2",
	JOBS_HTTP_BACKOFF_BASE: "100 millis",
	JOBS_DLQ_AUTO_RETRIES: "1",
	// A tenant deletion dies with a defect in its remove-rows step: it leaves no DLQ entry of its own.
	JOBS_FAULT_INJECTION: "tenant.delete:remove-rows:defect",
	// Fault injection is refused outside tests.
	NODE_ENV: "test",
})

const handle = (request: IncomingMessage, response: ServerResponse) => {
	const url = new URL(request.url ?? "/", "http://receiver")
	deliveries.push({ path: url.pathname, tag: url.searchParams.get("tag") ?? "" })
	request.resume()
	const status = url.pathname === "/ok" ? 200 : url.pathname === "/fail" ? 503 : url.pathname === "/gone" ? 410 : 404
	response.writeHead(status, { "content-type": "text/plain" }).end(String(status))
}

const startRunner = async (name: string) => {
	const port = await freePort()
	const managed = start(name, "runner", {
		...baseEnv(withAppName(database?.url ?? "", name)),
		RUNNER_HOST: "127.0.0.1",
		RUNNER_PORT: String(port),
	})
	runners.set(name, managed)
	return managed
}

const runnerOutput = () => [...runners.values()].map((managed) => managed.output().slice(-4000)).join("\n")

const api = (path: string, init: RequestInit = {}) =>
	fetch(`${gatewayUrl}${path}`, {
		...init,
		headers: {
			authorization: `Bearer ${adminToken}`,
			"content-type": "application/json",
			...(tenantId === "" ? {} : { "x-app-id": tenantId }),
		},
		signal: AbortSignal.timeout(requestTimeoutMs),
	})

const submit = async (path: string, tag: string) => {
	const response = await api("/v1/jobs", {
		method: "POST",
		body: encodeJson({ type: "http.call", payload: { url: `${receiverUrl}${path}?tag=${tag}` } }),
	})
	const body = (await response.json()) as JobBody
	expect(response.status, String(encodeJson(body))).toBe(202)
	return body
}

const readJob = (id: string): Promise<JobBody> =>
	api(`/v1/jobs/${id}`)
		.then((res) => res.json() as Promise<JobBody>)
		.catch(() => ({ id, status: "unreachable", executionId: null, finishedAt: null }))

const settle = async (id: string, timeoutMs = 60_000) => {
	const deadline = Date.now() + timeoutMs
	let job = await readJob(id)
	while (!Final.includes(job.status) && Date.now() < deadline) {
		await sleep(200)
		job = await readJob(id)
	}
	return job
}

const dlqRows = (jobId: string) =>
	query<DlqRow>(
		"SELECT id, retries, error_reason, failures, status, failed_at, created_at FROM job_dlq WHERE job_id = $1 ORDER BY created_at",
		[jobId],
	)

const journalOf = (executionId: string) =>
	query<{ count: number }>(
		"SELECT count(*)::int AS count FROM cluster_messages WHERE entity_type = 'Workflow/HttpCall' AND entity_id = $1",
		[executionId],
	).then((rows) => rows[0]?.count ?? -1)

const eventCount = (type: string, since: Date) =>
	query<{ count: number }>("SELECT count(*)::int AS count FROM events WHERE type = $1 AND created_at > $2", [
		type,
		since,
	]).then((rows) => rows[0]?.count ?? 0)

// Periods (by the cron's period length) in which more than one run of the cron left its `events` row.
const doubleRuns = (type: string, periodSeconds: number) =>
	query<{ period: string; count: number; times: Array<Date> }>(
		`SELECT floor(extract(epoch FROM created_at) / $2)::text AS period, count(*)::int AS count,
			array_agg(created_at ORDER BY created_at) AS times
		FROM events WHERE type = $1 GROUP BY 1 HAVING count(*) > 1`,
		[type, periodSeconds],
	)

const databaseNow = () => query<{ now: Date }>("SELECT now() AS now").then((rows) => rows[0]?.now ?? new Date())

// One CLI process against the cluster; it must exit by itself (killed at the deadline, it fails the test).
const cli = async (args: Array<string>) => {
	const managed = start(
		`cli ${args.join(" ")}`,
		"cli",
		{
			...baseEnv(withAppName(database?.url ?? "", "cli")),
			RUNNER_PORT: String(await freePort()),
			LOG_LEVEL: "Warn",
		},
		args,
	)
	const deadline = setTimeout(() => managed.child.kill("SIGKILL"), CliDeadlineMs)
	const code = await exited(managed)
	clearTimeout(deadline)
	const result = { code, signal: managed.child.signalCode, output: managed.output() }
	expect({ signal: result.signal, hung: code === null }, result.output).toEqual({ signal: null, hung: false })
	return result
}

// --- [SUITE]

describe("e2e: maintenance crons", () => {
	beforeAll(async () => {
		receiver = createServer(handle)
		await new Promise<void>((resolve) => receiver?.listen(0, "127.0.0.1", () => resolve()))
		const address = receiver.address()
		receiverUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
		database = await createDatabase("e2e_maint")
		const migrated = await run("migrate", baseEnv(withAppName(database.url, "migrate")))
		expect(migrated.code, migrated.output).toBe(0)
		// The first runner creates @effect/cluster's own tables before the other members start: members starting
		// together on a fresh database race in that creation (a unique violation in pg_type kills one of them).
		const first = await startRunner("runner-a")
		const registered = await waitFor(
			() =>
				query<{ count: number }>("SELECT count(*)::int AS count FROM cluster_runners WHERE healthy").then(
					(rows) => (rows[0]?.count ?? 0) > 0,
				),
			90_000,
			500,
		)
		expect(registered, first.output()).toBe(true)
		await startRunner("runner-b")
		const gatewayPort = await freePort()
		gatewayUrl = `http://127.0.0.1:${gatewayPort}`
		const gateway = start("gateway", "gateway", {
			...baseEnv(withAppName(database.url, "gateway")),
			GATEWAY_HOST: "127.0.0.1",
			GATEWAY_PORT: String(gatewayPort),
		})
		const ready = await waitFor(httpReady(gatewayUrl), 90_000, 500)
		expect(ready, gateway.output()).toBe(true)
		// Both runners hold shards and every shard is held: the assignment has settled.
		const balanced = await waitFor(settled(database?.url ?? "", ["runner-a", "runner-b"]), 60_000, 500)
		expect(balanced, runnerOutput()).toBe(true)
		const created = await api("/admin/v1/tenants", {
			method: "POST",
			body: encodeJson({ slug: `maint-${suffix}`, name: "Maintenance" }),
		})
		expect(created.status).toBe(201)
		tenantId = ((await created.json()) as { id: string }).id
		const submitted = await Promise.all([
			submit("/ok", "old"),
			submit("/fail", "failing"),
			submit("/gone", "gone"),
			submit("/gone", "cli-gone"),
		])
		old = await settle(submitted[0].id)
		expect(old.status).toBe("succeeded")
		// Its journal, as it is before any purge could have removed it (the job finished less than the retention ago).
		oldJournal = await journalOf(old.executionId ?? "")
		const rest = await Promise.all(submitted.slice(1).map((job) => settle(job.id)))
		expect(rest.map((job) => job.status)).toEqual(["dead_lettered", "dead_lettered", "dead_lettered"])
		failing = rest[0] as JobBody
		gone = rest[1] as JobBody
		cliGone = rest[2] as JobBody
	}, 240_000)

	afterAll(async () => {
		await stopAll()
		receiver?.closeAllConnections()
		await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())))
		await database?.drop()
	}, 60_000)

	it("each cron runs at least 3 times in ~12 s and never twice in one period, with two runners", async () => {
		const from = await databaseNow()
		const observed = async () =>
			Date.now() - from.getTime() >= observeMs &&
			(await eventCount("dlq.watch", from)) >= 3 &&
			(await eventCount("jobs.purge", from)) >= 3
		expect(await waitFor(observed, observeMs + 30_000, 500), runnerOutput()).toBe(true)
		const counts = { watch: await eventCount("dlq.watch", from), purge: await eventCount("jobs.purge", from) }
		console.log(`[maintenance] in ~${observeMs} ms: ${counts.watch} dlq.watch and ${counts.purge} jobs.purge runs`)
		expect(await doubleRuns("dlq.watch", watchPeriodSeconds)).toEqual([])
		expect(await doubleRuns("jobs.purge", purgePeriodSeconds)).toEqual([])
		// Each purge event says what it did.
		const purges = await query<{ payload: { jobs: number; journal: number; cutoff: string } }>(
			"SELECT payload FROM events WHERE type = 'jobs.purge' ORDER BY id",
		)
		expect(
			purges.every((row) => typeof row.payload.jobs === "number" && typeof row.payload.journal === "number"),
		).toBe(true)
		expect(purges.every((row) => !Number.isNaN(Date.parse(row.payload.cutoff)))).toBe(true)
	}, 90_000)

	it("dlq.watch retries a MaxAttemptsExceeded entry once (auto retries 1), never a NonRetryable one, and raises an alert", async () => {
		// The job's one entry is retried (retries 1); the new run fails again and reopens it (failures 2).
		const retriedOnce = await waitFor(
			async () => {
				const rows = await dlqRows(failing.id)
				return (
					rows.length === 1 && rows[0]?.retries === 1 && rows[0]?.failures === 2 && rows[0]?.status === "open"
				)
			},
			60_000,
			500,
		)
		expect(retriedOnce, String(encodeJson(await dlqRows(failing.id)))).toBe(true)
		const reopened = (await dlqRows(failing.id))[0] as DlqRow
		// Three more watcher runs after the second failure: none of them retries it (auto retries: 1).
		expect(await waitFor(async () => (await eventCount("dlq.watch", reopened.failed_at)) >= 3, 30_000, 500)).toBe(
			true,
		)
		const rows = await dlqRows(failing.id)
		expect(rows.map((row) => [row.id, row.error_reason, row.retries, row.failures, row.status])).toEqual([
			[reopened.id, "MaxAttemptsExceeded", 1, 2, "open"],
		])
		expect((await readJob(failing.id)).status).toBe("dead_lettered")
		const runs = await query<{ count: number }>(
			"SELECT count(*)::int AS count FROM cluster_messages WHERE entity_type = 'Workflow/HttpCall' AND tag = 'run' AND payload::jsonb ->> 'jobId' = $1",
			[failing.id],
		)
		expect(runs).toEqual([{ count: 2 }])
		expect(deliveries.filter((delivery) => delivery.tag === "failing").length).toBeGreaterThanOrEqual(4)

		// The 410 entry was there for all of those runs and stays as it was.
		expect((await dlqRows(gone.id)).map((row) => [row.error_reason, row.retries, row.status])).toEqual([
			["NonRetryable", 0, "open"],
		])
		expect(deliveries.filter((delivery) => delivery.tag === "gone")).toHaveLength(1)

		const alerts = await query<{ payload: { arrived: number; open: number } }>(
			"SELECT payload FROM events WHERE type = 'dlq.alert' ORDER BY id",
		)
		expect(alerts.length).toBeGreaterThanOrEqual(1)
		expect(alerts.some((row) => row.payload.arrived > 0)).toBe(true)
		expect([...runners.values()].some((managed) => managed.output().includes("DLQ alert"))).toBe(true)
	}, 120_000)

	it("dlq.watch dead-letters a job whose workflow died with a defect (reason Defect); the job ends dead_lettered", async () => {
		const created = await api("/admin/v1/tenants", {
			method: "POST",
			body: encodeJson({ slug: `maint-defect-${suffix}`, name: "Defect" }),
		})
		expect(created.status).toBe(201)
		const doomed = ((await created.json()) as { id: string }).id
		const deleted = await api(`/admin/v1/tenants/${doomed}`, { method: "DELETE" })
		expect(deleted.status).toBe(202)
		const jobId = ((await deleted.json()) as { jobId: string }).jobId
		const jobRow = async () =>
			(
				await query<{ status: string; execution_id: string }>(
					"SELECT status, execution_id FROM jobs WHERE id = $1",
					[jobId],
				)
			)[0]
		const deadLettered = await waitFor(async () => (await jobRow())?.status === "dead_lettered", 60_000, 500)
		expect(deadLettered, `${String(encodeJson(await jobRow()))}\n${runnerOutput()}`).toBe(true)
		const entries = await query<{ error_reason: string; execution_id: string; last_error: string; type: string }>(
			"SELECT error_reason, execution_id, last_error, type FROM job_dlq WHERE job_id = $1",
			[jobId],
		)
		expect(entries).toEqual([
			expect.objectContaining({
				error_reason: "Defect",
				type: "tenant.delete",
				execution_id: (await jobRow())?.execution_id,
			}),
		])
		expect(entries[0]?.last_error).toContain("defect injected at remove-rows")
		// Its workflow failed; it is not retried (Defect is not a retryable reason).
		const checked = await databaseNow()
		expect(await waitFor(async () => (await eventCount("dlq.watch", checked)) >= 2, 30_000, 500)).toBe(true)
		expect((await dlqRows(jobId)).map((row) => [row.error_reason, row.retries])).toEqual([["Defect", 0]])
	}, 120_000)

	it("jobs.purge deletes a finished job older than the retention with its journal; keeps young jobs and jobs with DLQ entries", async () => {
		expect(oldJournal).toBeGreaterThan(0)
		const purged = await waitFor(
			async () =>
				(await query("SELECT id FROM jobs WHERE id = $1", [old.id])).length === 0 &&
				(await journalOf(old.executionId ?? "")) === 0,
			40_000,
			500,
		)
		expect(purged, `job ${old.id}: journal ${await journalOf(old.executionId ?? "")}`).toBe(true)
		// Neither the list nor GET shows it any more.
		const listed = (await api("/v1/jobs?status=succeeded&limit=100").then((res) => res.json())) as {
			items: Array<JobBody>
		}
		expect(listed.items.map((job) => job.id)).not.toContain(old.id)
		const afterPurge = await api(`/v1/jobs/${old.id}`)
		expect(afterPurge.status).toBe(404)
		expect(await afterPurge.json()).toMatchObject({ _tag: "JobNotFound" })
		expect(
			await query<{ count: number }>(
				"SELECT count(*)::int AS count FROM cluster_messages WHERE entity_type = 'Job' AND entity_id = $1",
				[`${tenantId}/${old.id}`],
			),
		).toEqual([{ count: 0 }])
		expect(
			(
				await query<{ jobs: number }>(
					"SELECT sum((payload ->> 'jobs')::int)::int AS jobs FROM events WHERE type = 'jobs.purge'",
				)
			)[0]?.jobs,
		).toBeGreaterThanOrEqual(1)

		// A job that just finished is still there, also after a purge run whose cutoff came before its finish.
		const young = await settle((await submit("/ok", "young")).id)
		expect(young.status).toBe("succeeded")
		const finishedAt = new Date(young.finishedAt ?? 0)
		expect(await query("SELECT id FROM jobs WHERE id = $1", [young.id])).toEqual([{ id: young.id }])
		const laterPurge = await waitFor(
			async () =>
				(
					await query(
						"SELECT id FROM events WHERE type = 'jobs.purge' AND created_at > $1 AND (payload ->> 'cutoff')::timestamptz < $1",
						[finishedAt],
					)
				).length > 0,
			20_000,
			250,
		)
		const check = await query<{ present: boolean; young: boolean }>(
			`SELECT EXISTS (SELECT 1 FROM jobs WHERE id = $1) AS present,
				now() < $2::timestamptz + make_interval(secs => $3) AS young`,
			[young.id, finishedAt, retentionSeconds],
		)
		expect(laterPurge).toBe(true)
		// Once it is older than the retention, it may rightly be gone; until then it must be there.
		expect(check[0]?.present || !check[0]?.young, String(encodeJson(check))).toBe(true)

		// Dead-lettered jobs with DLQ entries stay, with their journal, though purge runs saw them old enough.
		const cutoffs = await query<{ count: number }>(
			"SELECT count(*)::int AS count FROM events WHERE type = 'jobs.purge' AND (payload ->> 'cutoff')::timestamptz > $1",
			[new Date(gone.finishedAt ?? 0)],
		)
		expect(cutoffs[0]?.count).toBeGreaterThanOrEqual(1)
		const kept = await query<{ id: string; status: string }>(
			"SELECT id, status FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id",
			[[failing.id, gone.id]],
		)
		expect(kept).toEqual(
			[
				{ id: failing.id, status: "dead_lettered" },
				{ id: gone.id, status: "dead_lettered" },
			].sort((a, b) => (a.id < b.id ? -1 : 1)),
		)
		expect(await journalOf(gone.executionId ?? "")).toBeGreaterThan(0)
		expect(await journalOf(failing.executionId ?? "")).toBeGreaterThan(0)
	}, 120_000)

	it("the CLI lists and shows workflows, lists the DLQ, and drops an entry once (a second drop exits 1)", async () => {
		const listed = await cli(["workflows", "list"])
		expect(listed.code, listed.output).toBe(0)
		expect(listed.output).toMatch(/^EXECUTION\s+WORKFLOW\s+STATUS/m)
		expect(listed.output).toContain("HttpCall")

		const firstRun = await query<{ entity_id: string }>(
			"SELECT entity_id FROM cluster_messages WHERE entity_type = 'Workflow/HttpCall' AND tag = 'run' AND payload::jsonb ->> 'jobId' = $1 ORDER BY id LIMIT 1",
			[failing.id],
		)
		const executionId = firstRun[0]?.entity_id ?? ""
		expect(executionId).not.toBe("")
		const shown = await cli(["workflows", "show", executionId])
		expect(shown.code, shown.output).toBe(0)
		expect(shown.output).toContain(executionId)
		expect(shown.output).toContain("deliver")
		expect(shown.output).toContain("dead-letter")
		// Text output: the payload, the outcome, and each attempt's own error.
		expect(shown.output).toMatch(/^payload:\s+\{.*"url":/m)
		expect(shown.output).toMatch(/^result:\s+failed: /m)
		expect(shown.output).toContain("503 from the destination")

		const dlq = await cli(["dlq", "list"])
		expect(dlq.code, dlq.output).toBe(0)
		expect(dlq.output).toContain("MaxAttemptsExceeded")
		expect(dlq.output).toContain("NonRetryable")

		const entry = (await dlqRows(cliGone.id))[0]
		expect(entry).toBeDefined()
		const dropped = await cli(["dlq", "drop", entry?.id ?? ""])
		expect(dropped.code, dropped.output).toBe(0)
		expect(dropped.output).toContain(entry?.id ?? "")
		expect(await dlqRows(cliGone.id)).toEqual([])
		const again = await cli(["dlq", "drop", entry?.id ?? ""])
		expect(again.code, again.output).toBe(1)
		expect(again.output).toContain("DlqEntryNotFound")
	}, 300_000)

	it("over the whole run, neither cron ran twice in one period", async () => {
		expect(await doubleRuns("dlq.watch", watchPeriodSeconds)).toEqual([])
		expect(await doubleRuns("jobs.purge", purgePeriodSeconds)).toEqual([])
	})
})
