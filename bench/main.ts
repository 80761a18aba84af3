// `npm run bench`: starts a fresh database, the migration, one runner, one gateway and the bench servers (raw node:http
// hello, bare Effect hello, TCP echo); runs the HTTP, gateway and RPC comparisons against them, then the auth ones
// (with two more gateways of their own settings); stops them, runs the workflow benchmark on a stack of its own
// (database, runner, gateway), the events benchmark in this process and the memory probe, each on a database of its
// own, and the realtime benchmarks on a stack of their own (database, runner, two gateways, two raw ws servers); then
// stops every child, drops the databases, deletes this run's Redis keys and exits. One line per benchmark on stdout
// (see bench/README.md); diagnostics go to stderr.
import { randomUUID } from "node:crypto"
import { freePort, run, testEncryptionKeys, waitFor } from "../test/fixtures/Processes.ts"
import { authBench } from "./AuthBench.ts"
import { BenchSettings, selected, sleep } from "./Harness.ts"
import { eventsBench } from "./EventsBench.ts"
import { compareHttp } from "./HttpBench.ts"
import { memoryBench } from "./MemoryBench.ts"
import {
	cleanup,
	database,
	deleteRedisKeys,
	httpOk,
	ready,
	runnerRegistered,
	startScript,
	tcpOpen,
} from "./Processes.ts"
import { RealtimeNames, realtimeBench } from "./RealtimeBench.ts"
import { passkeyBench } from "./PasskeyBench.ts"
import { rpcBench } from "./RpcBench.ts"
import { soakBench, SoakNames } from "./Soak.ts"
import { workflowBench } from "./WorkflowBench.ts"

// --- [CONSTANTS]

const redisUrl = process.env.REDIS_URL ?? "redis://127.0.0.1:6379"
const redisKeyPrefix = `bench:${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}:`
const adminToken = `bench-${randomUUID()}`
const slug = `bench-${Math.random().toString(36).slice(2, 10)}`
// SOAK_SECONDS > 0 adds the soak (bench/Soak.ts) at the end; 0 (the default) leaves it out.
const SoakSeconds = Math.max(0, Number.parseInt(process.env.SOAK_SECONDS ?? "0", 10) || 0)
const WatchdogMs = 11 * 60_000 + (SoakSeconds > 0 ? SoakSeconds * 1000 + 4 * 60_000 : 0)
const AuthNames = ["auth.warm-vs-unauthenticated", "auth.redis-tier-vs-unauthenticated", "auth.cold-vs-unauthenticated"]

// --- [FUNCTIONS]

const firstLine = (error: unknown) => String(error instanceof Error ? error.message : error).split("\n")[0] ?? ""

// Runs one benchmark; a failure becomes `name: FAILED <reason>` (details on stderr) so the others still run.
// Skipped (BENCH_ONLY) benchmarks print nothing.
const attempt = (names: ReadonlyArray<string>, bench: () => Promise<string | ReadonlyArray<string>>) =>
	(names.some(selected) ? bench() : Promise.resolve([] as ReadonlyArray<string>))
		.then(
			(result) => (typeof result === "string" ? [result] : result),
			(error: unknown) => {
				console.error(`${names.join(", ")} failed:`, error)
				return names.filter(selected).map((name) => `${name}: FAILED ${firstLine(error)}`)
			},
		)
		.then((lines) => {
			lines.forEach((line) => console.log(line))
			return lines
		})

// The runner, the gateway (with one active tenant, its cache warm) and the three bench servers.
const startStack = async () => {
	const created = await database("bench")
	const ports = {
		gateway: await freePort(),
		runner: await freePort(),
		node: await freePort(),
		effect: await freePort(),
		echo: await freePort(),
	}
	const common = {
		DATABASE_URL: created.url,
		REDIS_URL: redisUrl,
		REDIS_KEY_PREFIX: redisKeyPrefix,
		ENCRYPTION_KEYS: testEncryptionKeys,
		ADMIN_TOKEN: adminToken,
		RUNNER_HOST: "127.0.0.1",
		RUNNER_PORT: String(ports.runner),
		LOG_LEVEL: "WARN",
	}
	const urls = {
		gateway: `http://127.0.0.1:${ports.gateway}`,
		node: `http://127.0.0.1:${ports.node}/`,
		effect: `http://127.0.0.1:${ports.effect}/`,
	}
	const nodeHello = startScript("node-hello", "bench/servers/NodeHello.ts", { BENCH_PORT: String(ports.node) })
	const effectHello = startScript("effect-hello", "bench/servers/EffectHello.ts", {
		BENCH_PORT: String(ports.effect),
	})
	const echo = startScript("tcp-echo", "bench/servers/TcpEcho.ts", { BENCH_PORT: String(ports.echo) })
	const migration = await run("migrate", common)
	await (migration.code === 0
		? Promise.resolve()
		: Promise.reject(new Error(`migration exited ${migration.code}:\n${migration.output.slice(-3000)}`)))
	const runner = startScript("runner", "runners/runner/main.ts", common, BenchSettings.childNodeArgs)
	const spawnGateway = (name: string, port: number, env: Record<string, string>) =>
		startScript(
			name,
			"gateway/main.ts",
			{
				...common,
				GATEWAY_HOST: "127.0.0.1",
				GATEWAY_PORT: String(port),
				// Long enough that no lookup expires during the run: the benchmark measures the cached path.
				GATEWAY_TENANT_CACHE_TTL: "10 minutes",
				...env,
			},
			BenchSettings.childNodeArgs,
		)
	// Every cluster member creates @effect/cluster's tables when it starts; on a fresh database a gateway starting
	// alongside the runner can lose that race for good (the start retry in platform/Cluster.ts gets the memoized
	// failure back instead of building the layer again), so the gateway starts once the runner has registered.
	const gatewayStarted = ready(runner, runnerRegistered(created.url), 90_000).then(() =>
		spawnGateway("gateway", ports.gateway, {}),
	)
	await Promise.all([
		ready(nodeHello, httpOk(urls.node), 30_000),
		ready(effectHello, httpOk(urls.effect), 30_000),
		ready(echo, tcpOpen(ports.echo), 30_000),
		gatewayStarted.then((started) => ready(started, httpOk(`${urls.gateway}/health/ready`), 90_000)),
	]).catch((error: unknown) =>
		Promise.reject(
			new Error(`${firstLine(error)} (runner ${runner.child.exitCode === null ? "running" : "exited"})`, {
				cause: `${String(error)}\n--- runner output:\n${runner.output().slice(-4000)}`,
			}),
		),
	)
	const gateway = await gatewayStarted
	// 201 created, or 409 when an earlier attempt of this loop already created it.
	const created201 = await waitFor(
		() =>
			fetch(`${urls.gateway}/admin/v1/tenants`, {
				method: "POST",
				headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
				body: `{"slug":"${slug}","name":"Bench tenant"}`,
			}).then((response) => response.status === 201 || response.status === 409),
		60_000,
		500,
	)
	const tenantHeaders = { "x-app-id": slug }
	const warm = created201 && (await waitFor(httpOk(`${urls.gateway}/v1/tenant`, tenantHeaders), 30_000))
	// A further gateway of the same stack (auth.*): ready, and its tenant cache warm.
	const startGateway = async (name: string, env: Record<string, string>) => {
		const port = await freePort()
		const url = `http://127.0.0.1:${port}`
		const managed = await ready(spawnGateway(name, port, env), httpOk(`${url}/health/ready`), 90_000)
		return (await waitFor(httpOk(`${url}/v1/tenant`, tenantHeaders), 30_000))
			? { url, managed }
			: Promise.reject(new Error(`${name}: GET /v1/tenant never answered 200:\n${managed.output().slice(-2000)}`))
	}
	return warm
		? { databaseUrl: created.url, ports, urls, tenantHeaders, startGateway }
		: Promise.reject(
				new Error(
					`tenant ${created201 ? "created but GET /v1/tenant never answered 200" : "could not be created"}:\n` +
						`${gateway.output().slice(-2000)}\n${runner.output().slice(-2000)}`,
				),
			)
}

const main = async () => {
	const started = Date.now()
	console.error(
		`bench: rounds=${BenchSettings.rounds} http=${BenchSettings.httpDurationMs}ms x ${BenchSettings.httpConnections} ` +
			`conns, rpc=${BenchSettings.rpcDurationMs}ms, entities=${BenchSettings.entities}`,
	)
	// Started once, only if a benchmark that needs it is selected (full names: BENCH_ONLY holds name prefixes).
	const needsStack = [
		"http.effect-vs-node",
		"gateway.tenant-vs-effect-hello",
		"rpc.entity-vs-tcp-echo",
		"rpc.inflight-vs-sequential",
		...AuthNames,
		"auth.passkey-verify",
	].some(selected)
	const stack = needsStack ? startStack() : Promise.reject(new Error("stack not started"))
	stack.catch(() => undefined)
	const lines = [
		...(await attempt(["http.effect-vs-node"], () =>
			stack.then((live) =>
				compareHttp({
					name: "http.effect-vs-node",
					subject: { url: live.urls.effect },
					baseline: { url: live.urls.node },
				}),
			),
		)),
		...(await attempt(["gateway.tenant-vs-effect-hello"], () =>
			stack.then((live) =>
				compareHttp({
					name: "gateway.tenant-vs-effect-hello",
					subject: { url: `${live.urls.gateway}/v1/tenant`, headers: live.tenantHeaders },
					baseline: { url: live.urls.effect },
					target: 0.8,
				}),
			),
		)),
		...(await attempt(["rpc.entity-vs-tcp-echo", "rpc.inflight-vs-sequential"], () =>
			stack.then((live) => rpcBench({ databaseUrl: live.databaseUrl, slug, echoPort: live.ports.echo })),
		)),
		...(await attempt(AuthNames, () =>
			stack.then((live) =>
				authBench({
					databaseUrl: live.databaseUrl,
					redisUrl,
					slug,
					tenantHeaders: live.tenantHeaders,
					gatewayUrl: live.urls.gateway,
					startGateway: live.startGateway,
				}),
			),
		)),
		...(await attempt(["auth.passkey-verify"], () =>
			stack.then((live) =>
				passkeyBench({
					databaseUrl: live.databaseUrl,
					adminToken,
					slug,
					startGateway: live.startGateway,
				}),
			),
		)),
	]
	await cleanup()
	// A stack of its own (database, runner, gateway), started after the one above is gone; its Redis keys live
	// under this run's prefix so the final deletion covers them.
	const workflow = await attempt(
		["workflow.starts-vs-pg-insert", "workflow.completions-vs-pg-insert", "workflow.start-to-first-activity"],
		() => workflowBench({ redisUrl, redisKeyPrefix: `${redisKeyPrefix}wf:`, adminToken }),
	)
	await cleanup()
	// In this process, on a database of its own.
	const events = await attempt(["events.append-vs-pg-insert"], () => eventsBench())
	await cleanup()
	const memory = await attempt(["memory.tenant-entity"], () => memoryBench({ redisUrl, redisKeyPrefix }))
	await cleanup()
	// A stack of its own again (database, runner, two gateways, two raw ws servers).
	const realtime = await attempt(RealtimeNames, () =>
		realtimeBench({ redisUrl, redisKeyPrefix: `${redisKeyPrefix}rt:`, adminToken }),
	)
	await cleanup()
	// A stack of its own (database, two runners, two gateways), only when SOAK_SECONDS is set.
	const soak =
		SoakSeconds > 0
			? await attempt(SoakNames, () =>
					soakBench({
						seconds: SoakSeconds,
						redisUrl,
						redisKeyPrefix: `${redisKeyPrefix}soak:`,
						adminToken,
					}),
				)
			: []
	await cleanup()
	await deleteRedisKeys(redisUrl, redisKeyPrefix).catch((error: unknown) =>
		console.error("cleanup: deleting Redis keys failed", error),
	)
	console.error(`bench: done in ${((Date.now() - started) / 1000).toFixed(1)} s`)
	return [...lines, ...workflow, ...events, ...memory, ...realtime, ...soak].some((line) => line.includes(": FAILED"))
		? 1
		: 0
}

// --- [MAIN]

process.once("SIGINT", () => void cleanup().finally(() => process.exit(130)))
setTimeout(() => {
	console.error(`bench: watchdog fired after ${WatchdogMs / 1000} s`)
	void cleanup().finally(() => process.exit(1))
}, WatchdogMs).unref()

// Exit explicitly: cluster client sockets can keep the process alive after their layer closed (STACK-NOTES).
main().then(
	(code) => sleep(0).then(() => process.exit(code)),
	(error: unknown) => {
		console.error("bench failed", error)
		return cleanup().finally(() => process.exit(1))
	},
)
