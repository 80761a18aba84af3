// The one door to Redis: key/value with TTLs and pub/sub that reaches every process. This file is the contract; the
// implementations are RedisCache.ts (standalone, Cluster or Sentinel, REDIS_MODE) and MemoryCache.ts (the all-in-one
// process without REDIS_URL: an in-process twin with the same behaviour), chosen by CacheOrMemory.ts. Every key and
// channel carries REDIS_KEY_PREFIX so tenants of one Redis (and tests) never collide.
import { type Context, Data, Duration, Effect, Option, Stream } from "effect"

// --- [ERRORS]

class CacheUnavailable extends Data.TaggedError("CacheUnavailable")<{
	readonly operation: string
	readonly cause: unknown
}> {}

// --- [SERVICES]

class Cache extends Effect.Tag("platform/Cache")<
	Cache,
	{
		readonly get: (key: string) => Effect.Effect<Option.Option<string>, CacheUnavailable>
		readonly set: (key: string, value: string, ttl: Duration.DurationInput) => Effect.Effect<void, CacheUnavailable>
		readonly del: (key: string) => Effect.Effect<void, CacheUnavailable>
		// Read and delete in one step: of two concurrent takes, one gets the value.
		readonly take: (key: string) => Effect.Effect<Option.Option<string>, CacheUnavailable>
		// A fixed-window counter: the count after this increment and the time left in its window.
		readonly increment: (
			key: string,
			window: Duration.DurationInput,
		) => Effect.Effect<{ readonly count: number; readonly remainingMillis: number }, CacheUnavailable>
		// A token bucket shared by every process (see Scripts.bucket); `cost` 0 only looks.
		readonly bucket: (
			key: string,
			options: {
				readonly capacity: number
				readonly refill: Duration.DurationInput
				readonly cost: number
				readonly backoff?:
					{ readonly base: Duration.DurationInput; readonly max: Duration.DurationInput } | undefined
			},
		) => Effect.Effect<
			{ readonly allowed: boolean; readonly retryAfterMillis: number; readonly remaining: number },
			CacheUnavailable
		>
		readonly publish: (channel: string, message: string) => Effect.Effect<void, CacheUnavailable>
		// Increments `counter` (kept `counterTtl` after its last use) and publishes `before + n + after` on `channel`
		// in one atomic step, so the messages of one counter are published in counter order; returns n.
		readonly publishNumbered: (options: {
			readonly counter: string
			readonly counterTtl: Duration.DurationInput
			readonly channel: string
			readonly before: string
			readonly after: string
		}) => Effect.Effect<number, CacheUnavailable>
		// A set whose members expire unless refreshed, each with a value (presence).
		readonly members: {
			// True when the member is new (false: it was there and its value and deadline were replaced).
			readonly join: (
				set: string,
				member: string,
				value: string,
				ttl: Duration.DurationInput,
			) => Effect.Effect<boolean, CacheUnavailable>
			// Pushes the deadline of each given membership; false for those no longer present.
			readonly refresh: (
				entries: ReadonlyArray<readonly [set: string, member: string]>,
				ttl: Duration.DurationInput,
			) => Effect.Effect<ReadonlyArray<boolean>, CacheUnavailable>
			// The member's value when it was present (and is now removed).
			readonly leave: (set: string, member: string) => Effect.Effect<Option.Option<string>, CacheUnavailable>
			readonly list: (set: string) => Effect.Effect<ReadonlyArray<readonly [string, string]>, CacheUnavailable>
			// Removes the members past their deadline and returns them; of concurrent reapers, each member goes to one.
			readonly reap: (set: string) => Effect.Effect<ReadonlyArray<readonly [string, string]>, CacheUnavailable>
		}
		readonly subscribe: (channel: string) => Stream.Stream<string, CacheUnavailable>
		readonly ping: Effect.Effect<void, CacheUnavailable>
		// Whether pub/sub is connected right now: while it is not, messages published meanwhile are lost to this
		// process, so anything kept in memory on the strength of them must not be trusted. Each reconnection bumps
		// `epoch`.
		readonly subscription: Effect.Effect<{ readonly connected: boolean; readonly epoch: number }>
	}
>() {}

// The token bucket's terms and answer, as the service states them (MemoryCache implements the same arithmetic).
type BucketOptions = Parameters<Context.Tag.Service<Cache>["bucket"]>[1]
type BucketAnswer = Effect.Effect.Success<ReturnType<Context.Tag.Service<Cache>["bucket"]>>

// --- [EXPORT]

export { type BucketAnswer, type BucketOptions, Cache, CacheUnavailable }
