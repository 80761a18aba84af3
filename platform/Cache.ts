// The one door to Redis: key/value with TTLs and pub/sub that reaches every process. Redis runs standalone, as a
// Cluster or behind Sentinel (REDIS_MODE); the all-in-one process without REDIS_URL uses an in-process twin with the
// same behaviour. Every key and channel carries REDIS_KEY_PREFIX so tenants of one Redis (and tests) never collide.
import {
	Config,
	ConfigError,
	Data,
	Duration,
	Effect,
	Layer,
	Match,
	Option,
	PubSub,
	Redacted,
	Ref,
	Stream,
} from "effect"
import { Cluster, Redis } from "ioredis"
import { Telemetry } from "./Telemetry.ts"

// --- [CONSTANTS]

const RedisConfig = Config.all({
	url: Config.option(
		Config.redacted("REDIS_URL").pipe(
			Config.withDescription("Redis URL (standalone mode); also carries the password"),
		),
	),
	mode: Config.literal(
		"standalone",
		"cluster",
		"sentinel",
	)("REDIS_MODE").pipe(Config.withDefault("standalone" as const), Config.withDescription("Redis topology")),
	nodes: Config.array(Config.string(), "REDIS_NODES").pipe(
		Config.withDefault([] as ReadonlyArray<string>),
		Config.withDescription("host:port list: cluster seed nodes, or the sentinels in sentinel mode"),
	),
	sentinelName: Config.string("REDIS_SENTINEL_NAME").pipe(
		Config.withDefault("mymaster"),
		Config.withDescription("Sentinel master name"),
	),
	keyPrefix: Config.string("REDIS_KEY_PREFIX").pipe(
		Config.withDefault("ecp:"),
		Config.withDescription("Prefix of every key and channel this deployment uses"),
	),
})

// --- [ERRORS]

class CacheUnavailable extends Data.TaggedError("CacheUnavailable")<{
	readonly operation: string
	readonly cause: unknown
}> {}

// --- [FUNCTIONS]

const parseNode = (node: string) => {
	const [host = "127.0.0.1", port = "6379"] = node.trim().split(":")
	return { host, port: Number(port) }
}

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
		readonly publish: (channel: string, message: string) => Effect.Effect<void, CacheUnavailable>
		readonly subscribe: (channel: string) => Stream.Stream<string, CacheUnavailable>
		readonly ping: Effect.Effect<void, CacheUnavailable>
		// Whether pub/sub is connected right now: while it is not, messages published meanwhile are lost to this
		// process, so anything kept in memory on the strength of them must not be trusted. Each reconnection bumps
		// `epoch`.
		readonly subscription: Effect.Effect<{ readonly connected: boolean; readonly epoch: number }>
	}
>() {}

// --- [LAYERS]

const makeRedisClient = (config: Config.Config.Success<typeof RedisConfig>) =>
	Match.value(config.mode).pipe(
		Match.when(
			"cluster",
			() =>
				new Cluster(config.nodes.map(parseNode), {
					redisOptions: { maxRetriesPerRequest: 2 },
					enableOfflineQueue: true,
				}) as Redis | Cluster,
		),
		Match.when(
			"sentinel",
			() =>
				new Redis({
					sentinels: config.nodes.map(parseNode),
					name: config.sentinelName,
					maxRetriesPerRequest: 2,
				}) as Redis | Cluster,
		),
		Match.when(
			"standalone",
			() =>
				new Redis(
					Option.match(config.url, {
						onNone: () => "redis://127.0.0.1:6379",
						onSome: Redacted.value,
					}),
					{ maxRetriesPerRequest: 2 },
				) as Redis | Cluster,
		),
		Match.exhaustive,
	)

// ioredis reports every failed reconnect as an "error" event (printed to the console when nobody listens). Failed
// operations already surface as CacheUnavailable where they happen; the connection's own errors go to debug logs.
const acquireClient = (config: Config.Config.Success<typeof RedisConfig>) =>
	Effect.acquireRelease(
		Effect.sync(() =>
			makeRedisClient(config).on("error", (error: Error) =>
				Effect.runFork(Effect.logDebug("redis connection error", error.message)),
			),
		),
		(client) => Effect.sync(() => client.disconnect()),
	)

const redisCall = <A>(operation: string, run: () => Promise<A>) =>
	Effect.tryPromise({ try: run, catch: (cause) => new CacheUnavailable({ operation, cause }) }).pipe(
		Telemetry.span(`Cache.${operation}`),
	)

const makeRedis = (config: Config.Config.Success<typeof RedisConfig>) =>
	Effect.gen(function* () {
		const client = yield* acquireClient(config)
		const subscriber = yield* acquireClient(config)
		const messages = yield* PubSub.unbounded<readonly [channel: string, message: string]>()
		const subscribed = yield* Ref.make(new Set<string>())
		const link = yield* Ref.make({ connected: false, epoch: 0 })
		subscriber.on("message", (channel: string, message: string) =>
			Effect.runSync(PubSub.publish(messages, [channel, message])),
		)
		subscriber.on("ready", () =>
			Effect.runSync(Ref.update(link, (state) => ({ connected: true, epoch: state.epoch + 1 }))),
		)
		subscriber.on("close", () => Effect.runSync(Ref.update(link, (state) => ({ ...state, connected: false }))))
		const prefixed = (name: string) => `${config.keyPrefix}${name}`
		const ensureSubscribed = (channel: string) =>
			Ref.modify(subscribed, (channels) =>
				channels.has(channel) ? [false, channels] : [true, new Set([...channels, channel])],
			).pipe(
				Effect.flatMap((isNew) =>
					Effect.when(
						redisCall("subscribe", () => subscriber.subscribe(channel)),
						() => isNew,
					),
				),
			)
		return Cache.of({
			get: (key) => redisCall("get", () => client.get(prefixed(key))).pipe(Effect.map(Option.fromNullable)),
			set: (key, value, ttl) =>
				redisCall("set", () => client.set(prefixed(key), value, "PX", Duration.toMillis(ttl))).pipe(
					Effect.asVoid,
				),
			del: (key) => redisCall("del", () => client.del(prefixed(key))).pipe(Effect.asVoid),
			take: (key) => redisCall("take", () => client.getdel(prefixed(key))).pipe(Effect.map(Option.fromNullable)),
			increment: (key, window) =>
				redisCall("increment", () =>
					client
						.multi()
						.incr(prefixed(key))
						.pexpire(prefixed(key), Duration.toMillis(window), "NX")
						.pttl(prefixed(key))
						.exec(),
				).pipe(
					Effect.flatMap((replies) =>
						Option.match(Option.fromNullable(replies), {
							onNone: () =>
								Effect.fail(new CacheUnavailable({ operation: "increment", cause: "aborted" })),
							onSome: (results) =>
								Effect.succeed({
									count: Number(results[0]?.[1]),
									remainingMillis: Math.max(0, Number(results[2]?.[1])),
								}),
						}),
					),
				),
			publish: (channel, message) =>
				redisCall("publish", () => client.publish(prefixed(channel), message)).pipe(Effect.asVoid),
			subscribe: (channel) =>
				Stream.unwrapScoped(
					Effect.gen(function* () {
						const queue = yield* PubSub.subscribe(messages)
						yield* ensureSubscribed(prefixed(channel))
						return Stream.fromQueue(queue).pipe(
							Stream.filter(([name]) => name === prefixed(channel)),
							Stream.map(([, message]) => message),
						)
					}),
				),
			ping: redisCall("ping", () => client.ping()).pipe(Effect.asVoid),
			subscription: Ref.get(link),
		})
	})

const makeMemory = Effect.gen(function* () {
	const entries = yield* Ref.make(new Map<string, { readonly value: string; readonly expiresAt: number }>())
	const messages = yield* PubSub.unbounded<readonly [channel: string, message: string]>()
	const now = Effect.clockWith((clock) => clock.currentTimeMillis)
	return Cache.of({
		get: (key) =>
			Effect.flatMap(now, (time) =>
				Ref.get(entries).pipe(
					Effect.map((map) =>
						Option.fromNullable(map.get(key)).pipe(
							Option.filter((entry) => entry.expiresAt > time),
							Option.map((entry) => entry.value),
						),
					),
				),
			),
		set: (key, value, ttl) =>
			Effect.flatMap(now, (time) =>
				Ref.update(entries, (map) =>
					new Map(map).set(key, { value, expiresAt: time + Duration.toMillis(ttl) }),
				),
			),
		del: (key) => Ref.update(entries, (map) => new Map([...map].filter(([name]) => name !== key))),
		take: (key) =>
			Effect.flatMap(now, (time) =>
				Ref.modify(entries, (map) => [
					Option.fromNullable(map.get(key)).pipe(
						Option.filter((entry) => entry.expiresAt > time),
						Option.map((entry) => entry.value),
					),
					new Map([...map].filter(([name]) => name !== key)),
				]),
			),
		increment: (key, window) =>
			Effect.flatMap(now, (time) =>
				Ref.modify(entries, (map) => {
					const current = Option.fromNullable(map.get(key)).pipe(
						Option.filter((entry) => entry.expiresAt > time),
						Option.getOrElse(() => ({ value: "0", expiresAt: time + Duration.toMillis(window) })),
					)
					const count = Number(current.value) + 1
					return [
						{ count, remainingMillis: current.expiresAt - time },
						new Map(map).set(key, { value: String(count), expiresAt: current.expiresAt }),
					]
				}),
			),
		publish: (channel, message) => PubSub.publish(messages, [channel, message]).pipe(Effect.asVoid),
		subscribe: (channel) =>
			Stream.fromPubSub(messages).pipe(
				Stream.filter(([name]) => name === channel),
				Stream.map(([, message]) => message),
			),
		ping: Effect.void,
		subscription: Effect.succeed({ connected: true, epoch: 1 }),
	})
})

// Runner and gateway: a real Redis is required.
const CacheLive = Layer.scoped(
	Cache,
	Effect.flatMap(RedisConfig, (config) =>
		config.mode === "standalone" && Option.isNone(config.url)
			? Effect.fail(
					ConfigError.MissingData(["REDIS_URL"], "REDIS_URL is required outside the all-in-one process"),
				)
			: makeRedis(config),
	),
)

const CacheMemory = Layer.effect(Cache, makeMemory)

// All-in-one: Redis when REDIS_URL (or a non-standalone mode) is configured, else in-process.
const CacheOrMemory = Layer.unwrapEffect(
	Effect.map(RedisConfig, (config) =>
		Option.isSome(config.url) || config.mode !== "standalone" ? CacheLive : CacheMemory,
	),
)

// --- [EXPORT]

export { Cache, CacheLive, CacheMemory, CacheOrMemory, CacheUnavailable, RedisConfig }
