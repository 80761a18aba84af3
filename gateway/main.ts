// `npm run gateway`: one stateless gateway, a client-only member of the cluster (DATABASE_URL and REDIS_URL required).
import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { ClientClusterLive } from "../runners/Cluster.ts"
import { ShutdownDeadlineLive } from "../runners/Shutdown.ts"
import { CacheLive } from "../platform/Cache.ts"
import { DatabaseLive } from "../platform/Database.ts"
import { LoggingLive } from "../platform/Logging.ts"
import { GatewayConfigLive } from "./GatewayConfig.ts"
import { GatewayServerLive } from "./Server.ts"

GatewayServerLive.pipe(
	Layer.provide([ClientClusterLive, CacheLive, GatewayConfigLive]),
	Layer.provideMerge(DatabaseLive),
	Layer.provide([LoggingLive, ShutdownDeadlineLive]),
	Layer.launch,
	NodeRuntime.runMain,
)
