// Heap per idle Tenant entity, measured by bench/MemoryProbe.ts in a child process of its own (--expose-gc) on a
// fresh database, so no other runner shares its shards.
import { freePort, sleep, testEncryptionKeys } from "../test/fixtures/Processes.ts"
import { database, startScript, stop } from "./Processes.ts"
import { BenchSettings, fixed } from "./Harness.ts"

// --- [CONSTANTS]

const ProbeTimeoutMs = 180_000

const ResultPattern =
	/MEMORY entities=(\d+) requested=(\d+) before=(\d+) after=(\d+) seconds=([\d.]+) first_batch_ms=(\d+) live_before=(\d+) live_after=(\d+)/

// --- [FUNCTIONS]

const megabytes = (bytes: number) => `${fixed(bytes / 1_048_576, 1)} MB`

const memoryBench = async (options: { readonly redisUrl: string; readonly redisKeyPrefix: string }) => {
	const created = await database("bench_mem")
	const probe = startScript(
		"memory-probe",
		"bench/MemoryProbe.ts",
		{
			DATABASE_URL: created.url,
			REDIS_URL: options.redisUrl,
			REDIS_KEY_PREFIX: options.redisKeyPrefix,
			ENCRYPTION_KEYS: testEncryptionKeys,
			RUNNER_HOST: "127.0.0.1",
			RUNNER_PORT: String(await freePort()),
			RUNNER_ENTITY_MAX_IDLE: "10 minutes",
			BENCH_ENTITIES: String(BenchSettings.entities),
		},
		["--expose-gc"],
	)
	const finished = await Promise.race([
		new Promise<boolean>((resolve) => probe.child.once("exit", () => resolve(true))),
		sleep(ProbeTimeoutMs).then(() => false),
	])
	const output = probe.output()
	const match = ResultPattern.exec(output)
	const numbers = (match ?? []).slice(1).map(Number)
	const [count = 0, requested = 0, before = 0, after = 0, seconds = 0, firstMs = 0, liveBefore = 0, liveAfter = 0] =
		numbers
	await (finished ? Promise.resolve() : stop(probe, "SIGKILL", 1000).then(() => undefined))
	return match === null
		? Promise.reject(
				new Error(
					`memory probe ${finished ? "exited" : `timed out after ${ProbeTimeoutMs} ms`} without a result:\n` +
						output.slice(-3000),
				),
			)
		: `memory.tenant-entity: bytes_per_entity=${Math.round((after - before) / count)} (${count} entities` +
				(count < requested
					? `; reduced from ${requested}: the first ${count} took ${fixed(firstMs / 1000, 1)} s, ` +
						`projecting over 60 s for ${requested}`
					: "") +
				`) [activated in ${fixed(seconds, 1)} s; live Tenant entities ${liveBefore} -> ${liveAfter}; ` +
				`heap after GC ${megabytes(before)} -> ${megabytes(after)}]`
}

// --- [EXPORT]

export { memoryBench }
