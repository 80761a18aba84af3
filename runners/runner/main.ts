// `npm run runner`: one runner process (DATABASE_URL, REDIS_URL and ENCRYPTION_KEYS required). It logs one line once
// it has joined the cluster; a start that cannot succeed ends with one line saying what to change.
import { Effect, Layer, Option } from "effect"
import { CacheLive } from "../../platform/RedisCache.ts"
import { CryptoLive } from "../../platform/Crypto.ts"
import { DatabaseLive } from "../../platform/Database.ts"
import { LoggingLive } from "../../platform/Logging.ts"
import { Startup } from "../../platform/Startup.ts"
import { ClusterConfig } from "../../platform/Cluster.ts"
import { RunnerLive } from "../Runner.ts"
import { RunnerMetricsServerLive } from "../../platform/Metrics.ts"
import { OtlpExportLive } from "../../platform/OtlpExport.ts"
import { ShutdownDeadlineLive } from "../../platform/Shutdown.ts"

const main = Effect.gen(function* () {
	const cluster = yield* ClusterConfig
	const listenHost = Option.getOrElse(cluster.listenHost, () => cluster.host)
	yield* Startup.ensurePortFree("RUNNER_PORT", listenHost, cluster.port)
	yield* Layer.build(
		RunnerMetricsServerLive.pipe(
			Layer.provideMerge(RunnerLive),
			Layer.provide([DatabaseLive, CacheLive, CryptoLive]),
		),
	)
	yield* Effect.logInfo(`runner joined the cluster at ${cluster.host}:${cluster.port} (listening on ${listenHost})`)
	return yield* Effect.never
})

main.pipe(
	Effect.scoped,
	Effect.provide([OtlpExportLive("runner"), LoggingLive, ShutdownDeadlineLive]),
	Startup.runMain("runner"),
)
