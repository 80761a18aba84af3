// Durable `http.call` jobs end to end against raw Postgres inserts. A stack of its own (fresh database, migration, one
// runner, one gateway) and an in-process node:http receiver that answers 200 at once and remembers when it first saw
// each job (the workflow sends `Idempotency-Key: <job id>`). A subject round submits BENCH_WORKFLOW_JOBS jobs with
// `POST /v1/jobs` (arrays of BENCH_WORKFLOW_BATCH, BENCH_WORKFLOW_IN_FLIGHT requests at a time), waits until the
// receiver saw every job and `GET /v1/jobs?status=succeeded` lists every job, and measures
// - starts/s: accepted jobs per second of the submit phase (first request sent → last answer received);
// - completions/s: jobs per second from the first request until the latest `finishedAt` of the round's jobs;
// - start-to-first-activity: per job, its batch's 202 answer → the receiver getting the job's request (the request of
//   the `deliver` activity, the second after `start`), under that load; and, after a 50-job warm-up, for 10 jobs
//   submitted one at a time on the otherwise idle stack.
// The baseline is 8 pg.Client connections inserting single rows into a scratch table of the same database.
import { randomUUID } from "node:crypto"
import http from "node:http"
import type { AddressInfo } from "node:net"
import { Schema } from "effect"
import pg from "pg"
import { freePort, run, testEncryptionKeys, waitFor } from "../test/fixtures/Processes.ts"
import { BenchSettings, closedLoop, fixed, interleave, median, metric, ratioLine } from "./Harness.ts"
import { database, httpOk, type Managed, ready, startScript } from "./Processes.ts"

// --- [CONSTANTS]

const PgConnections = 8
const WarmupJobs = 50
const WarmupPgMs = 1000
const IdleJobs = 10
const ReceiveTimeoutMs = 120_000
const SucceedTimeoutMs = 60_000
const PageLimit = 100

// --- [SCHEMA]

const SubmittedJobs = Schema.Array(Schema.Struct({ id: Schema.String }))
const JobPage = Schema.Struct({
	items: Schema.Array(Schema.Struct({ id: Schema.String, finishedAt: Schema.NullOr(Schema.String) })),
	nextCursor: Schema.NullOr(Schema.String),
})

const SubjectResult = Schema.Struct({
	jobs: Schema.Number,
	submitSeconds: Schema.Number,
	startsPerSecond: Schema.Number,
	receivedSeconds: Schema.Number,
	completedSeconds: Schema.Number,
	completionsPerSecond: Schema.Number,
	// Per job: its batch's answer → first request at the receiver, and its batch's request → the same.
	fromAnswerMs: Schema.Array(Schema.Number),
	fromRequestMs: Schema.Array(Schema.Number),
})
type SubjectResult = typeof SubjectResult.Type

// --- [FUNCTIONS]

const sortedOf = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)

// Nearest rank, like the harness.
const quantile = (ordered: ReadonlyArray<number>, q: number) =>
	ordered.length === 0 ? Number.NaN : (ordered[Math.min(ordered.length - 1, Math.ceil(q * ordered.length) - 1)] ?? 0)

// The receiver as the rounds see it: its port, each job's first arrival, the request count, and how to close it.
const receiverOf = (server: http.Server, seen: ReadonlyMap<string, number>, requests: () => number) => ({
	port: (server.address() as AddressInfo).port,
	seen,
	requests,
	close: () =>
		new Promise<void>((closed) => {
			server.closeAllConnections()
			server.close(() => closed())
		}),
})
type Receiver = ReturnType<typeof receiverOf>

// Answers every request 200 with an empty body as soon as its headers arrived; the first arrival per
// Idempotency-Key is kept (performance.now(), the same clock the submitter uses).
const startReceiver = () =>
	new Promise<Receiver>((resolve, reject) => {
		const seen = new Map<string, number>()
		let requests = 0
		const server = http.createServer((request, response) => {
			const at = performance.now()
			const key = request.headers["idempotency-key"]
			requests += 1
			typeof key === "string" && !seen.has(key) ? seen.set(key, at) : undefined
			response.writeHead(200, { "content-length": "0" })
			response.end()
			request.resume()
		})
		server.keepAliveTimeout = 60_000
		server.once("error", reject)
		server.listen(0, "127.0.0.1", () => resolve(receiverOf(server, seen, () => requests)))
	})

// 8 connections, each used by one closed-loop worker, inserting one row per statement.
const pgInserter = async (url: string, payload: string) => {
	const clients = await Promise.all(
		Array.from({ length: PgConnections }, async () => {
			const client = new pg.Client({ connectionString: url })
			await client.connect()
			return client
		}),
	)
	await clients[0]?.query("CREATE TABLE bench_insert (id uuid primary key, payload jsonb)")
	const idle = [...clients]
	const insert = () => {
		const client = idle.pop()
		return client === undefined
			? Promise.resolve(false)
			: client
					.query("INSERT INTO bench_insert (id, payload) VALUES ($1, $2::jsonb)", [randomUUID(), payload])
					.then(() => true)
					.finally(() => idle.push(client))
	}
	return {
		run: (durationMs: number) => closedLoop(insert, PgConnections, durationMs),
		close: () => Promise.all(clients.map((client) => client.end().catch(() => undefined))).then(() => undefined),
	}
}

const outputs = (stack: { readonly runner: Managed; readonly gatewayProcess: Managed }) =>
	`--- runner output:\n${stack.runner.output().slice(-3000)}\n--- gateway output:\n` +
	stack.gatewayProcess.output().slice(-3000)

// Fresh database, migration, one runner, one gateway (both allowed to call 127.0.0.1), one tenant.
const startStack = async (options: {
	readonly redisUrl: string
	readonly redisKeyPrefix: string
	readonly adminToken: string
}) => {
	const created = await database("bench_wf")
	const ports = { gateway: await freePort(), runner: await freePort() }
	const common = {
		DATABASE_URL: created.url,
		REDIS_URL: options.redisUrl,
		REDIS_KEY_PREFIX: options.redisKeyPrefix,
		ENCRYPTION_KEYS: testEncryptionKeys,
		ADMIN_TOKEN: options.adminToken,
		RUNNER_HOST: "127.0.0.1",
		RUNNER_PORT: String(ports.runner),
		JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1",
		LOG_LEVEL: "WARN",
	}
	const migration = await run("migrate", common)
	await (migration.code === 0
		? Promise.resolve()
		: Promise.reject(new Error(`migration exited ${migration.code}:\n${migration.output.slice(-3000)}`)))
	const runner = startScript("wf-runner", "runners/runner/main.ts", common, BenchSettings.childNodeArgs)
	const gatewayProcess = startScript(
		"wf-gateway",
		"gateway/main.ts",
		{
			...common,
			GATEWAY_HOST: "127.0.0.1",
			GATEWAY_PORT: String(ports.gateway),
			GATEWAY_TENANT_CACHE_TTL: "10 minutes",
		},
		BenchSettings.childNodeArgs,
	)
	const gateway = `http://127.0.0.1:${ports.gateway}`
	await ready(gatewayProcess, httpOk(`${gateway}/health/ready`), 90_000)
	const slug = `bench-wf-${Math.random().toString(36).slice(2, 10)}`
	const created201 = await waitFor(
		() =>
			fetch(`${gateway}/admin/v1/tenants`, {
				method: "POST",
				headers: { authorization: `Bearer ${options.adminToken}`, "content-type": "application/json" },
				body: `{"slug":"${slug}","name":"Bench workflow tenant"}`,
			}).then((response) => response.status === 201 || response.status === 409),
		60_000,
		500,
	)
	const headers: Record<string, string> = { "x-app-id": slug, authorization: `Bearer ${options.adminToken}` }
	const warm = created201 && (await waitFor(httpOk(`${gateway}/v1/tenant`, headers), 30_000))
	const stack = { gateway, databaseUrl: created.url, headers, runner, gatewayProcess }
	return warm
		? stack
		: Promise.reject(
				new Error(`workflow tenant ${created201 ? "not readable" : "not created"}:\n${outputs(stack)}`),
			)
}
type Stack = Awaited<ReturnType<typeof startStack>>

// Every succeeded job of the tenant (pages of 100, oldest first); id → finishedAt.
const succeededJobs = async (stack: Stack) => {
	const found = new Map<string, string | null>()
	let cursor: string | null = ""
	while (cursor !== null) {
		const query: string = cursor === "" ? "" : `&cursor=${encodeURIComponent(cursor)}`
		const response = await fetch(`${stack.gateway}/v1/jobs?status=succeeded&limit=${PageLimit}${query}`, {
			headers: stack.headers,
		})
		const page = await (response.status === 200
			? response.json().then(Schema.decodeUnknownSync(JobPage))
			: response.text().then((text) => Promise.reject(new Error(`GET /v1/jobs ${response.status}: ${text}`))))
		page.items.forEach((item) => found.set(item.id, item.finishedAt))
		cursor = page.nextCursor
	}
	return found
}

const subjectRound = async (stack: Stack, receiver: Receiver, jobs: number): Promise<SubjectResult> => {
	const batchSize = Math.min(1000, BenchSettings.workflowBatch)
	const url = `http://127.0.0.1:${receiver.port}/x`
	const one = `{"type":"http.call","payload":{"url":"${url}"}}`
	const sizes = Array.from({ length: Math.ceil(jobs / batchSize) }, (_, index) =>
		Math.min(batchSize, jobs - index * batchSize),
	)
	const submitted: Array<{ readonly id: string; readonly sentAt: number; readonly answeredAt: number }> = []
	let next = 0
	const startedWall = Date.now()
	const started = performance.now()
	const worker = async () => {
		while (next < sizes.length) {
			const size = sizes[next] ?? 0
			next += 1
			const sentAt = performance.now()
			const response = await fetch(`${stack.gateway}/v1/jobs`, {
				method: "POST",
				headers: { ...stack.headers, "content-type": "application/json" },
				body: `[${Array.from({ length: size }, () => one).join(",")}]`,
			})
			const answeredAt = performance.now()
			const accepted = await (response.status === 202
				? response.json().then(Schema.decodeUnknownSync(SubmittedJobs))
				: response
						.text()
						.then((text) =>
							Promise.reject(new Error(`POST /v1/jobs answered ${response.status}: ${text}`)),
						))
			accepted.forEach((job) => submitted.push({ id: job.id, sentAt, answeredAt }))
		}
	}
	await Promise.all(Array.from({ length: Math.max(1, BenchSettings.workflowInFlight) }, worker))
	const submitSeconds = (performance.now() - started) / 1000
	const ids = submitted.map((job) => job.id)
	const received = await waitFor(async () => ids.every((id) => receiver.seen.has(id)), ReceiveTimeoutMs, 10)
	await (received
		? Promise.resolve()
		: Promise.reject(
				new Error(
					`the receiver saw ${ids.filter((id) => receiver.seen.has(id)).length} of ${ids.length} jobs ` +
						`after ${ReceiveTimeoutMs / 1000} s:\n${outputs(stack)}`,
				),
			))
	const receivedAt = Math.max(...ids.map((id) => receiver.seen.get(id) ?? Number.NaN))
	let finished = new Map<string, string | null>()
	const succeeded = await waitFor(
		async () => {
			finished = await succeededJobs(stack)
			return ids.every((id) => typeof finished.get(id) === "string")
		},
		SucceedTimeoutMs,
		200,
	)
	await (succeeded
		? Promise.resolve()
		: Promise.reject(
				new Error(
					`${ids.filter((id) => finished.has(id)).length} of ${ids.length} jobs succeeded ` +
						`${SucceedTimeoutMs / 1000} s after the receiver saw all of them:\n${outputs(stack)}`,
				),
			))
	const completedSeconds = (Math.max(...ids.map((id) => Date.parse(finished.get(id) ?? ""))) - startedWall) / 1000
	return {
		jobs: ids.length,
		submitSeconds,
		startsPerSecond: ids.length / submitSeconds,
		receivedSeconds: (receivedAt - started) / 1000,
		completedSeconds,
		completionsPerSecond: ids.length / completedSeconds,
		fromAnswerMs: submitted.map((job) => (receiver.seen.get(job.id) ?? Number.NaN) - job.answeredAt),
		fromRequestMs: submitted.map((job) => (receiver.seen.get(job.id) ?? Number.NaN) - job.sentAt),
	}
}

// One job at a time on an otherwise idle stack: its 202 → the receiver getting its request, per job.
const idleStarts = async (stack: Stack, receiver: Receiver, count: number) => {
	const body = `[{"type":"http.call","payload":{"url":"http://127.0.0.1:${receiver.port}/x"}}]`
	const latencies: Array<number> = []
	while (latencies.length < count) {
		const response = await fetch(`${stack.gateway}/v1/jobs`, {
			method: "POST",
			headers: { ...stack.headers, "content-type": "application/json" },
			body,
		})
		const answeredAt = performance.now()
		const [job] = await (response.status === 202
			? response.json().then(Schema.decodeUnknownSync(SubmittedJobs))
			: response
					.text()
					.then((text) => Promise.reject(new Error(`POST /v1/jobs answered ${response.status}: ${text}`))))
		const id = job?.id ?? ""
		const seen = await waitFor(async () => receiver.seen.has(id), ReceiveTimeoutMs, 2)
		await (seen ? Promise.resolve() : Promise.reject(new Error(`idle job ${id} never reached the receiver`)))
		latencies.push((receiver.seen.get(id) ?? Number.NaN) - answeredAt)
	}
	return sortedOf(latencies)
}

// Returns the three report lines.
const workflowBench = async (options: {
	readonly redisUrl: string
	readonly redisKeyPrefix: string
	readonly adminToken: string
}) => {
	const receiver = await startReceiver()
	const stack = await startStack(options).catch((error: unknown) =>
		receiver.close().then(() => Promise.reject(error)),
	)
	const inserter = await pgInserter(
		stack.databaseUrl,
		`{"type":"http.call","payload":{"url":"http://127.0.0.1:${receiver.port}/x"}}`,
	)
	const jobs = BenchSettings.workflowJobs
	const pgMs = BenchSettings.workflowPgMs
	const subject: Array<SubjectResult> = []
	let idle: ReadonlyArray<number> = []
	const measure = async () => {
		const warm = await subjectRound(stack, receiver, WarmupJobs)
		console.error(
			`workflow bench: warm-up ${warm.jobs} jobs, submit ${fixed(warm.submitSeconds)} s, ` +
				`all received ${fixed(warm.receivedSeconds)} s, all succeeded ${fixed(warm.completedSeconds)} s`,
		)
		idle = await idleStarts(stack, receiver, IdleJobs)
		await inserter.run(WarmupPgMs)
		return interleave(BenchSettings.rounds, [
			{
				name: "workflow",
				run: () =>
					subjectRound(stack, receiver, jobs).then((result) => {
						console.error(
							`workflow bench: ${result.jobs} jobs, ${metric(result.startsPerSecond)} starts/s, ` +
								`${metric(result.completionsPerSecond)} completions/s`,
						)
						subject.push(result)
						return result.startsPerSecond
					}),
			},
			{
				name: "pg-insert",
				run: () =>
					inserter.run(pgMs).then((result) => {
						console.error(`workflow bench: pg ${metric(result.rate)} inserts/s (${result.failed} failed)`)
						return result.rate
					}),
			},
		])
	}
	const [, baseline = []] = await measure().finally(() => Promise.all([inserter.close(), receiver.close()]))
	const fromAnswer = sortedOf(subject.flatMap((result) => [...result.fromAnswerMs]))
	const fromRequest = sortedOf(subject.flatMap((result) => [...result.fromRequestMs]))
	const totalJobs = subject.reduce((total, result) => total + result.jobs, 0)
	const deliveries = receiver.requests()
	const batch = Math.min(1000, BenchSettings.workflowBatch)
	return [
		ratioLine({
			name: "workflow.starts-vs-pg-insert",
			unit: "starts/s",
			baselineUnit: "inserts/s",
			subject: subject.map((result) => result.startsPerSecond),
			baseline,
			target: 0.25,
			extra:
				`[${BenchSettings.rounds}x${jobs} jobs in arrays of ${batch}, ${BenchSettings.workflowInFlight} ` +
				`requests in flight, submit phase median ${fixed(median(subject.map((result) => result.submitSeconds)))} s; ` +
				`baseline ${PgConnections} conns x ${pgMs} ms]`,
		}),
		ratioLine({
			name: "workflow.completions-vs-pg-insert",
			unit: "completions/s",
			baselineUnit: "inserts/s",
			subject: subject.map((result) => result.completionsPerSecond),
			baseline,
			target: 0.15,
			extra:
				`[first submit -> receiver saw all: median ${fixed(median(subject.map((result) => result.receivedSeconds)))} s, ` +
				`-> last finishedAt: median ${fixed(median(subject.map((result) => result.completedSeconds)))} s; ` +
				`${deliveries} requests at the receiver for ${totalJobs + WarmupJobs + IdleJobs} jobs]`,
		}),
		`workflow.start-to-first-activity: p50=${fixed(quantile(fromAnswer, 0.5), 1)} ms ` +
			`p99=${fixed(quantile(fromAnswer, 0.99), 1)} ms [${totalJobs} jobs, from the 202 of the job's array; ` +
			`min ${fixed(fromAnswer[0] ?? Number.NaN, 1)} ms, max ${fixed(fromAnswer.at(-1) ?? Number.NaN, 1)} ms; ` +
			`from the array's request instead: p50 ${fixed(quantile(fromRequest, 0.5), 1)} ms, ` +
			`p99 ${fixed(quantile(fromRequest, 0.99), 1)} ms; idle stack, one job at a time: ` +
			`p50 ${fixed(quantile(idle, 0.5), 1)} ms, max ${fixed(idle.at(-1) ?? Number.NaN, 1)} ms (${idle.length} jobs)]`,
	]
}

// --- [EXPORT]

export { workflowBench }
