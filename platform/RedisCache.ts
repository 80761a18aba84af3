// The Cache on Redis: standalone, as a Cluster or behind Sentinel (REDIS_MODE). Every key and channel carries
// REDIS_KEY_PREFIX; multi-key steps are Lua scripts, so every process sees them whole.
import {
	Config,
	ConfigError,
	Duration,
	Effect,
	Layer,
	Match,
	Option,
	PubSub,
	Redacted,
	Ref,
	Schedule,
	Stream,
} from "effect"
import { Cluster, Redis } from "ioredis"
import { Cache, CacheUnavailable } from "./Cache.ts"
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
	username: Config.option(
		Config.string("REDIS_USERNAME").pipe(
			Config.withDescription("Redis ACL user for the data nodes (default: the `default` user)"),
		),
	),
	password: Config.option(
		Config.redacted("REDIS_PASSWORD").pipe(
			Config.withDescription(
				"Password of the data nodes in every mode (standalone: only when REDIS_URL carries none)",
			),
		),
	),
	sentinelPassword: Config.option(
		Config.redacted("REDIS_SENTINEL_PASSWORD").pipe(
			Config.withDescription("Password of the sentinels themselves (sentinel mode)"),
		),
	),
	keyPrefix: Config.string("REDIS_KEY_PREFIX").pipe(
		Config.withDefault("ecp:"),
		Config.withDescription("Prefix of every key and channel this deployment uses"),
	),
})

// The pub/sub heartbeat: one message to ourselves this often; silence for the timeout means messages are being lost.
const HeartbeatIntervalMillis = 1_000
const HeartbeatTimeoutMillis = 3_500

// The longest a call waits for Redis. ioredis gives up on its own only in some failures: behind Sentinel when no
// sentinel lets it in (a wrong REDIS_SENTINEL_PASSWORD) and in cluster mode until the slots are known, it queues
// commands for as long as it keeps retrying. Every command here is quick, so no reply by then means unavailable.
const CallTimeout = Duration.seconds(5)

// Lua run by Redis as one step. Membership lives in a sorted set (score = deadline, ms) and a hash (values) that share
// a hash tag, so both are on one node in cluster mode.
const Scripts = {
	// PUBLISH with the channel declared as the key, so a Cluster client sends every message of one channel to the same
	// node (a bare PUBLISH goes to a random node, and messages relayed by different nodes arrive out of order).
	publish: `return redis.call('PUBLISH', KEYS[1], ARGV[1])`,
	publishNumbered: `local n = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[3] .. n .. ARGV[4])
return n`,
	join: `local deadline = redis.call('ZSCORE', KEYS[1], ARGV[1])
local fresh = (not deadline) or tonumber(deadline) <= tonumber(ARGV[5])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
redis.call('PEXPIRE', KEYS[2], ARGV[4])
if fresh then return 1 end
return 0`,
	refresh: `if not redis.call('ZSCORE', KEYS[1], ARGV[1]) then return 0 end
redis.call('ZADD', KEYS[1], 'XX', ARGV[2], ARGV[1])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('PEXPIRE', KEYS[2], ARGV[3])
return 1`,
	leave: `local removed = redis.call('ZREM', KEYS[1], ARGV[1])
local value = redis.call('HGET', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
if removed == 1 then return value or '' end
return false`,
	list: `local live = redis.call('ZRANGEBYSCORE', KEYS[1], ARGV[1], '+inf')
local out = {}
for _, member in ipairs(live) do
	table.insert(out, member)
	table.insert(out, redis.call('HGET', KEYS[2], member) or '')
end
return out`,
	// A token bucket (hash: t tokens, u last update ms, s strikes, b blocked until ms) on Redis' clock. ARGV: capacity,
	// ms per token, cost (0: only look), backoff base ms (0: none), backoff cap ms. Spending the last token with a
	// backoff blocks the bucket for base·2^(strikes-1) (capped); a bucket that refills completely forgets its strikes.
	// Returns {allowed, retry-after ms, whole tokens left}.
	bucket: `local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000 + math.floor(tonumber(clock[2]) / 1000)
local capacity, per, cost, base, cap = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4]), tonumber(ARGV[5])
local state = redis.call('HMGET', KEYS[1], 't', 'u', 's', 'b')
local updated = tonumber(state[2]) or now
local tokens = math.min(capacity, (tonumber(state[1]) or capacity) + math.max(0, now - updated) / per)
local strikes = tonumber(state[3]) or 0
local blocked = tonumber(state[4]) or 0
if tokens >= capacity then strikes = 0 end
if now < blocked then return {0, blocked - now, math.floor(tokens)} end
local need = math.max(cost, 1)
if tokens < need then return {0, math.ceil((need - tokens) * per), math.floor(tokens)} end
if cost == 0 then return {1, 0, math.floor(tokens)} end
tokens = tokens - cost
local retry = 0
if base > 0 and tokens < 1 then
	strikes = strikes + 1
	blocked = now + math.min(cap, base * 2 ^ (strikes - 1))
	retry = blocked - now
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'u', now, 's', strikes, 'b', blocked)
redis.call('PEXPIRE', KEYS[1], math.ceil(math.max(capacity * per, blocked - now) + cap))
return {1, math.ceil(retry), math.floor(tokens)}`,
	reap: `local expired = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
local out = {}
for _, member in ipairs(expired) do
	if redis.call('ZREM', KEYS[1], member) == 1 then
		table.insert(out, member)
		table.insert(out, redis.call('HGET', KEYS[2], member) or '')
		redis.call('HDEL', KEYS[2], member)
	end
end
return out`,
} as const

// --- [FUNCTIONS]

const parseNode = (node: string) => {
	const [host = "127.0.0.1", port = "6379"] = node.trim().split(":")
	return { host, port: Number(port) }
}

// The secrets leave their Redacted wrapper here, only to become ioredis options.
const revealed = (secret: Option.Option<Redacted.Redacted<string>>) =>
	Option.getOrUndefined(Option.map(secret, Redacted.value))

// The user name of a redis:// or rediss:// URL ("" when none) and its password (none when empty).
const urlCredentials = (url: string) =>
	Option.liftThrowable(() => new URL(url))().pipe(
		Option.filter((parsed) => /^rediss?:$/i.test(parsed.protocol)),
		Option.map((parsed) => ({
			parsed,
			username: decodeURIComponent(parsed.username),
			password: Option.filter(Option.some(decodeURIComponent(parsed.password)), (password) => password !== ""),
		})),
	)

// [a, 1, b, 2] → [[a, 1], [b, 2]]
const pairs = (flat: unknown): ReadonlyArray<readonly [string, string]> =>
	(Array.isArray(flat) ? flat : []).flatMap((value, index, all) =>
		index % 2 === 0 ? [[String(value), String(all[index + 1] ?? "")] as const] : [],
	)

// --- [LAYERS]

// The credentials in REDIS_URL win; without a password there, REDIS_USERNAME / REDIS_PASSWORD apply (a user name in
// the URL still wins). ioredis lets a URL's user info override the options, an empty password too, so a URL with a
// user name but no password goes without its user info.
const makeStandaloneClient = (config: Config.Config.Success<typeof RedisConfig>) => {
	const url = Option.match(config.url, { onNone: () => "redis://127.0.0.1:6379", onSome: Redacted.value })
	const inUrl = urlCredentials(url)
	const urlUser = Option.filter(
		Option.map(inUrl, (credentials) => credentials.username),
		(name) => name !== "",
	)
	return Option.exists(inUrl, (credentials) => Option.isSome(credentials.password))
		? new Redis(url, { maxRetriesPerRequest: 2 })
		: new Redis(
				Option.match(Option.zipRight(urlUser, inUrl), {
					onNone: () => url,
					onSome: (credentials) =>
						Object.assign(new URL(credentials.parsed.href), { username: "", password: "" }).href,
				}),
				{
					maxRetriesPerRequest: 2,
					username: Option.getOrUndefined(Option.orElse(urlUser, () => config.username)),
					password: revealed(config.password),
				},
			)
}

const makeRedisClient = (config: Config.Config.Success<typeof RedisConfig>) =>
	Match.value(config.mode).pipe(
		Match.when(
			"cluster",
			() =>
				new Cluster(config.nodes.map(parseNode), {
					redisOptions: {
						maxRetriesPerRequest: 2,
						username: Option.getOrUndefined(config.username),
						password: revealed(config.password),
					},
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
					username: Option.getOrUndefined(config.username),
					password: revealed(config.password),
					sentinelPassword: revealed(config.sentinelPassword),
				}) as Redis | Cluster,
		),
		Match.when("standalone", () => makeStandaloneClient(config) as Redis | Cluster),
		Match.exhaustive,
	)

// ioredis reports every failed reconnect as an "error" event (printed to the console when nobody listens). Failed
// operations already surface as CacheUnavailable where they happen; the connection's own errors go to debug logs.
// ioredis also re-subscribes by itself after a reconnect and drops the promise; a connection that closes in that
// moment (Redis flapping, or shutdown) would be an unhandled rejection, which ends a Node process. Every SUBSCRIBE's
// promise is marked handled here; callers that await it still see the failure.
const handledSubscribe = (client: Redis | Cluster) => {
	const subscribe = client.subscribe.bind(client)
	return Object.assign(client, {
		subscribe: (...channels: Array<string>) => {
			const pending = subscribe(...channels)
			pending.catch(() => undefined)
			return pending
		},
	})
}

const acquireClient = (config: Config.Config.Success<typeof RedisConfig>) =>
	Effect.acquireRelease(
		Effect.sync(() =>
			handledSubscribe(makeRedisClient(config)).on("error", (error: Error) =>
				Effect.runFork(Effect.logDebug("redis connection error", error.message)),
			),
		),
		(client) => Effect.sync(() => client.disconnect()),
	)

const redisCall = <A>(operation: string, run: () => Promise<A>) =>
	Effect.tryPromise({ try: run, catch: (cause) => new CacheUnavailable({ operation, cause }) }).pipe(
		Effect.timeoutFail({
			duration: CallTimeout,
			onTimeout: () =>
				new CacheUnavailable({ operation, cause: `no reply within ${Duration.format(CallTimeout)}` }),
		}),
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
		// In cluster mode a subscription can move to another node without any event on this client, losing what was
		// published meanwhile. A heartbeat through pub/sub itself tells: no echo for a while → not connected; the echo
		// back → connected again, with a new epoch.
		const heartbeat = `${config.keyPrefix}heartbeat:${crypto.randomUUID()}`
		const lastEcho = yield* Ref.make(Date.now())
		subscriber.on("message", (channel: string) =>
			channel === heartbeat
				? Effect.runSync(
						Ref.set(lastEcho, Date.now()).pipe(
							Effect.zipRight(
								Ref.update(link, (state) =>
									state.connected ? state : { connected: true, epoch: state.epoch + 1 },
								),
							),
						),
					)
				: undefined,
		)
		// Not waited for beyond CallTimeout: ioredis still sends it once connected, and until the echo comes back
		// pub/sub counts as disconnected.
		yield* redisCall("subscribe", () => subscriber.subscribe(heartbeat)).pipe(Effect.ignore)
		yield* Effect.gen(function* () {
			yield* redisCall("publish", () => client.publish(heartbeat, "beat")).pipe(Effect.ignore)
			const silentFor = Date.now() - (yield* Ref.get(lastEcho))
			yield* Effect.when(
				Ref.update(link, (state) => ({ ...state, connected: false })),
				() => silentFor > HeartbeatTimeoutMillis,
			)
		}).pipe(Effect.repeat(Schedule.spaced(HeartbeatIntervalMillis)), Effect.forkScoped)
		const prefixed = (name: string) => `${config.keyPrefix}${name}`
		const memberKeys = (set: string) => [
			prefixed(`members:{${set}}:deadlines`),
			prefixed(`members:{${set}}:values`),
		]
		const now = Effect.clockWith((clock) => clock.currentTimeMillis)
		// A channel counts as subscribed only once Redis said so: a failed SUBSCRIBE is tried again by the next stream.
		const ensureSubscribed = (channel: string) =>
			Ref.modify(subscribed, (channels) =>
				channels.has(channel) ? [false, channels] : [true, new Set([...channels, channel])],
			).pipe(
				Effect.flatMap((isNew) =>
					Effect.when(
						redisCall("subscribe", () => subscriber.subscribe(channel)).pipe(
							Effect.tapError(() =>
								Ref.update(
									subscribed,
									(channels) => new Set([...channels].filter((name) => name !== channel)),
								),
							),
						),
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
			bucket: (key, options) =>
				redisCall("bucket", () =>
					client.eval(
						Scripts.bucket,
						1,
						prefixed(key),
						options.capacity,
						Duration.toMillis(options.refill),
						options.cost,
						Option.getOrElse(
							Option.map(Option.fromNullable(options.backoff), (backoff) =>
								Duration.toMillis(backoff.base),
							),
							() => 0,
						),
						Option.getOrElse(
							Option.map(Option.fromNullable(options.backoff), (backoff) =>
								Duration.toMillis(backoff.max),
							),
							() => 0,
						),
					),
				).pipe(
					Effect.map((reply) => {
						const [allowed, retryAfterMillis, remaining] = (Array.isArray(reply) ? reply : []).map(Number)
						return {
							allowed: allowed === 1,
							retryAfterMillis: retryAfterMillis ?? 0,
							remaining: remaining ?? 0,
						}
					}),
				),
			publish: (channel, message) =>
				redisCall("publish", () => client.eval(Scripts.publish, 1, prefixed(channel), message)).pipe(
					Effect.asVoid,
				),
			publishNumbered: (options) =>
				redisCall("publishNumbered", () =>
					client.eval(
						Scripts.publishNumbered,
						1,
						prefixed(options.counter),
						Duration.toMillis(options.counterTtl),
						prefixed(options.channel),
						options.before,
						options.after,
					),
				).pipe(Effect.map(Number)),
			members: {
				join: (set, member, value, ttl) =>
					Effect.flatMap(now, (time) =>
						redisCall("members.join", () =>
							client.eval(
								Scripts.join,
								2,
								...memberKeys(set),
								member,
								time + Duration.toMillis(ttl),
								value,
								2 * Duration.toMillis(ttl),
								time,
							),
						),
					).pipe(Effect.map((added) => Number(added) === 1)),
				refresh: (entries, ttl) =>
					Effect.flatMap(now, (time) =>
						Effect.forEach(
							entries,
							([set, member]) =>
								redisCall("members.refresh", () =>
									client.eval(
										Scripts.refresh,
										2,
										...memberKeys(set),
										member,
										time + Duration.toMillis(ttl),
										2 * Duration.toMillis(ttl),
									),
								).pipe(Effect.map((changed) => Number(changed) === 1)),
							{ concurrency: 16 },
						),
					),
				leave: (set, member) =>
					redisCall("members.leave", () => client.eval(Scripts.leave, 2, ...memberKeys(set), member)).pipe(
						Effect.map((value) => Option.map(Option.fromNullable(value), String)),
					),
				list: (set) =>
					Effect.flatMap(now, (time) =>
						redisCall("members.list", () => client.eval(Scripts.list, 2, ...memberKeys(set), time + 1)),
					).pipe(Effect.map(pairs)),
				reap: (set) =>
					Effect.flatMap(now, (time) =>
						redisCall("members.reap", () => client.eval(Scripts.reap, 2, ...memberKeys(set), time)),
					).pipe(Effect.map(pairs)),
			},
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

// --- [EXPORT]

export { CacheLive, RedisConfig }
