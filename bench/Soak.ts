// Soak (off unless SOAK_SECONDS > 0; `SOAK_SECONDS=600 BENCH_ONLY=soak npm run bench` for the 10-minute run): a stack
// of its own (fresh database, migration, two runners, two gateways, a local receiver) under mixed closed-loop load
// (tenant and admin reads, PATCH renames with Idempotency-Key, `http.call` jobs, broadcasts) for SOAK_SECONDS. Every
// child runs with an inspector: an event-loop delay histogram (perf_hooks) is installed in each after warm-up and read
// once a minute, and RSS is sampled every 5 s from /proc. Two lines: the RSS slope per process (least squares over the
// samples after warm-up, MB/min; goal < 1) and the event-loop delay p99 per process (worst minute, ms; goal < 100).
import { createServer } from "node:http"
import { Schema } from "effect"
import WebSocket from "ws"
import { freePort, run, testEncryptionKeys, waitFor } from "../test/fixtures/Processes.ts"
import { sleep } from "./Harness.ts"
import { InspectArg, rssBytes } from "./ProcessStats.ts"
import { database, httpOk, type Managed, ready, runnerRegistered, startScript } from "./Processes.ts"

// --- [CONSTANTS]

const SoakNames = ["soak.rss-slope", "soak.loop-lag-p99"]
const WarmupMs = 30_000
const RssEveryMs = 5_000
const LagEveryMs = 60_000
const Workers = 8
const RssGoalMbPerMin = 1
const LagGoalMs = 100
const ListeningPattern = /Debugger listening on (ws:\/\/\S+)/

const InstallLag =
	"(() => { const h = process.getBuiltinModule('node:perf_hooks').monitorEventLoopDelay({ resolution: 10 }); " +
	"h.enable(); globalThis.__soakLag = h; return 'ok' })()"
const ReadLag =
	"(() => { const h = globalThis.__soakLag; const r = JSON.stringify({ p99: h.percentile(99) / 1e6, max: h.max / 1e6 }); " +
	"h.reset(); return r })()"

const encodeJson = Schema.encodeSync(Schema.parseJson())
const Reply = Schema.parseJson(
	Schema.Struct({
		id: Schema.optional(Schema.Number),
		result: Schema.optional(Schema.Struct({ result: Schema.Struct({ value: Schema.optional(Schema.Unknown) }) })),
	}),
)
const LagReading = Schema.parseJson(Schema.Struct({ p99: Schema.Number, max: Schema.Number }))

// --- [FUNCTIONS]

// Evaluates `expression` in the child through its inspector and returns the value (a string here).
const evaluate = (managed: Managed, expression: string) =>
	new Promise<string>((resolve, reject) => {
		const url = ListeningPattern.exec(managed.output())?.[1]
		return url === undefined
			? reject(new Error(`${managed.name}: no inspector URL in its output`))
			: (() => {
					const socket = new WebSocket(url, { perMessageDeflate: false })
					const timer = setTimeout(
						() => (socket.terminate(), reject(new Error("inspector timed out"))),
						30_000,
					)
					socket.once("error", (error) => (clearTimeout(timer), reject(error)))
					socket.on("message", (data) => {
						const reply = Schema.decodeUnknownSync(Reply)(data.toString())
						return reply.id === 1
							? (clearTimeout(timer), socket.close(), resolve(String(reply.result?.result.value ?? "")))
							: undefined
					})
					socket.once("open", () =>
						socket.send(
							encodeJson({
								id: 1,
								method: "Runtime.evaluate",
								params: { expression, returnByValue: true },
							}),
						),
					)
				})()
	})

// Least-squares slope of (minutes, MB) samples.
const slope = (samples: ReadonlyArray<{ readonly minutes: number; readonly mb: number }>) => {
	const count = samples.length
	const meanX = samples.reduce((sum, sample) => sum + sample.minutes, 0) / count
	const meanY = samples.reduce((sum, sample) => sum + sample.mb, 0) / count
	const numerator = samples.reduce((sum, sample) => sum + (sample.minutes - meanX) * (sample.mb - meanY), 0)
	const denominator = samples.reduce((sum, sample) => sum + (sample.minutes - meanX) ** 2, 0)
	return denominator === 0 ? Number.NaN : numerator / denominator
}

const soakBench = async (options: {
	readonly seconds: number
	readonly redisUrl: string
	readonly redisKeyPrefix: string
	readonly adminToken: string
}) => {
	const created = await database("soak")
	const receiver = createServer((request, response) => {
		request.resume()
		response.writeHead(200, { "content-type": "text/plain" }).end("ok")
	})
	const receiverPort = await freePort()
	await new Promise<void>((resolve) => receiver.listen(receiverPort, "127.0.0.1", () => resolve()))
	const common = {
		DATABASE_URL: created.url,
		REDIS_URL: options.redisUrl,
		REDIS_KEY_PREFIX: options.redisKeyPrefix,
		ENCRYPTION_KEYS: testEncryptionKeys,
		ADMIN_TOKEN: options.adminToken,
		JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1",
		LOG_LEVEL: "WARN",
	}
	const migration = await run("migrate", common)
	await (migration.code === 0 ? Promise.resolve() : Promise.reject(new Error(`migration exited ${migration.code}`)))
	const startRunner = async (name: string) =>
		startScript(
			name,
			"runners/runner/main.ts",
			{ ...common, RUNNER_HOST: "127.0.0.1", RUNNER_PORT: String(await freePort()) },
			[InspectArg],
		)
	const runnerA = await ready(await startRunner("soak-runner-a"), runnerRegistered(created.url), 90_000)
	const runnerB = await startRunner("soak-runner-b")
	const gatewayPorts = [await freePort(), await freePort()]
	const gateways = gatewayPorts.map((port, index) =>
		startScript(
			`soak-gateway-${index}`,
			"gateway/main.ts",
			{ ...common, GATEWAY_HOST: "127.0.0.1", GATEWAY_PORT: String(port) },
			[InspectArg],
		),
	)
	const urls = gatewayPorts.map((port) => `http://127.0.0.1:${port}`)
	await Promise.all(gateways.map((managed, index) => ready(managed, httpOk(`${urls[index]}/health/ready`), 90_000)))
	const processes = [runnerA, runnerB, ...gateways]
	const admin = { authorization: `Bearer ${options.adminToken}`, "content-type": "application/json" }
	const slug = `soak-${Math.random().toString(36).slice(2, 8)}`
	let tenantId = ""
	await waitFor(
		async () => {
			const response = await fetch(`${urls[0]}/admin/v1/tenants`, {
				method: "POST",
				headers: admin,
				body: encodeJson({ slug, name: "Soak" }),
			})
			tenantId = response.status === 201 ? ((await response.json()) as { id: string }).id : tenantId
			return tenantId !== ""
		},
		60_000,
		1_000,
	)
	const tenant = { ...admin, "x-app-id": slug }

	const statuses = new Map<number, number>()
	let running = true
	let version = 0
	const requestsOf = (round: number, url: string): [string, RequestInit] =>
		[
			[`${url}/v1/tenant`, { headers: { "x-app-id": slug } }] as [string, RequestInit],
			[`${url}/admin/v1/tenants/${tenantId}`, { headers: admin }] as [string, RequestInit],
			[`${url}/v1/jobs?limit=5`, { headers: tenant }] as [string, RequestInit],
			[
				`${url}/admin/v1/tenants/${tenantId}`,
				{
					method: "PATCH",
					headers: { ...admin, "idempotency-key": `soak-${(version += 1)}` },
					body: encodeJson({ name: `soak ${version}` }),
				},
			] as [string, RequestInit],
			[
				`${url}/v1/jobs`,
				{
					method: "POST",
					headers: tenant,
					body: encodeJson({
						type: "http.call",
						payload: { url: `http://127.0.0.1:${receiverPort}/${round}` },
					}),
				},
			] as [string, RequestInit],
			[
				`${url}/v1/channels/soak/broadcast`,
				{ method: "POST", headers: tenant, body: encodeJson({ payload: { round } }) },
			] as [string, RequestInit],
		][round % 6] as [string, RequestInit]
	const worker = async (index: number) => {
		let round = index
		while (running) {
			const [url, init] = requestsOf(round, urls[round % urls.length] as string)
			const status = await fetch(url, { ...init, signal: AbortSignal.timeout(20_000) }).then(
				async (response) => (await response.arrayBuffer(), response.status),
				() => 0,
			)
			statuses.set(status, (statuses.get(status) ?? 0) + 1)
			round += Workers
		}
	}
	const load = Promise.all(Array.from({ length: Workers }, (_, index) => worker(index)))

	await sleep(Math.min(WarmupMs, (options.seconds * 1000) / 4))
	await Promise.all(processes.map((managed) => evaluate(managed, InstallLag)))
	const startedAt = Date.now()
	const endAt = startedAt + options.seconds * 1000
	const rss = new Map<string, Array<{ minutes: number; mb: number }>>(processes.map((managed) => [managed.name, []]))
	const lag = new Map<string, Array<number>>(processes.map((managed) => [managed.name, []]))
	const readLag = () =>
		Promise.all(
			processes.map(async (managed) =>
				lag.get(managed.name)?.push(Schema.decodeUnknownSync(LagReading)(await evaluate(managed, ReadLag)).p99),
			),
		)
	let nextLag = startedAt + LagEveryMs
	while (Date.now() < endAt) {
		await Promise.all(
			processes.map(async (managed) =>
				rss.get(managed.name)?.push({
					minutes: (Date.now() - startedAt) / 60_000,
					mb: (await rssBytes(managed.child.pid)) / 1024 / 1024,
				}),
			),
		)
		const due = Date.now() >= nextLag
		nextLag = due ? nextLag + LagEveryMs : nextLag
		await (due ? readLag() : Promise.resolve())
		await sleep(RssEveryMs)
	}
	await readLag()
	running = false
	await load
	receiver.closeAllConnections()
	receiver.close()

	const slopes = processes.map((managed) => [managed.name, slope(rss.get(managed.name) ?? [])] as const)
	const lags = processes.map(
		(managed) => [managed.name, Math.max(...(lag.get(managed.name) ?? [Number.NaN]))] as const,
	)
	const answers = [...statuses.entries()].map(([status, count]) => `${status}×${count}`).join(" ")
	const worstSlope = Math.max(...slopes.map(([, value]) => value))
	const worstLag = Math.max(...lags.map(([, value]) => value))
	return [
		`soak.rss-slope: worst=${worstSlope.toFixed(2)} MB/min (${slopes.map(([name, value]) => `${name} ${value.toFixed(2)}`).join(", ")}) target<${RssGoalMbPerMin} ${worstSlope < RssGoalMbPerMin ? "met" : "MISSED"} [${options.seconds} s, answers ${answers}]`,
		`soak.loop-lag-p99: worst=${worstLag.toFixed(1)} ms (${lags.map(([name, value]) => `${name} ${value.toFixed(1)}`).join(", ")}) target<${LagGoalMs} ${worstLag < LagGoalMs ? "met" : "MISSED"} [worst minute per process]`,
	]
}

// --- [EXPORT]

export { soakBench, SoakNames }
