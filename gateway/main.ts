// `npm run gateway`: one stateless gateway, a client-only member of the cluster (DATABASE_URL and REDIS_URL required).
// It logs one line once it serves (and a warning when ADMIN_TOKEN is unset); a start that cannot succeed ends with
// one line saying what to change.
import { Effect, Layer } from "effect"
import { ClientClusterLive } from "../platform/Cluster.ts"
import { ShutdownDeadlineLive } from "../platform/Shutdown.ts"
import { CacheLive } from "../platform/RedisCache.ts"
import { DatabaseLive } from "../platform/Database.ts"
import { LoggingLive } from "../platform/Logging.ts"
import { OtlpExportLive } from "../platform/OtlpExport.ts"
import { Startup } from "../platform/Startup.ts"
import { GatewayConfigLive, GatewayConfigRecipe } from "./GatewayConfig.ts"
import { GatewayServerLive } from "./Server.ts"

const GatewayLive = GatewayServerLive.pipe(
	Layer.provide([ClientClusterLive, CacheLive, GatewayConfigLive]),
	Layer.provideMerge(DatabaseLive),
)

const main = Effect.gen(function* () {
	const config = yield* GatewayConfigRecipe
	yield* Startup.ensurePortFree("GATEWAY_PORT", config.host, config.port)
	yield* Layer.build(GatewayLive)
	const url = `http://${config.host}:${config.port}`
	yield* Effect.logInfo(`gateway serving ${url} (API docs: ${url}/docs)`)
	return yield* Effect.never
})

main.pipe(
	Effect.scoped,
	Effect.provide([OtlpExportLive("gateway"), LoggingLive, ShutdownDeadlineLive]),
	Startup.runMain("gateway"),
)
