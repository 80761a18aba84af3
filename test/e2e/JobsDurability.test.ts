// Job durability across real processes: two runners and a gateway on one fresh database, and a slow local receiver
// (200 after ~1.5 s). 50 `http.call` jobs are submitted in one request; once deliveries are in flight one runner is
// killed with -9. Every job must still end `succeeded` within 60 s, each job's idempotency key must have been answered
// 200 at least once, and no delivery may carry a key that is not one of the 50 job ids (a re-run activity repeats the
// delivery with the same key: at-least-once, deduplicated by the destination).
import { Schema } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
	freePort,
	httpReady,
	type Managed,
	run,
	sleep,
	start,
	stop,
	stopAll,
	testEncryptionKeys,
	waitFor,
} from "../fixtures/Processes.ts"
import { query as queryDatabase, settled, withAppName } from "../fixtures/ShardLocks.ts"
import { createDatabase } from "../fixtures/TestDatabase.ts"

// --- [CONSTANTS]

const adminToken = `e2e-jobs-durability-admin-token-${crypto.randomUUID()}`
const suffix = Math.random().toString(36).slice(2, 8)
const redisPrefix = `e2e-jobs-${suffix}:`
const jobCount = 50
const answerDelayMs = 1_500
const terminalBudgetMs = 60_000
const requestTimeoutMs = 5_000
const Final = ["succeeded", "failed", "dead_lettered", "cancelled"]
const encodeJson = Schema.encodeSync(Schema.parseJson())

// --- [TYPES]

type JobBody = { readonly id: string; readonly status: string; readonly attempts: number }

// --- [STATE]

let database: Awaited<ReturnType<typeof createDatabase>> | undefined
let receiver: Server | undefined
let receiverUrl = ""
let gatewayUrl = ""
let tenantId = ""
const runners = new Map<string, Managed>()
// Every delivery that reached the receiver (its key), and the keys whose 200 was fully written to a live connection.
const started: Array<string> = []
const succeeded = new Map<string, number>()
let aborted = 0

// --- [FUNCTIONS]

const query = <A>(text: string, params: Array<unknown> = []) => queryDatabase<A>(database?.url ?? "", text, params)

const baseEnv = (url: string): Record<string, string> => ({
	DATABASE_URL: url,
	REDIS_URL: "redis://127.0.0.1:6379",
	REDIS_KEY_PREFIX: redisPrefix,
	ENCRYPTION_KEYS: testEncryptionKeys,
	ADMIN_TOKEN: adminToken,
	JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1",
	JOBS_HTTP_BACKOFF_BASE: "200 millis",
	JOBS_HTTP_BACKOFF_CAP: "2 seconds",
})

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

const api = (path: string, init: RequestInit = {}, timeoutMs = requestTimeoutMs) =>
	fetch(`${gatewayUrl}${path}`, {
		...init,
		headers: {
			authorization: `Bearer ${adminToken}`,
			"content-type": "application/json",
			...(tenantId === "" ? {} : { "x-app-id": tenantId }),
		},
		signal: AbortSignal.timeout(timeoutMs),
	})

// The job as the API shows it now; an unreachable entity (its runner just died) reads as status "unreachable". Any
// 2xx is read (the status code of GET is asserted in test/gateway/JobsApi.test.ts, not here).
const readJob = (id: string): Promise<JobBody> =>
	api(`/v1/jobs/${id}`)
		.then(async (res) =>
			res.ok
				? ((await res.json()) as JobBody)
				: { id, status: `http-${res.status}: ${(await res.text()).slice(0, 120)}`, attempts: -1 },
		)
		.catch((error: unknown) => ({
			id,
			status: `unreachable: ${error instanceof Error ? error.message : "failed"}`,
			attempts: -1,
		}))

// The slow receiver: answers 200 after answerDelayMs; a delivery whose connection is gone by then counts as aborted.
const handle = (request: IncomingMessage, response: ServerResponse) => {
	const key = String(request.headers["idempotency-key"] ?? "")
	started.push(key)
	request.resume()
	setTimeout(() => {
		const alive = !request.socket.destroyed && !response.destroyed
		aborted += alive ? 0 : 1
		return alive
			? response
					.once("finish", () => succeeded.set(key, (succeeded.get(key) ?? 0) + 1))
					.writeHead(200, { "content-type": "text/plain" })
					.end("ok")
			: undefined
	}, answerDelayMs)
}

// --- [SUITE]

describe("e2e: job durability", () => {
	beforeAll(async () => {
		receiver = createServer(handle)
		await new Promise<void>((resolve) => receiver?.listen(0, "127.0.0.1", () => resolve()))
		const address = receiver.address()
		receiverUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
		database = await createDatabase("e2e_jobs")
		const migrated = await run("migrate", baseEnv(withAppName(database.url, "migrate")))
		expect(migrated.code, migrated.output).toBe(0)
		await startRunner("runner-a")
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
		expect(balanced, [...runners.values()].map((managed) => managed.output()).join("\n")).toBe(true)
		const created = await api(
			"/admin/v1/tenants",
			{ method: "POST", body: encodeJson({ slug: `jobs-${suffix}`, name: "Durability" }) },
			30_000,
		)
		expect(created.status).toBe(201)
		tenantId = ((await created.json()) as { id: string }).id
	}, 180_000)

	afterAll(async () => {
		await stopAll()
		receiver?.closeAllConnections()
		await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())))
		await database?.drop()
	}, 60_000)

	it("50 jobs survive a runner killed with -9: all succeed within 60 s, each key delivered, no foreign key", async () => {
		const submitted = await api(
			"/v1/jobs",
			{
				method: "POST",
				body: encodeJson(
					Array.from({ length: jobCount }, (_, index) => ({
						type: "http.call",
						payload: { url: `${receiverUrl}/slow?n=${index}`, body: { index } },
					})),
				),
			},
			60_000,
		)
		const body = (await submitted.json()) as Array<JobBody>
		expect(submitted.status, String(encodeJson(body)).slice(0, 500)).toBe(202)
		expect(body).toHaveLength(jobCount)
		const ids = body.map((job) => job.id)
		expect(new Set(ids).size).toBe(jobCount)

		// Kill once deliveries are in flight (some started, and fewer than all have been answered).
		const inFlight = await waitFor(async () => started.length >= 5, 30_000, 50)
		expect(inFlight, `${started.length} deliveries started`).toBe(true)
		const victimName = "runner-a"
		const victim = runners.get(victimName) as Managed
		const killedAt = Date.now()
		const startedBeforeKill = started.length
		const answeredBeforeKill = [...succeeded.values()].reduce((sum, count) => sum + count, 0)
		await stop(victim, "SIGKILL")
		runners.delete(victimName)
		console.log(
			`[jobs-durability] kill -9 of ${victimName} with ${startedBeforeKill} deliveries started and ` +
				`${answeredBeforeKill} answered`,
		)

		// Every job reaches a final status within the budget (polled through the API).
		let jobs: Array<JobBody> = await Promise.all(ids.map(readJob))
		while (jobs.some((job) => !Final.includes(job.status)) && Date.now() < killedAt + terminalBudgetMs) {
			await sleep(500)
			jobs = await Promise.all(
				jobs.map((job) => (Final.includes(job.status) ? Promise.resolve(job) : readJob(job.id))),
			)
		}
		const pending = jobs.filter((job) => !Final.includes(job.status))
		console.log(
			`[jobs-durability] ${jobCount - pending.length} of ${jobCount} jobs final ${Date.now() - killedAt} ms after the kill` +
				(pending.length === 0
					? ""
					: `; pending: ${pending.map((job) => `${job.id} ${job.status}`).join("; ")}`),
		)
		expect(pending, [...runners.values()].map((managed) => managed.output().slice(-3000)).join("\n")).toEqual([])
		expect(jobs.filter((job) => job.status !== "succeeded")).toEqual([])

		// The receiver's view: every job's key was answered 200, and no delivery carried a key outside the 50 ids.
		const known = new Set(ids)
		expect(started.filter((key) => !known.has(key))).toEqual([])
		expect(ids.filter((id) => (succeeded.get(id) ?? 0) === 0)).toEqual([])
		const repeated = ids.filter((id) => (succeeded.get(id) ?? 0) > 1)
		console.log(
			`[jobs-durability] ${started.length} deliveries for ${jobCount} jobs: ${aborted} aborted by the kill, ` +
				`${repeated.length} keys answered 200 more than once` +
				(repeated.length === 0 ? "" : ` (${repeated.map((id) => `${id}×${succeeded.get(id)}`).join(", ")})`),
		)
		const rows = await query<{ status: string; count: number }>(
			`SELECT status, count(*)::int AS count FROM jobs GROUP BY status`,
		)
		expect(rows).toEqual([{ status: "succeeded", count: jobCount }])
		expect(await query("SELECT id FROM job_dlq")).toEqual([])
	}, 150_000)
})
