// Realtime (gateway/realtime/RealtimeSocket.ts, gateway/realtime/RealtimeHub.ts) against raw `ws` servers (bench/servers/RawWsHub.ts).
// A stack of its own: fresh database, migration, one runner and two gateways (A and B, all three with an inspector on
// a free port so their heap can be read after a full GC), one tenant, fixture sessions inserted straight into Postgres
// like bench/AuthBench.ts; and two RawWsHub processes (raw A and raw B) sharing one Redis channel.
//
// Clients (bench/RealtimeClients.ts, all in this process): with C = BENCH_RT_CLIENTS, gateway A holds C clients, the
// first half subscribed to `bench.split` and `bench.local`, the rest to `bench.local`; gateway B holds the other half
// of C subscribed to `bench.split`. So `bench.local` reaches C clients on one gateway and `bench.split` the same number
// split over two (half of them the very same sockets). Raw A and raw B get the same layout.
// - latency: one message at a time (the next one once every subscriber got it, then BENCH_RT_GAP_MS), published with
//   POST …/broadcast on gateway A (raw: on raw A, `via=local` for the one-server arm, `via=redis` for the split arm);
//   each client's receipt time minus the send time embedded in the payload, p50 and p99 over all receipts of a round.
// - deliveries: for BENCH_RT_BURST_MS, BENCH_RT_PUBLISH_IN_FLIGHT broadcast requests in flight on `bench.local`
//   (C clients on gateway A); frames received per second from the first request until the last frame arrived. The
//   baseline is raw A sending as many messages to its C `bench.local` clients, one synchronous send loop per message.
// - heap: gateway B, the runner and raw B read after a full GC before and after BENCH_RT_IDLE_CONNECTIONS idle
//   authenticated connections (no subscription) once their auth timers ran out.
import http from "node:http"
import path from "node:path"
import { Schema } from "effect"
import { Redis } from "ioredis"
import pg from "pg"
import { freePort, run, testEncryptionKeys, waitFor } from "../test/fixtures/Processes.ts"
import { createSessions } from "./AuthBench.ts"
import {
	BenchSettings,
	closedLoop,
	fixed,
	interleave,
	LoopResult,
	median,
	metric,
	ratioLine,
	selected,
	sleep,
} from "./Harness.ts"
import { cpuSeconds, heapAfterGc, InspectArg, profiled, rssBytes } from "./ProcessStats.ts"
import { database, httpOk, type Managed, ready, runnerRegistered, startScript } from "./Processes.ts"
import {
	type ClientPool,
	type ClientSpec,
	connectPool,
	ignore,
	makeReceiver,
	type Receiver,
} from "./RealtimeClients.ts"

// --- [CONSTANTS]

const Names = {
	latency: "realtime.redis-vs-local-latency",
	rawLatency: "realtime.raw-redis-vs-local-latency",
	deliveries: "realtime.deliveries-vs-raw-ws",
	heap: "realtime.heap-per-connection",
} as const
const RealtimeNames = [Names.latency, Names.rawLatency, Names.deliveries, Names.heap]

const LocalChannel = "bench.local"
const SplitChannel = "bench.split"
const ConnectConcurrency = 50
// The bench gateways' REALTIME_AUTH_TIMEOUT (the default): the heap is read once every connection's auth timer ran out.
const AuthTimeoutMs = 10_000
const MessageTimeoutMs = 5_000
const DrainTimeoutMs = 60_000
const WarmupMessages = 5
const WarmupBurstMs = 1_000
const WarmupConnections = 50
const SettleMs = 1_000
const PayloadPattern = /"arm":"([^"]+)","id":(\d+),"t":([0-9.eE+-]+)/

// --- [SCHEMA]

const LatencyResult = Schema.Struct({
	p50: Schema.Number,
	p99: Schema.Number,
	// p50 of the receipts on each pool (index = pool index).
	poolP50: Schema.Array(Schema.Number),
	// Medians over the messages of their first and of their last receipt (the fixed path, then the whole fan-out).
	firstP50: Schema.Number,
	lastP50: Schema.Number,
	received: Schema.Number,
	expected: Schema.Number,
	late: Schema.Number,
	rejected: Schema.Number,
})
type LatencyResult = typeof LatencyResult.Type

const DeliveryResult = Schema.Struct({
	rate: Schema.Number,
	messages: Schema.Number,
	received: Schema.Number,
	expected: Schema.Number,
	drainMs: Schema.Number,
	serverCpu: Schema.Number,
	// Frames received per CPU second of the sending server (gateway A or raw A).
	perServerCpuSecond: Schema.Number,
	clientCpu: Schema.Number,
	redisCpu: Schema.Number,
	publish: Schema.optional(LoopResult),
})
type DeliveryResult = typeof DeliveryResult.Type

// --- [FUNCTIONS]

const sortedOf = (values: ReadonlyArray<number>) => [...values].sort((a, b) => a - b)

// Nearest rank, like the harness.
const quantile = (ordered: ReadonlyArray<number>, q: number) =>
	ordered.length === 0 ? Number.NaN : (ordered[Math.min(ordered.length - 1, Math.ceil(q * ordered.length) - 1)] ?? 0)

const textOf = (data: Buffer | ArrayBuffer | Array<Buffer>) =>
	Array.isArray(data)
		? Buffer.concat(data).toString()
		: data instanceof ArrayBuffer
			? Buffer.from(data).toString()
			: data.toString()

const wsUrl = (url: string) => url.replace(/^http/, "ws")

const post = (agent: http.Agent, url: URL, headers: Record<string, string>, body: string) =>
	new Promise<number>((resolve, reject) => {
		const request = http.request(
			{
				host: url.hostname,
				port: url.port,
				path: `${url.pathname}${url.search}`,
				method: "POST",
				agent,
				headers: { ...headers, "content-type": "application/json", "content-length": Buffer.byteLength(body) },
			},
			(response) => {
				response.on("error", reject)
				response.on("end", () => resolve(response.statusCode ?? 0))
				response.resume()
			},
		)
		request.on("error", reject)
		request.end(body)
	})

const redisCpu = async (redis: Redis) => {
	const info = await redis.info("cpu")
	const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, "m").exec(info)?.[1] ?? Number.NaN)
	return field("used_cpu_sys") + field("used_cpu_user")
}

const processCpu = () => {
	const usage = process.cpuUsage()
	return (usage.user + usage.system) / 1_000_000
}

// CPU seconds of the server process, this process (the clients) and Redis around `work`; each as a share of one core
// over the wall time.
const withCpu = async <A>(redis: Redis, server: Managed, work: () => Promise<A>) => {
	const started = performance.now()
	const before = await Promise.all([cpuSeconds(server.child.pid), Promise.resolve(processCpu()), redisCpu(redis)])
	const result = await work()
	const after = await Promise.all([cpuSeconds(server.child.pid), Promise.resolve(processCpu()), redisCpu(redis)])
	const seconds = (performance.now() - started) / 1000
	const share = (index: number) => ((after[index] ?? Number.NaN) - (before[index] ?? Number.NaN)) / seconds
	return {
		result,
		server: share(0),
		clients: share(1),
		redis: share(2),
		serverSeconds: (after[0] ?? Number.NaN) - (before[0] ?? Number.NaN),
	}
}

const payload = (arm: string, id: number) => `{"payload":{"arm":"${arm}","id":${id},"t":${performance.now()}}}`

// Fresh database, migration, runner, gateways A and B (after the runner registered, see bench/main.ts), raw A and B,
// one tenant whose cache is warm on both gateways.
const startStack = async (options: {
	readonly redisUrl: string
	readonly redisKeyPrefix: string
	readonly adminToken: string
}) => {
	const created = await database("bench_rt")
	const ports = {
		runner: await freePort(),
		gatewayA: await freePort(),
		gatewayB: await freePort(),
		rawA: await freePort(),
		rawB: await freePort(),
	}
	const common = {
		DATABASE_URL: created.url,
		REDIS_URL: options.redisUrl,
		REDIS_KEY_PREFIX: options.redisKeyPrefix,
		ENCRYPTION_KEYS: testEncryptionKeys,
		ADMIN_TOKEN: options.adminToken,
		RUNNER_HOST: "127.0.0.1",
		RUNNER_PORT: String(ports.runner),
		LOG_LEVEL: "WARN",
	}
	const raw = (name: string, port: number) => ({
		url: `http://127.0.0.1:${port}`,
		managed: startScript(
			name,
			"bench/servers/RawWsHub.ts",
			{
				BENCH_PORT: String(port),
				BENCH_REDIS_URL: options.redisUrl,
				BENCH_REDIS_CHANNEL: `${options.redisKeyPrefix}raw-realtime`,
			},
			[InspectArg],
		),
	})
	const rawA = raw("raw-ws-a", ports.rawA)
	const rawB = raw("raw-ws-b", ports.rawB)
	const migration = await run("migrate", common)
	await (migration.code === 0
		? Promise.resolve()
		: Promise.reject(new Error(`migration exited ${migration.code}:\n${migration.output.slice(-3000)}`)))
	const runner = startScript("rt-runner", "runners/runner/main.ts", common, [
		InspectArg,
		...BenchSettings.childNodeArgs,
	])
	await ready(runner, runnerRegistered(created.url), 90_000)
	const gateway = (name: string, port: number) => ({
		url: `http://127.0.0.1:${port}`,
		managed: startScript(
			name,
			"gateway/main.ts",
			{
				...common,
				GATEWAY_HOST: "127.0.0.1",
				GATEWAY_PORT: String(port),
				GATEWAY_TENANT_CACHE_TTL: "10 minutes",
				REALTIME_AUTH_TIMEOUT: `${AuthTimeoutMs} millis`,
				// The bench clients never ping: no connection may go stale during the run.
				REALTIME_HEARTBEAT_TIMEOUT: "10 minutes",
				// Every bench connection comes from loopback, many of them as one user.
				REALTIME_MAX_CONNECTIONS_PER_IP: "1000000",
				REALTIME_MAX_CONNECTIONS_PER_USER: "1000000",
			},
			[InspectArg, ...BenchSettings.childNodeArgs],
		),
	})
	const gatewayA = gateway("rt-gateway-a", ports.gatewayA)
	const gatewayB = gateway("rt-gateway-b", ports.gatewayB)
	await Promise.all([
		ready(gatewayA.managed, httpOk(`${gatewayA.url}/health/ready`), 90_000),
		ready(gatewayB.managed, httpOk(`${gatewayB.url}/health/ready`), 90_000),
		ready(rawA.managed, httpOk(`${rawA.url}/health`), 30_000),
		ready(rawB.managed, httpOk(`${rawB.url}/health`), 30_000),
	])
	const slug = `bench-rt-${Math.random().toString(36).slice(2, 10)}`
	const created201 = await waitFor(
		() =>
			fetch(`${gatewayA.url}/admin/v1/tenants`, {
				method: "POST",
				headers: { authorization: `Bearer ${options.adminToken}`, "content-type": "application/json" },
				body: `{"slug":"${slug}","name":"Bench realtime tenant"}`,
			}).then((response) => response.status === 201 || response.status === 409),
		60_000,
		500,
	)
	const warm =
		created201 &&
		(await waitFor(httpOk(`${gatewayA.url}/v1/tenant`, { "x-app-id": slug }), 30_000)) &&
		(await waitFor(httpOk(`${gatewayB.url}/v1/tenant`, { "x-app-id": slug }), 30_000))
	return warm
		? { databaseUrl: created.url, slug, runner, gatewayA, gatewayB, rawA, rawB }
		: Promise.reject(
				new Error(
					`realtime tenant ${created201 ? "not readable" : "not created"}:\n` +
						`${gatewayA.managed.output().slice(-2000)}\n${runner.output().slice(-2000)}`,
				),
			)
}

type Stack = Awaited<ReturnType<typeof startStack>>
type Endpoint = Stack["gatewayA"]

// Sends one message (its JSON body) to `url` and resolves to the HTTP status.
const publisher = (agent: http.Agent, url: URL, headers: Record<string, string>) => (body: string) =>
	post(agent, url, headers, body)
type Publish = ReturnType<typeof publisher>

// One latency arm: `messages` messages one at a time, each once the previous one reached all `receivers` (or after
// MessageTimeoutMs), plus the gap; per receipt, arrival minus the send time in its payload.
const latencyArm = async (
	receiver: Receiver,
	publish: Publish,
	arm: string,
	receivers: number,
	messages: number,
): Promise<LatencyResult> => {
	const arrivals: Array<number> = []
	const frames: Array<Buffer | ArrayBuffer | Array<Buffer>> = []
	const pools: Array<number> = []
	let target = 0
	let wake = () => undefined as void
	receiver.current = (at, data, pool) => {
		arrivals.push(at)
		frames.push(data)
		pools.push(pool)
		return arrivals.length >= target ? wake() : undefined
	}
	let late = 0
	let rejected = 0
	for (const id of Array.from({ length: messages }, (_, index) => index)) {
		target = (id + 1) * receivers
		const delivered = new Promise<boolean>((resolve) => {
			const timer = setTimeout(() => resolve(false), MessageTimeoutMs)
			wake = () => (clearTimeout(timer), resolve(true))
		})
		const status = await publish(payload(arm, id)).catch(() => 0)
		rejected += status === 202 ? 0 : 1
		late += (status === 202 ? await delivered : true) ? 0 : 1
		await sleep(BenchSettings.realtimeGapMs)
	}
	receiver.current = ignore
	const samples = frames.map((data, index) => {
		const match = PayloadPattern.exec(textOf(data))
		return match?.[1] === arm
			? {
					latency: (arrivals[index] ?? Number.NaN) - Number(match[3]),
					pool: pools[index] ?? -1,
					message: Number(match[2]),
				}
			: undefined
	})
	const measured = samples.flatMap((sample) => (sample === undefined ? [] : [sample]))
	const ordered = sortedOf(measured.map((sample) => sample.latency))
	const poolIds = [...new Set(measured.map((sample) => sample.pool))].sort((a, b) => a - b)
	const poolP50 = Array.from({ length: Math.max(0, ...poolIds) + 1 }, (_, pool) =>
		quantile(sortedOf(measured.filter((sample) => sample.pool === pool).map((sample) => sample.latency)), 0.5),
	)
	const perMessage = Array.from({ length: messages }, (_, id) =>
		sortedOf(measured.filter((sample) => sample.message === id).map((sample) => sample.latency)),
	).filter((latencies) => latencies.length > 0)
	return {
		p50: quantile(ordered, 0.5),
		p99: quantile(ordered, 0.99),
		poolP50,
		firstP50: median(perMessage.map((latencies) => latencies[0] ?? Number.NaN)),
		lastP50: median(perMessage.map((latencies) => latencies[latencies.length - 1] ?? Number.NaN)),
		received: measured.length,
		expected: messages * receivers,
		late,
		rejected,
	}
}

// Waits until `count()` reaches `target` (polling every 20 ms) or DrainTimeoutMs passed.
const drained = async (count: () => number, target: () => number) => {
	const deadline = performance.now() + DrainTimeoutMs
	while (count() < target() && performance.now() < deadline) {
		await sleep(20)
	}
}

// Subject of the delivery line: broadcast as fast as `inFlight` requests allow for `durationMs`, then wait for every
// frame; frames per second from the first request to the last frame.
const deliverySubject = async (
	redis: Redis,
	server: Managed,
	receiver: Receiver,
	publish: Publish,
	arm: string,
	receivers: number,
	durationMs: number,
): Promise<DeliveryResult> => {
	let received = 0
	let last = 0
	let published = Number.POSITIVE_INFINITY
	receiver.current = (at) => {
		received += 1
		last = at
	}
	let id = 0
	const measured = await withCpu(redis, server, async () => {
		const started = performance.now()
		const loop = await closedLoop(
			() => {
				id += 1
				return publish(payload(arm, id)).then((status) => status === 202)
			},
			BenchSettings.realtimePublishInFlight,
			durationMs,
		)
		const publishedAt = performance.now()
		published = loop.ok
		await drained(
			() => received,
			() => published * receivers,
		)
		return { loop, started, publishedAt }
	})
	receiver.current = ignore
	const { loop, started, publishedAt } = measured.result
	return {
		rate: received / ((last - started) / 1000),
		messages: loop.ok,
		received,
		expected: loop.ok * receivers,
		drainMs: last - publishedAt,
		serverCpu: measured.server,
		perServerCpuSecond: received / measured.serverSeconds,
		clientCpu: measured.clients,
		redisCpu: measured.redis,
		publish: loop,
	}
}

// Baseline of the delivery line: the raw server sends `messages` frames to its `receivers` subscribers.
const deliveryBaseline = async (
	redis: Redis,
	server: Endpoint,
	receiver: Receiver,
	agent: http.Agent,
	arm: string,
	receivers: number,
	messages: number,
): Promise<DeliveryResult> => {
	let received = 0
	let last = 0
	receiver.current = (at) => {
		received += 1
		last = at
	}
	const measured = await withCpu(redis, server.managed, async () => {
		const started = performance.now()
		const status = await post(
			agent,
			new URL(`/burst/${LocalChannel}?count=${messages}&arm=${arm}`, server.url),
			{},
			"",
		).catch(() => 0)
		await (status === 202
			? drained(
					() => received,
					() => messages * receivers,
				)
			: Promise.reject(new Error(`raw burst answered ${status}`)))
		return started
	})
	receiver.current = ignore
	return {
		rate: received / ((last - measured.result) / 1000),
		messages,
		received,
		expected: messages * receivers,
		drainMs: Number.NaN,
		serverCpu: measured.server,
		perServerCpuSecond: received / measured.serverSeconds,
		clientCpu: measured.clients,
		redisCpu: measured.redis,
	}
}

const megabytes = (bytes: number) => `${fixed(bytes / 1_048_576, 1)} MB`

const percent = (values: ReadonlyArray<number>) => `${Math.round(median(values) * 100)}%`

const sum = (values: ReadonlyArray<number>) => values.reduce((total, value) => total + value, 0)

// `p50 ratio=… worst=… (subject … ms, baseline … ms) target<=… met|MISSED`: lower is better, so worst is the highest.
const latencyPart = (
	label: string,
	subject: ReadonlyArray<number>,
	baseline: ReadonlyArray<number>,
	target: number | undefined,
) => {
	const ratios = subject.map((value, index) => value / (baseline[index] ?? Number.NaN))
	const ratio = median(ratios)
	return (
		`${label} ratio=${fixed(ratio)} worst=${fixed(Math.max(...ratios))} ` +
		`(subject ${fixed(median(subject))} ms, baseline ${fixed(median(baseline))} ms)` +
		(target === undefined ? "" : ` target<=${target} ${ratio <= target ? "met" : "MISSED"}`)
	)
}

const latencyLine = (
	name: string,
	split: ReadonlyArray<LatencyResult>,
	local: ReadonlyArray<LatencyResult>,
	targets: { readonly p50?: number; readonly p99?: number },
	note: string,
) => {
	const all = [...split, ...local]
	const spread = (results: ReadonlyArray<LatencyResult>) =>
		`${fixed(median(results.map((result) => result.firstP50)))}/${fixed(median(results.map((result) => result.lastP50)))}`
	const poolMedian = (pool: number) => fixed(median(split.map((result) => result.poolP50[pool] ?? Number.NaN)))
	return (
		`${name}: ${latencyPart(
			"p50",
			split.map((result) => result.p50),
			local.map((result) => result.p50),
			targets.p50,
		)}; ` +
		`${latencyPart(
			"p99",
			split.map((result) => result.p99),
			local.map((result) => result.p99),
			targets.p99,
		)} ` +
		`[${note}; ${BenchSettings.rounds}x${BenchSettings.realtimeMessages} messages per arm, one at a time; ` +
		`split p50 on A ${poolMedian(0)} ms, on B ${poolMedian(1)} ms; first/last receipt of a message (median) ` +
		`split ${spread(split)} ms, all on one ${spread(local)} ms; ` +
		`received ${sum(all.map((result) => result.received))}/${sum(all.map((result) => result.expected))}, ` +
		`messages not delivered to all within ${MessageTimeoutMs / 1000} s ${sum(all.map((result) => result.late))}, ` +
		`non-202 ${sum(all.map((result) => result.rejected))}]`
	)
}

// Heap (after full GC) of gateway B, the runner and raw B before and after `count` idle authenticated connections.
const heapBench = async (stack: Stack, receiver: Receiver, token: string) => {
	const count = BenchSettings.realtimeIdleConnections
	const specs = (length: number): ReadonlyArray<ClientSpec> => Array.from({ length }, () => ({ token, channels: [] }))
	const connect = (url: string, length: number) =>
		connectPool({
			url,
			specs: specs(length),
			receiver,
			poolIndex: 9,
			concurrency: ConnectConcurrency,
		})
	const read = async () => ({
		gateway: await heapAfterGc(stack.gatewayB.managed),
		runner: await heapAfterGc(stack.runner),
		raw: await heapAfterGc(stack.rawB.managed),
		gatewayRss: await rssBytes(stack.gatewayB.managed.child.pid),
		runnerRss: await rssBytes(stack.runner.child.pid),
		rawRss: await rssBytes(stack.rawB.managed.child.pid),
	})
	// Warm-up: the code paths of a connection run (and their lazily built state exists) before the first reading.
	const gatewayUrl = `${wsUrl(stack.gatewayB.url)}/v1/realtime?app_id=${stack.slug}`
	const rawUrl = wsUrl(stack.rawB.url)
	const warm = await Promise.all([connect(gatewayUrl, WarmupConnections), connect(rawUrl, WarmupConnections)])
	await Promise.all(warm.map((pool) => pool.close()))
	await sleep(SettleMs)
	const before = await read()
	const started = performance.now()
	const pools = await Promise.all([connect(gatewayUrl, count), connect(rawUrl, count)])
	const connectSeconds = (performance.now() - started) / 1000
	await sleep(AuthTimeoutMs + SettleMs)
	const after = await read()
	const closes = pools.flatMap((pool) => pool.unexpectedCloses())
	await Promise.all(pools.map((pool) => pool.close()))
	const per = (from: number, to: number) => (to - from) / count
	const gateway = per(before.gateway, after.gateway)
	const runner = per(before.runner, after.runner)
	const raw = per(before.raw, after.raw)
	const kib = (bytes: number) => `${fixed(bytes / 1024, 1)} KiB`
	return (
		`${Names.heap}: bytes_per_connection=${Math.round(gateway + runner)} (${kib(gateway + runner)}: gateway ` +
		`${Math.round(gateway)} + runner ${Math.round(runner)}; ${count} idle authenticated connections) ` +
		`raw_ws=${Math.round(raw)} (${kib(raw)}) ratio=${fixed((gateway + runner) / raw, 1)} ` +
		`[heap after GC: gateway ${megabytes(before.gateway)} -> ${megabytes(after.gateway)}, runner ` +
		`${megabytes(before.runner)} -> ${megabytes(after.runner)}, raw ws server ${megabytes(before.raw)} -> ` +
		`${megabytes(after.raw)}; RSS per connection gateway ${kib(per(before.gatewayRss, after.gatewayRss))}, runner ` +
		`${kib(per(before.runnerRss, after.runnerRss))}, raw ${kib(per(before.rawRss, after.rawRss))}; connected both ` +
		`sets in ${fixed(connectSeconds, 1)} s, read ${fixed((AuthTimeoutMs + SettleMs) / 1000, 1)} s later (auth ` +
		`timers done); one shared session token (the credential cache holds one entry); closed by the server: ` +
		`${closes.length}; report only]`
	)
}

// Returns one line per selected realtime benchmark (in the order of `Names`).
const realtimeBench = async (options: {
	readonly redisUrl: string
	readonly redisKeyPrefix: string
	readonly adminToken: string
}) => {
	const began = performance.now()
	const progress = (step: string) =>
		console.error(`realtime bench: ${step} at ${fixed((performance.now() - began) / 1000, 1)} s`)
	const stack = await startStack(options)
	progress("stack ready")
	const receiver = makeReceiver()
	const pools: Array<ClientPool> = []
	const redis = new Redis(options.redisUrl, { maxRetriesPerRequest: 1 })
	const agent = new http.Agent({ keepAlive: true, maxSockets: 64, maxFreeSockets: 64 })
	const client = new pg.Client({ connectionString: stack.databaseUrl })
	const clients = BenchSettings.realtimeClients
	const half = Math.floor(clients / 2)
	const rest = clients - half
	const layoutA = (tokens: ReadonlyArray<string>): ReadonlyArray<ClientSpec> =>
		Array.from({ length: clients }, (_, index) => ({
			token: tokens[index] ?? "",
			channels: index < half ? [SplitChannel, LocalChannel] : [LocalChannel],
		}))
	const layoutB = (tokens: ReadonlyArray<string>): ReadonlyArray<ClientSpec> =>
		Array.from({ length: rest }, (_, index) => ({ token: tokens[index] ?? "", channels: [SplitChannel] }))
	const runAll = async () => {
		await client.connect()
		const app = await client.query<{ id: string }>("SELECT id FROM apps WHERE slug = $1", [stack.slug])
		const tokens = await createSessions(client, app.rows[0]?.id ?? "", 2 + clients + rest)
		const [publisherToken = "", idleToken = ""] = tokens
		const tokensA = tokens.slice(2, 2 + clients)
		const tokensB = tokens.slice(2 + clients)
		const heap = selected(Names.heap) ? [await heapBench(stack, receiver, idleToken)] : []
		progress("heap line done")
		const wantsProduct = selected(Names.latency) || selected(Names.deliveries)
		const wantsRaw = selected(Names.rawLatency) || selected(Names.deliveries)
		const realtimeUrl = (endpoint: Endpoint) => `${wsUrl(endpoint.url)}/v1/realtime?app_id=${stack.slug}`
		const connect = async (url: string, specs: ReadonlyArray<ClientSpec>, poolIndex: number) => {
			const started = performance.now()
			const pool = await connectPool({ url, specs, receiver, poolIndex, concurrency: ConnectConcurrency })
			pools.push(pool)
			console.error(
				`realtime bench: ${pool.size} clients on ${url.replace(/\?.*$/, "")} in ` +
					`${fixed((performance.now() - started) / 1000, 1)} s`,
			)
			return pool
		}
		const connectStarted = performance.now()
		await Promise.all([
			...(wantsProduct
				? [
						connect(realtimeUrl(stack.gatewayA), layoutA(tokensA), 0),
						connect(realtimeUrl(stack.gatewayB), layoutB(tokensB), 1),
					]
				: []),
			...(wantsRaw
				? [connect(wsUrl(stack.rawA.url), layoutA([]), 0), connect(wsUrl(stack.rawB.url), layoutB([]), 1)]
				: []),
		])
		console.error(
			`realtime bench: ${pools.reduce((total, pool) => total + pool.size, 0)} clients connected in ` +
				`${fixed((performance.now() - connectStarted) / 1000, 1)} s`,
		)
		const productHeaders = { "x-app-id": stack.slug, authorization: `Bearer ${publisherToken}` }
		const product = (channel: string) =>
			publisher(agent, new URL(`${stack.gatewayA.url}/v1/channels/${channel}/broadcast`), productHeaders)
		const raw = (channel: string, via: string) =>
			publisher(agent, new URL(`${stack.rawA.url}/broadcast/${channel}?via=${via}`), {})
		let armCounter = 0
		const latency = (publish: Publish, messages: number) => () => {
			armCounter += 1
			return latencyArm(receiver, publish, `l${armCounter}`, clients, messages)
		}
		const latencyArms = [
			...(selected(Names.latency)
				? [
						{ name: "product-split", publish: product(SplitChannel) },
						{ name: "product-local", publish: product(LocalChannel) },
					]
				: []),
			...(selected(Names.rawLatency)
				? [
						{ name: "raw-split", publish: raw(SplitChannel, "redis") },
						{ name: "raw-local", publish: raw(LocalChannel, "local") },
					]
				: []),
		]
		// Warm-up (JIT, the publisher's credential, the Redis connections), then the interleaved rounds.
		for (const arm of latencyArms) {
			await latency(arm.publish, WarmupMessages)()
		}
		const latencyResults = await interleave(
			BenchSettings.rounds,
			latencyArms.map((arm) => ({ name: arm.name, run: latency(arm.publish, BenchSettings.realtimeMessages) })),
		)
		progress("latency rounds done")
		const resultsOf = (name: string) => latencyResults[latencyArms.findIndex((arm) => arm.name === name)] ?? []
		const bothPaths =
			"both arms go through Redis (the product has no local-only path), so this prices the second gateway, not Redis"
		const latencyLines = [
			...(selected(Names.latency)
				? [
						latencyLine(
							Names.latency,
							resultsOf("product-split"),
							resultsOf("product-local"),
							{ p50: 1.3, p99: 1.5 },
							`${clients} clients: ${half} on gateway A + ${rest} on gateway B vs ${clients} on A, broadcast ` +
								`by POST on A; ${bothPaths}`,
						),
					]
				: []),
			...(selected(Names.rawLatency)
				? [
						latencyLine(
							Names.rawLatency,
							resultsOf("raw-split"),
							resultsOf("raw-local"),
							{},
							`raw ws servers: ${half} on raw A + ${rest} on raw B through ioredis PUBLISH/SUBSCRIBE vs ${clients} ` +
								`on raw A sent directly (no Redis), POST on raw A; reference for ${Names.latency}`,
						),
					]
				: []),
		]
		const deliveries = selected(Names.deliveries)
			? await (async () => {
					let lastCount = 0
					let armId = 0
					const subject = async (durationMs: number) => {
						armId += 1
						const result = await deliverySubject(
							redis,
							stack.gatewayA.managed,
							receiver,
							product(LocalChannel),
							`d${armId}`,
							clients,
							durationMs,
						)
						lastCount = result.messages
						return result
					}
					const baseline = () => {
						armId += 1
						return deliveryBaseline(redis, stack.rawA, receiver, agent, `d${armId}`, clients, lastCount)
					}
					await subject(WarmupBurstMs)
					await baseline()
					const rounds = () =>
						interleave(BenchSettings.rounds, [
							{ name: "subject", run: () => subject(BenchSettings.realtimeBurstMs) },
							{ name: "baseline", run: baseline },
						])
					const [subjects = [], baselines = []] = await (BenchSettings.realtimeProfileDir === ""
						? rounds()
						: profiled(
								stack.gatewayA.managed,
								path.join(BenchSettings.realtimeProfileDir, "realtime-gateway-a.cpuprofile"),
								() =>
									profiled(
										stack.rawA.managed,
										path.join(BenchSettings.realtimeProfileDir, "realtime-raw-a.cpuprofile"),
										rounds,
									),
							))
					const all = [...subjects, ...baselines]
					const publishP99 = Math.max(...subjects.map((result) => result.publish?.p99Ms ?? Number.NaN))
					return [
						ratioLine({
							name: Names.deliveries,
							unit: "deliveries/s",
							subject: subjects.map((result) => result.rate),
							baseline: baselines.map((result) => result.rate),
							target: 0.7,
							extra:
								`[${clients} clients on one gateway (bench.local); subject ${BenchSettings.rounds}x` +
								`${BenchSettings.realtimeBurstMs}ms of POST …/broadcast, ${BenchSettings.realtimePublishInFlight} ` +
								`in flight: median ${metric(median(subjects.map((result) => result.messages)))} messages per ` +
								`round, publish p99 ${fixed(publishP99)} ms, last frame ${fixed(median(subjects.map((result) => result.drainMs)), 0)} ms ` +
								`after the last 202 (negative: before it); baseline: the raw server sends the same count (the latest subject ` +
								`round's) in one send loop per message; received ${sum(all.map((result) => result.received))}/` +
								`${sum(all.map((result) => result.expected))}; CPU (share of one core) subject gateway ` +
								`${percent(subjects.map((result) => result.serverCpu))}, clients ` +
								`${percent(subjects.map((result) => result.clientCpu))}, Redis ` +
								`${percent(subjects.map((result) => result.redisCpu))}; baseline raw server ` +
								`${percent(baselines.map((result) => result.serverCpu))}, clients ` +
								`${percent(baselines.map((result) => result.clientCpu))}; deliveries per CPU second of the ` +
								`sending server: subject ${metric(median(subjects.map((result) => result.perServerCpuSecond)))}, ` +
								`baseline ${metric(median(baselines.map((result) => result.perServerCpuSecond)))}]`,
						}),
					]
				})()
			: []
		progress("delivery rounds done")
		const closed = pools.flatMap((pool) => pool.unexpectedCloses())
		closed.length > 0
			? console.error(
					`realtime bench: ${closed.length} client sockets were closed by a server: ${closed.join(",")}`,
				)
			: undefined
		return [...latencyLines, ...deliveries, ...heap]
	}
	return runAll().finally(() =>
		Promise.all([
			...pools.splice(0).map((pool) => pool.close()),
			client.end().catch(() => undefined),
			Promise.resolve(redis.disconnect()),
			Promise.resolve(agent.destroy()),
		]),
	)
}

// --- [EXPORT]

export { RealtimeNames, realtimeBench }
