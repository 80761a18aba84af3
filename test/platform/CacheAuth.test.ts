// The cache on password-protected Redis: a Cluster whose nodes require a password, and a master + replica behind
// Sentinels where the data nodes and the sentinels each require their own. With REDIS_PASSWORD (and
// REDIS_SENTINEL_PASSWORD) right, values and pub/sub work; with either wrong, ping fails with CacheUnavailable
// instead of hanging.
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Ref, Schedule, Stream } from "effect"
import { Cache, CacheUnavailable } from "../../platform/Cache.ts"
import { CacheLive } from "../../platform/RedisCache.ts"
import { startRedisCluster, startRedisSentinel } from "../fixtures/RedisTopologies.ts"

// --- [CONSTANTS]

const DataPassword = "data-secret"
const SentinelPassword = "sentinel-secret"

// --- [FUNCTIONS]

// A cache built from `config` alone (no environment), like the contract suite's, for the enclosing scope.
const cacheWith = (config: Record<string, string>) =>
	Layer.build(
		CacheLive.pipe(
			Layer.provide(
				Layer.setConfigProvider(
					ConfigProvider.fromMap(
						new Map(Object.entries({ ...config, REDIS_KEY_PREFIX: `auth:${crypto.randomUUID()}:` })),
					),
				),
			),
		),
	).pipe(Effect.map((context) => context.unsafeMap.get(Cache.key) as Cache["Type"]))

// Values round-trip and a subscriber hears what is published after it subscribed.
const works = (config: Record<string, string>) =>
	Effect.gen(function* () {
		const cache = yield* cacheWith(config)
		yield* cache.ping
		yield* cache.set("key", "value", "1 minute")
		expect(yield* cache.get("key")).toEqual(Option.some("value"))
		const received = yield* Ref.make<ReadonlyArray<string>>([])
		yield* cache.subscribe("news").pipe(
			Stream.runForEach((message) => Ref.update(received, (all) => [...all, message])),
			Effect.forkScoped,
		)
		// Publish until the subscription is live and the message came back.
		yield* cache.publish("news", "hello").pipe(
			Effect.zipRight(Ref.get(received)),
			Effect.repeat({
				until: (all) => all.includes("hello"),
				schedule: Schedule.spaced("50 millis"),
			}),
			Effect.timeout("10 seconds"),
		)
	})

// ping fails with CacheUnavailable, not a timeout of ours. Where ioredis keeps retrying, building the cache waits out
// one call timeout (the heartbeat subscription) and ping another.
const refused = (config: Record<string, string>) =>
	Effect.gen(function* () {
		const error = yield* cacheWith(config).pipe(
			Effect.flatMap((cache) => cache.ping),
			Effect.timeout("15 seconds"),
			Effect.flip,
		)
		expect(error).toBeInstanceOf(CacheUnavailable)
	})

// --- [SUITE]

const timeout = 30_000

describe("cache on a Redis Cluster with a password", () => {
	let cluster: Awaited<ReturnType<typeof startRedisCluster>>
	beforeAll(async () => {
		cluster = await startRedisCluster({ password: DataPassword })
	}, 60_000)
	afterAll(() => cluster.stop())
	const config = () => ({ REDIS_MODE: "cluster", REDIS_NODES: cluster.nodes })

	it.scopedLive("works with REDIS_PASSWORD", () => works({ ...config(), REDIS_PASSWORD: DataPassword }), timeout)

	it.scopedLive(
		"fails with CacheUnavailable under a wrong REDIS_PASSWORD",
		() => refused({ ...config(), REDIS_PASSWORD: "wrong" }),
		timeout,
	)
})

describe("cache behind Redis Sentinel with passwords", () => {
	let sentinel: Awaited<ReturnType<typeof startRedisSentinel>>
	beforeAll(async () => {
		sentinel = await startRedisSentinel({ password: DataPassword, sentinelPassword: SentinelPassword })
	}, 60_000)
	afterAll(() => sentinel.stop())
	const config = () => ({ REDIS_MODE: "sentinel", REDIS_NODES: sentinel.sentinels })

	it.scopedLive(
		"works with REDIS_PASSWORD and REDIS_SENTINEL_PASSWORD",
		() => works({ ...config(), REDIS_PASSWORD: DataPassword, REDIS_SENTINEL_PASSWORD: SentinelPassword }),
		timeout,
	)

	it.scopedLive(
		"fails with CacheUnavailable under a wrong REDIS_PASSWORD",
		() => refused({ ...config(), REDIS_PASSWORD: "wrong", REDIS_SENTINEL_PASSWORD: SentinelPassword }),
		timeout,
	)

	it.scopedLive(
		"fails with CacheUnavailable under a wrong REDIS_SENTINEL_PASSWORD",
		() => refused({ ...config(), REDIS_PASSWORD: DataPassword, REDIS_SENTINEL_PASSWORD: "wrong" }),
		timeout,
	)
})
