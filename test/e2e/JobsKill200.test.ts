// Job durability at scale (JobsDurability.test.ts does 50): two runners and a gateway, a slow local receiver (200
// after ~1 s), 200 `http.call` jobs submitted in one request, and one runner killed with -9 while deliveries are in
// flight. Every job must reach a final state (all `succeeded`) within 60 s of the kill, none lost; the receiver sees
// only the 200 job ids as Idempotency-Keys, each answered 200 at least once, and a key delivered more than once always
// carries the same job's body (a repeat of one job, never another job's work under its key).
import { Option, Schema } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type Managed, sleep, stop, stopAll, waitFor } from "../fixtures/Processes.ts"
import { startCluster } from "../fixtures/RunnerCluster.ts"

// --- [CONSTANTS]

const jobCount = 200
const batchSize = 25
const answerDelayMs = 1_000
const terminalBudgetMs = 60_000
const requestTimeoutMs = 15_000
const Final = ["succeeded", "failed", "dead_lettered", "cancelled"]
const encodeJson = Schema.encodeSync(Schema.parseJson())
const DeliveryBody = Schema.parseJson(Schema.Struct({ index: Schema.Number }))

// --- [TYPES]

type JobBody = { readonly id: string; readonly status: string; readonly attempts: number }

// --- [STATE]

let cluster: Awaited<ReturnType<typeof startCluster>> | undefined
let receiver: Server | undefined
let receiverUrl = ""
let tenantId = ""
// Every delivery that reached the receiver: its key and the job index in its body.
const deliveries: Array<{ readonly key: string; readonly index: number }> = []
const answered = new Map<string, number>()

// --- [FUNCTIONS]

const gatewayUrl = () => cluster?.gateways[0]?.url ?? ""

const api = (path: string, init: RequestInit = {}, timeoutMs = requestTimeoutMs) =>
	fetch(`${gatewayUrl()}${path}`, {
		...init,
		headers: {
			authorization: `Bearer ${cluster?.adminToken}`,
			"content-type": "application/json",
			...(tenantId === "" ? {} : { "x-app-id": tenantId }),
		},
		signal: AbortSignal.timeout(timeoutMs),
	})

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

const handle = (request: IncomingMessage, response: ServerResponse) => {
	const key = String(request.headers["idempotency-key"] ?? "")
	const chunks: Array<Buffer> = []
	request.on("data", (chunk: Buffer) => chunks.push(chunk))
	request.on("end", () => {
		const index = Schema.decodeUnknownOption(DeliveryBody)(Buffer.concat(chunks).toString("utf8")).pipe(
			Option.match({ onNone: () => -1, onSome: (delivered) => delivered.index }),
		)
		deliveries.push({ key, index })
		setTimeout(() => {
			const alive = !request.socket.destroyed && !response.destroyed
			return alive
				? response
						.once("finish", () => answered.set(key, (answered.get(key) ?? 0) + 1))
						.writeHead(200, { "content-type": "text/plain" })
						.end("ok")
				: undefined
		}, answerDelayMs)
	})
}

// --- [SUITE]

describe("e2e: 200 jobs and a runner killed with -9", () => {
	beforeAll(async () => {
		receiver = createServer(handle)
		await new Promise<void>((resolve) => receiver?.listen(0, "127.0.0.1", () => resolve()))
		const address = receiver.address()
		receiverUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
		cluster = await startCluster({
			name: "jobs200",
			runners: ["runner-a", "runner-b"],
			gateways: 1,
			env: {
				JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1",
				JOBS_HTTP_BACKOFF_BASE: "200 millis",
				JOBS_HTTP_BACKOFF_CAP: "2 seconds",
				LOG_LEVEL: "Warn",
			},
		})
		expect(cluster.migrated.code, cluster.migrated.output).toBe(0)
		expect(cluster.ready, cluster.output()).toBe(true)
		const tenantBody = encodeJson({ slug: `jobs200-${Date.now().toString(36)}`, name: "Jobs 200" })
		// The cluster may still be settling on a loaded machine: retried while it answers 503.
		let created = await api("/admin/v1/tenants", { method: "POST", body: tenantBody }, 30_000)
		const deadline = Date.now() + 60_000
		while (created.status === 503 && Date.now() < deadline) {
			await sleep(1_000)
			created = await api("/admin/v1/tenants", { method: "POST", body: tenantBody }, 30_000)
		}
		expect(created.status, `${await created.clone().text()}\n${cluster.output()}`).toBe(201)
		tenantId = ((await created.json()) as { id: string }).id
	}, 420_000)

	afterAll(async () => {
		await stopAll()
		receiver?.closeAllConnections()
		await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())))
		await cluster?.database.drop()
	}, 60_000)

	it("all 200 final within 60 s of the kill, none lost, repeats only under the same job's key", async () => {
		const submittedAt = Date.now()
		// Submitted in batches of 25, each job with a dedupe key: a batch answered 503 (the gateway's deadline on a
		// loaded machine) is sent again and returns the jobs it already created, never new ones.
		const batches = Array.from({ length: jobCount / batchSize }, (_, batch) =>
			Array.from({ length: batchSize }, (_, offset) => batch * batchSize + offset),
		)
		const submitBatch = async (indexes: ReadonlyArray<number>): Promise<Array<JobBody>> => {
			const response = await api(
				"/v1/jobs",
				{
					method: "POST",
					body: encodeJson(
						indexes.map((index) => ({
							type: "http.call",
							payload: { url: `${receiverUrl}/slow?n=${index}`, method: "POST", body: { index } },
							dedupeKey: `job-${index}`,
						})),
					),
				},
				60_000,
			).catch(() => undefined)
			return response?.status === 202
				? ((await response.json()) as Array<JobBody>)
				: (await sleep(1_000), submitBatch(indexes))
		}
		const body = (await Promise.all(batches.map(submitBatch))).flat()
		console.log(`[jobs-200] ${body.length} jobs accepted ${Date.now() - submittedAt} ms after the first submission`)
		expect(body).toHaveLength(jobCount)
		const ids = body.map((job) => job.id)
		expect(new Set(ids).size).toBe(jobCount)
		const indexOf = new Map(ids.map((id, index) => [id, index]))

		const inFlight = await waitFor(async () => deliveries.length >= 20, 30_000, 50)
		expect(inFlight, `${deliveries.length} deliveries started`).toBe(true)
		const victim = cluster?.runners.get("runner-a") as Managed
		const killedAt = Date.now()
		const before = { started: deliveries.length, answered: [...answered.values()].reduce((a, b) => a + b, 0) }
		await stop(victim, "SIGKILL")
		cluster?.runners.delete("runner-a")

		// Read from Postgres (the jobs table the API serves): 200 API reads at a time would measure the gateway's
		// queue on a loaded machine instead of the jobs.
		const statusRows = () =>
			(cluster as NonNullable<typeof cluster>)
				.query<{ id: string; status: string }>("SELECT id, status FROM jobs")
				.catch(() => [] as Array<{ id: string; status: string }>)
		const current = async (): Promise<Array<JobBody>> => {
			const rows = new Map((await statusRows()).map((row) => [row.id, row.status]))
			return ids.map((id) => ({ id, status: rows.get(id) ?? "missing", attempts: -1 }))
		}
		let jobs = await current()
		while (jobs.some((job) => !Final.includes(job.status)) && Date.now() < killedAt + terminalBudgetMs) {
			await sleep(1_000)
			jobs = await current()
		}
		// And the API agrees for a sample of them.
		const sampled = await Promise.all(ids.slice(0, 10).map(readJob))
		expect(sampled.map((job) => job.status)).toEqual(ids.slice(0, 10).map(() => "succeeded"))
		const pending = jobs.filter((job) => !Final.includes(job.status))
		const repeated = ids.filter((id) => deliveries.filter((delivery) => delivery.key === id).length > 1)
		console.log(
			`[jobs-200] kill -9 after ${killedAt - submittedAt} ms with ${before.started} deliveries started, ` +
				`${before.answered} answered; ${jobCount - pending.length} of ${jobCount} final ${Date.now() - killedAt} ms ` +
				`after the kill; ${deliveries.length} deliveries, ${repeated.length} keys delivered more than once`,
		)
		expect(
			pending.map((job) => `${job.id} ${job.status}`),
			cluster?.output(),
		).toEqual([])
		expect(jobs.filter((job) => job.status !== "succeeded").map((job) => `${job.id} ${job.status}`)).toEqual([])

		// The receiver's view: only job ids as keys, each answered 200, and each key always with its own job's body.
		expect(deliveries.filter((delivery) => !indexOf.has(delivery.key))).toEqual([])
		expect(ids.filter((id) => (answered.get(id) ?? 0) === 0)).toEqual([])
		expect(deliveries.filter((delivery) => indexOf.get(delivery.key) !== delivery.index)).toEqual([])

		const rows = await (cluster as NonNullable<typeof cluster>).query<{ status: string; count: number }>(
			"SELECT status, count(*)::int AS count FROM jobs GROUP BY status",
		)
		expect(rows).toEqual([{ status: "succeeded", count: jobCount }])
		expect(await (cluster as NonNullable<typeof cluster>).query("SELECT id FROM job_dlq")).toEqual([])
	}, 300_000)
})
