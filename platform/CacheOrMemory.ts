// Which Cache the all-in-one process uses: Redis when REDIS_URL (or a non-standalone REDIS_MODE) is configured, else
// the in-process one.
import { Effect, Layer, Option } from "effect"
import { CacheMemory } from "./MemoryCache.ts"
import { CacheLive, RedisConfig } from "./RedisCache.ts"

// --- [LAYERS]

const CacheOrMemory = Layer.unwrapEffect(
	Effect.map(RedisConfig, (config) =>
		Option.isSome(config.url) || config.mode !== "standalone" ? CacheLive : CacheMemory,
	),
)

// --- [EXPORT]

export { CacheOrMemory }
