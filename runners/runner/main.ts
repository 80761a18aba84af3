// `npm run runner`: one runner process (DATABASE_URL, REDIS_URL and ENCRYPTION_KEYS required).
import { NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { CacheLive } from "../../platform/Cache.ts"
import { CryptoLive } from "../../platform/Crypto.ts"
import { DatabaseLive } from "../../platform/Database.ts"
import { LoggingLive } from "../../platform/Logging.ts"
import { RunnerLive } from "../Runner.ts"
import { ShutdownDeadlineLive } from "../Shutdown.ts"

RunnerLive.pipe(
	Layer.provide([DatabaseLive, CacheLive, CryptoLive]),
	Layer.provide([LoggingLive, ShutdownDeadlineLive]),
	Layer.launch,
	NodeRuntime.runMain,
)
