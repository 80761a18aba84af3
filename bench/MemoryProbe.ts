// Child process of the memory benchmark (run with --expose-gc): it is itself the only runner of a fresh cluster,
// activates idle Tenant entities by calling Get on random tenant ids (each activation loads its row, finds none, boots
// the Machine as Absent and answers TenantNotFound; the instance then stays until its idle timeout), and prints the
// heap after a full GC before and after as one `MEMORY …` line for the parent. Exits explicitly.
import { ClusterMetrics } from "@effect/cluster"
import { randomUUID } from "node:crypto"
import { Effect, Layer, Logger, LogLevel, Metric, Schedule } from "effect"
import { Tenant } from "../entities/tenant/TenantProtocol.ts"
import { CacheLive } from "../platform/RedisCache.ts"
import { CryptoLive } from "../platform/Crypto.ts"
import { DatabaseLive } from "../platform/Database.ts"
import { RunnerLive } from "../runners/Runner.ts"

// --- [CONSTANTS]

const Requested = Number(process.env.BENCH_ENTITIES ?? "10000")
const Warmup = 200
const FirstBatch = Math.min(2000, Requested)
const BudgetMs = 60_000
const Concurrency = 64

// --- [FUNCTIONS]

const heapAfterGc = Effect.promise(async () => {
	for (const _ of [1, 2, 3]) {
		globalThis.gc?.()
		await new Promise((resolve) => setTimeout(resolve, 50))
	}
	return process.memoryUsage().heapUsed
})

// The cluster refreshes this gauge once a second: wait for one refresh before reading it.
const liveTenantEntities = Effect.sleep("1200 millis").pipe(
	Effect.zipRight(Metric.value(ClusterMetrics.entities.pipe(Metric.tagged("type", "Tenant")))),
	Effect.map((state) => Number(state.value)),
)

const program = Effect.gen(function* () {
	const tenants = yield* Tenant.client
	// TenantNotFound is the expected answer; anything else (shards not assigned yet, …) is retried.
	const activate = (id: string) =>
		tenants(id)
			.Get()
			.pipe(
				Effect.asVoid,
				Effect.catchTag("TenantNotFound", () => Effect.void),
				Effect.retry({ schedule: Schedule.spaced("250 millis"), times: 240 }),
			)
	const activateMany = (count: number) =>
		Effect.forEach(
			Array.from({ length: count }, () => randomUUID()),
			activate,
			{ concurrency: Concurrency, discard: true },
		)
	yield* activate(randomUUID())
	yield* activateMany(Warmup)
	const entitiesBefore = yield* liveTenantEntities
	const before = yield* heapAfterGc
	const started = Date.now()
	yield* activateMany(FirstBatch)
	const firstMs = Date.now() - started
	// More than the budget projected for the full count: stop at the first batch.
	const count = (firstMs * Requested) / FirstBatch > BudgetMs ? FirstBatch : Requested
	yield* activateMany(count - FirstBatch)
	const seconds = (Date.now() - started) / 1000
	const entitiesAfter = yield* liveTenantEntities
	const after = yield* heapAfterGc
	yield* Effect.sync(() =>
		console.log(
			`MEMORY entities=${count} requested=${Requested} before=${before} after=${after} seconds=${seconds} ` +
				`first_batch_ms=${firstMs} live_before=${entitiesBefore} live_after=${entitiesAfter}`,
		),
	)
	// Exit here, inside the runner's scope: a graceful shutdown would only add seconds to the run (the database is
	// dropped by the parent).
	return yield* Effect.sync(() => process.exit(0))
})

program
	.pipe(
		// Like runners/runner/main.ts: the runner's layers need Crypto (ENCRYPTION_KEYS is set by MemoryBench).
		Effect.provide(RunnerLive.pipe(Layer.provide([DatabaseLive, CacheLive, CryptoLive]))),
		Effect.provide(Logger.minimumLogLevel(LogLevel.Error)),
		Effect.runPromise,
	)
	.then(
		() => process.exit(0),
		(error: unknown) => {
			console.error("memory probe failed", error)
			process.exit(1)
		},
	)
