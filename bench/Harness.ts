// The benchmark harness: closed-loop load (N workers, each waiting for its answer before sending the next) for a fixed
// duration, interleaved rounds of a baseline and a subject (the order flips every round so neither always runs on a
// warmer machine), and the one-line report `name: ratio=<median> worst=<min> (subject …, baseline …)`.
import { Schema } from "effect"
import http from "node:http"

// --- [SCHEMA]

const LoopResult = Schema.Struct({
	ok: Schema.Number,
	failed: Schema.Number,
	seconds: Schema.Number,
	rate: Schema.Number,
	p50Ms: Schema.Number,
	p99Ms: Schema.Number,
})
type LoopResult = typeof LoopResult.Type

// --- [CONSTANTS]

const intFromEnv = (name: string, fallback: number, minimum: number) => {
	const parsed = Number.parseInt(process.env[name] ?? "", 10)
	return Math.max(minimum, Number.isFinite(parsed) ? parsed : fallback)
}

// BENCH_ROUNDS is clamped to 3: a median of fewer rounds says nothing about spread.
const BenchSettings = {
	rounds: intFromEnv("BENCH_ROUNDS", 3, 3),
	httpDurationMs: intFromEnv("BENCH_DURATION_MS", 3000, 250),
	httpConnections: intFromEnv("BENCH_CONNECTIONS", 32, 1),
	rpcDurationMs: intFromEnv("BENCH_RPC_DURATION_MS", 2000, 250),
	rpcInFlight: intFromEnv("BENCH_RPC_IN_FLIGHT", 50, 2),
	entities: intFromEnv("BENCH_ENTITIES", 10_000, 100),
	// workflow.*: jobs per subject round, jobs per POST /v1/jobs array (at most 1000), arrays in flight, and the
	// length of each pg-insert baseline round.
	workflowJobs: intFromEnv("BENCH_WORKFLOW_JOBS", 200, 10),
	workflowBatch: Math.min(1000, intFromEnv("BENCH_WORKFLOW_BATCH", 10, 1)),
	workflowInFlight: intFromEnv("BENCH_WORKFLOW_IN_FLIGHT", 4, 1),
	workflowPgMs: intFromEnv("BENCH_WORKFLOW_PG_MS", 2000, 250),
	// realtime.*: subscribed clients of the latency and delivery lines (split evenly over two gateways in the split
	// arm), messages per latency arm and round, the pause after each message was delivered everywhere, the publishing
	// phase of a delivery round, publish requests in flight during it, and the idle connections of the heap line.
	realtimeClients: intFromEnv("BENCH_RT_CLIENTS", 1000, 2),
	realtimeMessages: intFromEnv("BENCH_RT_MESSAGES", 30, 5),
	realtimeGapMs: intFromEnv("BENCH_RT_GAP_MS", 20, 0),
	realtimeBurstMs: intFromEnv("BENCH_RT_BURST_MS", 3000, 250),
	realtimePublishInFlight: intFromEnv("BENCH_RT_PUBLISH_IN_FLIGHT", 16, 1),
	realtimeIdleConnections: intFromEnv("BENCH_RT_IDLE_CONNECTIONS", 1000, 10),
	// When set, CPU profiles of gateway A and raw A over the delivery rounds are written there
	// (realtime-gateway-a.cpuprofile, realtime-raw-a.cpuprofile).
	realtimeProfileDir: process.env.BENCH_RT_PROFILE_DIR ?? "",
	// Comma-separated benchmark name prefixes to run (e.g. `gateway,rpc`); empty runs all.
	only: (process.env.BENCH_ONLY ?? "")
		.split(",")
		.map((name) => name.trim())
		.filter((name) => name.length > 0),
	// Extra node flags for the runner and gateway processes (e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
	childNodeArgs: (process.env.BENCH_CHILD_NODE_ARGS ?? "").split(" ").filter((arg) => arg.length > 0),
} as const

const selected = (name: string) =>
	BenchSettings.only.length === 0 || BenchSettings.only.some((prefix) => name.startsWith(prefix))

// --- [FUNCTIONS]

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

const sorted = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)

const median = (values: ReadonlyArray<number>) => {
	const ordered = sorted(values)
	const middle = Math.floor(ordered.length / 2)
	return ordered.length === 0
		? Number.NaN
		: ordered.length % 2 === 1
			? (ordered[middle] ?? Number.NaN)
			: ((ordered[middle - 1] ?? Number.NaN) + (ordered[middle] ?? Number.NaN)) / 2
}

// Nearest-rank quantile of an already sorted list.
const quantile = (ordered: ReadonlyArray<number>, q: number) =>
	ordered.length === 0 ? Number.NaN : (ordered[Math.min(ordered.length - 1, Math.ceil(q * ordered.length) - 1)] ?? 0)

// `inFlight` workers call `call` (with their index) back to back until `durationMs` has passed; a call counts when it
// resolves to true. The rate divides by the time until the last in-flight call came back.
const closedLoop = async (
	call: (worker: number) => Promise<boolean>,
	inFlight: number,
	durationMs: number,
): Promise<LoopResult> => {
	const latencies: Array<number> = []
	let failed = 0
	const started = performance.now()
	const deadline = started + durationMs
	const worker = async (index: number) => {
		while (performance.now() < deadline) {
			const sent = performance.now()
			const ok = await call(index).catch(() => false)
			ok ? latencies.push(performance.now() - sent) : (failed += 1)
		}
	}
	await Promise.all(Array.from({ length: inFlight }, (_, index) => worker(index)))
	const seconds = (performance.now() - started) / 1000
	const ordered = sorted(latencies)
	return {
		ok: ordered.length,
		failed,
		seconds,
		rate: ordered.length / seconds,
		p50Ms: quantile(ordered, 0.5),
		p99Ms: quantile(ordered, 0.99),
	}
}

// One GET over a keep-alive agent; resolves to whether the answer was a 200 (the body is read to the end).
const httpGet = (agent: http.Agent, url: URL, headers: Record<string, string>) =>
	new Promise<boolean>((resolve, reject) => {
		const request = http.request(
			{ host: url.hostname, port: url.port, path: `${url.pathname}${url.search}`, method: "GET", agent, headers },
			(response) => {
				response.on("error", reject)
				response.on("end", () => resolve(response.statusCode === 200))
				response.resume()
			},
		)
		request.on("error", reject)
		request.end()
	})

// HTTP load: `connections` keep-alive connections, each used by one closed-loop worker. With `workerHeaders`, worker i
// always sends `workerHeaders[i % length]` (e.g. one credential per worker), otherwise every worker sends `headers`.
const httpLoad = async (options: {
	readonly url: string
	readonly headers?: Record<string, string>
	readonly workerHeaders?: ReadonlyArray<Record<string, string>>
	readonly connections: number
	readonly durationMs: number
}) => {
	const agent = new http.Agent({
		keepAlive: true,
		maxSockets: options.connections,
		maxFreeSockets: options.connections,
	})
	const url = new URL(options.url)
	const shared = options.headers ?? {}
	const perWorker = options.workerHeaders ?? []
	const headersOf = (worker: number) =>
		perWorker.length === 0 ? shared : (perWorker[worker % perWorker.length] ?? shared)
	return closedLoop(
		(worker) => httpGet(agent, url, headersOf(worker)),
		options.connections,
		options.durationMs,
	).finally(() => agent.destroy())
}

// Runs every arm once per round, the order reversed on odd rounds (A B, B A, A B, …). Returns samples per arm.
const interleave = async <S>(
	rounds: number,
	arms: ReadonlyArray<{ readonly name: string; readonly run: () => Promise<S> }>,
) => {
	const samples = arms.map((arm) => ({ name: arm.name, run: arm.run, results: [] as Array<S> }))
	for (const round of Array.from({ length: rounds }, (_, index) => index)) {
		const order = round % 2 === 0 ? samples : [...samples].reverse()
		for (const arm of order) {
			arm.results.push(await arm.run())
		}
	}
	return samples.map((arm) => arm.results)
}

const fixed = (value: number, digits = 2) => (Number.isFinite(value) ? value.toFixed(digits) : "n/a")

// Two decimals, or two significant digits below 0.1 so a tiny ratio does not print as 0.00.
const ratioText = (value: number) =>
	!Number.isFinite(value) ? "n/a" : Math.abs(value) >= 0.1 ? value.toFixed(2) : value.toPrecision(2)

const metric = (value: number) =>
	!Number.isFinite(value) ? "n/a" : value >= 100 ? Math.round(value).toString() : value.toPrecision(3)

// `name: ratio=<median> worst=<min> (subject <median> <unit>, baseline <median> <unit>)[ target>=t met|MISSED][ extra]`.
// Ratios are per round (subject and baseline of the same round), so a slow round on both sides cancels out.
// `baselineUnit` when the two arms count different things (e.g. starts/s against inserts/s).
const ratioLine = (options: {
	readonly name: string
	readonly unit: string
	readonly baselineUnit?: string
	readonly subject: ReadonlyArray<number>
	readonly baseline: ReadonlyArray<number>
	readonly target?: number
	readonly extra?: string
}) => {
	const ratios = options.subject.map((value, index) => value / (options.baseline[index] ?? Number.NaN))
	const ratio = median(ratios)
	const target =
		options.target === undefined ? "" : ` target>=${options.target} ${ratio >= options.target ? "met" : "MISSED"}`
	return (
		`${options.name}: ratio=${ratioText(ratio)} worst=${ratioText(Math.min(...ratios))} ` +
		`(subject ${metric(median(options.subject))} ${options.unit}, ` +
		`baseline ${metric(median(options.baseline))} ${options.baselineUnit ?? options.unit})${target}` +
		(options.extra === undefined ? "" : ` ${options.extra}`)
	)
}

// --- [EXPORT]

export {
	BenchSettings,
	closedLoop,
	LoopResult,
	fixed,
	httpLoad,
	interleave,
	median,
	metric,
	ratioLine,
	selected,
	sleep,
}
