// Entity RPC against raw TCP: this process joins the cluster as a client-only member (like the gateway) and calls
// TenantDirectory.Resolve for one existing tenant on the runner; the baseline echoes frames of the same order of size
// through a raw TCP server in another node process. Both sequentially (1 in flight) and with 50 in flight.
import { ConfigProvider, Effect, Layer, Logger, LogLevel, ManagedRuntime } from "effect"
import { TenantDirectory } from "../entities/tenant/TenantProtocol.ts"
import { DatabaseLive } from "../platform/Database.ts"
import { ClientClusterLive } from "../platform/Cluster.ts"
import { BenchSettings, closedLoop, fixed, interleave, type LoopResult, metric, ratioLine, sleep } from "./Harness.ts"
import { connectEcho } from "./TcpEchoClient.ts"

// --- [CONSTANTS]

const WarmupMs = 1000
const DisposeTimeoutMs = 5000

// --- [FUNCTIONS]

// Only this layer's settings: the bench process's own environment is not read by the cluster.
const clientLayer = (databaseUrl: string) =>
	ClientClusterLive.pipe(
		Layer.provide(DatabaseLive),
		Layer.provide(Logger.minimumLogLevel(LogLevel.Error)),
		Layer.provide(
			Layer.setConfigProvider(
				ConfigProvider.fromMap(
					new Map([
						["DATABASE_URL", databaseUrl],
						["DATABASE_MAX_CONNECTIONS", "2"],
					]),
				),
			),
		),
	)

const describe = (label: string, results: ReadonlyArray<LoopResult>) => {
	const middle = [...results].sort((a, b) => a.rate - b.rate)[Math.floor(results.length / 2)]
	const failed = results.reduce((total, result) => total + result.failed, 0)
	return middle === undefined
		? `${label} n/a`
		: `${label} ${metric(middle.rate)} calls/s p50 ${fixed(middle.p50Ms, 3)} ms p99 ${fixed(middle.p99Ms, 3)} ms` +
				(failed === 0 ? "" : ` (${failed} failed)`)
}

// Returns the two report lines.
const rpcBench = async (options: {
	readonly databaseUrl: string
	readonly slug: string
	readonly echoPort: number
}) => {
	const runtime = ManagedRuntime.make(clientLayer(options.databaseUrl))
	const directory = await runtime.runPromise(TenantDirectory.client)
	const resolve = () =>
		runtime.runPromise(
			directory(options.slug)
				.Resolve({ key: options.slug })
				.pipe(Effect.map((tenant) => tenant.slug === options.slug)),
		)
	const echo = await connectEcho(options.echoPort)
	const duration = BenchSettings.rpcDurationMs
	const inFlight = BenchSettings.rpcInFlight
	const run = async () => {
		await closedLoop(resolve, inFlight, WarmupMs)
		await closedLoop(echo.call, inFlight, WarmupMs / 2)
		return interleave(BenchSettings.rounds, [
			{ name: "rpc-sequential", run: () => closedLoop(resolve, 1, duration) },
			{ name: "rpc-inflight", run: () => closedLoop(resolve, inFlight, duration) },
			{ name: "tcp-sequential", run: () => closedLoop(echo.call, 1, duration) },
			{ name: "tcp-inflight", run: () => closedLoop(echo.call, inFlight, duration) },
		])
	}
	// The cluster client is closed with a deadline (STACK-NOTES: its sockets can outlive the layer); the process
	// exits explicitly at the end either way.
	const close = () => {
		const closed = Promise.all([echo.close(), runtime.dispose()]).then(() => true)
		return Promise.race([closed, sleep(DisposeTimeoutMs).then(() => false)]).then((inTime) =>
			inTime ? undefined : console.error(`rpc bench: cluster client not closed after ${DisposeTimeoutMs} ms`),
		)
	}
	const [rpcSequential = [], rpcInFlight = [], tcpSequential = [], tcpInFlight = []] = await run().finally(close)
	const rates = (results: ReadonlyArray<LoopResult>) => results.map((result) => result.rate)
	return [
		ratioLine({
			name: "rpc.entity-vs-tcp-echo",
			unit: "calls/s",
			subject: rates(rpcInFlight),
			baseline: rates(tcpInFlight),
			extra:
				`[${BenchSettings.rounds}x${duration}ms; ${describe("rpc seq", rpcSequential)}; ` +
				`${describe(`rpc ${inFlight}-in-flight`, rpcInFlight)}; ${describe("tcp seq", tcpSequential)}; ` +
				`${describe(`tcp ${inFlight}-in-flight`, tcpInFlight)}]`,
		}),
		ratioLine({
			name: "rpc.inflight-vs-sequential",
			unit: "calls/s",
			subject: rates(rpcInFlight),
			baseline: rates(rpcSequential),
			target: 3,
		}),
	]
}

// --- [EXPORT]

export { rpcBench }
