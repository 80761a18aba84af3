// `npm start`: gateway + runner in one process. No DATABASE_URL → embedded PostgreSQL under DATA_DIR; no REDIS_URL →
// in-process cache and pub/sub; no ADMIN_TOKEN / ENCRYPTION_KEYS → generated once under DATA_DIR.
import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { GatewayConfigLive } from "../../gateway/GatewayConfig.ts"
import { GatewayServerLive } from "../../gateway/Server.ts"
import { CacheOrMemory } from "../../platform/Cache.ts"
import { CryptoLive } from "../../platform/Crypto.ts"
import { DatabaseOrEmbedded } from "../../platform/Database.ts"
import { LoggingLive } from "../../platform/Logging.ts"
import { withLocalSecrets } from "../LocalSecrets.ts"
import { RunnerLive } from "../Runner.ts"
import { ShutdownDeadlineLive } from "../Shutdown.ts"

const AllInOneLive = GatewayServerLive.pipe(
	Layer.provide(GatewayConfigLive),
	Layer.provideMerge(RunnerLive),
	Layer.provideMerge(Layer.merge(CryptoLive, CacheOrMemory)),
	Layer.provideMerge(DatabaseOrEmbedded),
)

withLocalSecrets(AllInOneLive).pipe(
	Layer.provide([LoggingLive, ShutdownDeadlineLive]),
	Layer.launch,
	NodeRuntime.runMain,
)
