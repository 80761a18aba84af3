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
	Schedule,
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

const MemoryCacheConfig = Config.integer("CACHE_MEMORY_MAX_ENTRIES").pipe(
	Config.validate({
		message: "CACHE_MEMORY_MAX_ENTRIES must be a positive integer",
		validation: (capacity) => capacity > 0,
	}),
	Config.withDefault(100_000),
	Config.withDescription("Most entries the in-process cache (no Redis) keeps; the least recently used go first"),
)

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

type Membership = { readonly value: string; readonly deadline: number }

type BucketOptions = {
	readonly capacity: number
	readonly refill: Duration.DurationInput
	readonly cost: number
	readonly backoff?: { readonly base: Duration.DurationInput; readonly max: Duration.DurationInput } | undefined
}

type BucketAnswer = { readonly allowed: boolean; readonly retryAfterMillis: number; readonly remaining: number }

type BucketState = {
	readonly tokens: number
	readonly updated: number
	readonly strikes: number
	readonly blocked: number
}

// The bucket of Scripts.bucket as a pure step, for the in-process twin.
const bucketStep = (
	stored: BucketState | undefined,
	now: number,
	options: BucketOptions,
): readonly [BucketAnswer, BucketState | undefined] => {
	const per = Duration.toMillis(options.refill)
	const [base, cap] = Option.match(Option.fromNullable(options.backoff), {
		onNone: () => [0, 0],
		onSome: (backoff) => [Duration.toMillis(backoff.base), Duration.toMillis(backoff.max)],
	})
	const tokens = Math.min(
		options.capacity,
		(stored?.tokens ?? options.capacity) + Math.max(0, now - (stored?.updated ?? now)) / per,
	)
	const strikes = tokens >= options.capacity ? 0 : (stored?.strikes ?? 0)
	const blocked = stored?.blocked ?? 0
	const need = Math.max(options.cost, 1)
	const left = tokens - options.cost
	const struck = base > 0 && left < 1
	const until = struck ? now + Math.min(cap, base * 2 ** strikes) : blocked
	return now < blocked
		? [{ allowed: false, retryAfterMillis: blocked - now, remaining: Math.floor(tokens) }, stored]
		: tokens < need
			? [
					{
						allowed: false,
						retryAfterMillis: Math.ceil((need - tokens) * per),
						remaining: Math.floor(tokens),
					},
					stored,
				]
			: options.cost === 0
				? [{ allowed: true, retryAfterMillis: 0, remaining: Math.floor(tokens) }, stored]
				: [
						{ allowed: true, retryAfterMillis: struck ? until - now : 0, remaining: Math.floor(left) },
						{ tokens: left, updated: now, strikes: struck ? strikes + 1 : strikes, blocked: until },
					]
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
		readonly bucket: (key: string, options: BucketOptions) => Effect.Effect<BucketAnswer, CacheUnavailable>
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

// The in-process twin. Entries live in one Map whose insertion order is their recency: every read or write moves its
// key to the end, so the first key is the least recently used and goes when a write passes CACHE_MEMORY_MAX_ENTRIES.
// Expired entries are dropped when touched. Each operation is one synchronous step on the Map (O(1) per key), so no
// other fiber ever sees it half done.
const makeMemory = Effect.gen(function* () {
	const capacity = yield* MemoryCacheConfig
	const entries = new Map<string, { readonly value: string; readonly expiresAt: number }>()
	const messages = yield* PubSub.unbounded<readonly [channel: string, message: string]>()
	const memberships = new Map<string, Map<string, Membership>>()
	const buckets = new Map<string, BucketState>()
	const now = Effect.clockWith((clock) => clock.currentTimeMillis)
	const atNow = <A>(step: (time: number) => A) => Effect.flatMap(now, (time) => Effect.sync(() => step(time)))
	// The live entry of `key`, now the most recently used; an expired one is dropped.
	const touch = (key: string, time: number) => {
		const entry = Option.filter(Option.fromNullable(entries.get(key)), (found) => found.expiresAt > time)
		entries.delete(key)
		return Option.map(entry, (found) => (entries.set(key, found), found))
	}
	// `key` becomes the most recently used of `map`; past the capacity the least recently used goes.
	const remember = <V>(map: Map<string, V>, key: string, value: V) => {
		map.delete(key)
		map.set(key, value)
		Option.map(
			Option.filter(Option.fromIterable(map.keys()), () => map.size > capacity),
			(oldest) => map.delete(oldest),
		)
	}
	const write = (key: string, value: string, expiresAt: number) => remember(entries, key, { value, expiresAt })
	const membersOf = (set: string) =>
		Option.getOrElse(Option.fromNullable(memberships.get(set)), () => {
			const created = new Map<string, Membership>()
			memberships.set(set, created)
			return created
		})
	// A set left empty is forgotten, so sets of channels nobody uses any more do not accumulate.
	const forgetIfEmpty = (set: string) =>
		Option.map(
			Option.filter(Option.fromNullable(memberships.get(set)), (members) => members.size === 0),
			() => memberships.delete(set),
		)
	return Cache.of({
		// A bucket that changed becomes the most recently used; past the capacity the least recently used goes (a
		// forgotten bucket is a full one, the same as one never used).
		bucket: (key, options) =>
			atNow((time) => {
				const [answer, next] = bucketStep(buckets.get(key), time, options)
				Option.map(Option.fromNullable(next), (state) => remember(buckets, key, state))
				return answer
			}),
		get: (key) => atNow((time) => Option.map(touch(key, time), (entry) => entry.value)),
		set: (key, value, ttl) => atNow((time) => write(key, value, time + Duration.toMillis(ttl))),
		del: (key) => Effect.sync(() => entries.delete(key)).pipe(Effect.asVoid),
		take: (key) =>
			atNow((time) => {
				const taken = Option.map(touch(key, time), (entry) => entry.value)
				entries.delete(key)
				return taken
			}),
		increment: (key, window) =>
			atNow((time) => {
				const current = Option.getOrElse(touch(key, time), () => ({
					value: "0",
					expiresAt: time + Duration.toMillis(window),
				}))
				const count = Number(current.value) + 1
				write(key, String(count), current.expiresAt)
				return { count, remainingMillis: current.expiresAt - time }
			}),
		publish: (channel, message) => PubSub.publish(messages, [channel, message]).pipe(Effect.asVoid),
		publishNumbered: (options) =>
			atNow((time) => {
				const next =
					Option.getOrElse(
						Option.map(touch(options.counter, time), (entry) => Number(entry.value)),
						() => 0,
					) + 1
				write(options.counter, String(next), time + Duration.toMillis(options.counterTtl))
				return next
			}).pipe(
				Effect.tap((next) =>
					PubSub.publish(messages, [options.channel, `${options.before}${next}${options.after}`]),
				),
			),
		members: {
			join: (set, member, value, ttl) =>
				atNow((time) => {
					const members = membersOf(set)
					const live = Option.exists(
						Option.fromNullable(members.get(member)),
						(entry) => entry.deadline > time,
					)
					members.set(member, { value, deadline: time + Duration.toMillis(ttl) })
					return !live
				}),
			refresh: (refreshed, ttl) =>
				atNow((time) =>
					refreshed.map(([set, member]) =>
						Option.match(Option.fromNullable(memberships.get(set)?.get(member)), {
							onNone: () => false,
							onSome: (entry) => (
								membersOf(set).set(member, { ...entry, deadline: time + Duration.toMillis(ttl) }),
								true
							),
						}),
					),
				),
			leave: (set, member) =>
				Effect.sync(() => {
					const left = Option.map(
						Option.fromNullable(memberships.get(set)?.get(member)),
						(entry) => entry.value,
					)
					memberships.get(set)?.delete(member)
					forgetIfEmpty(set)
					return left
				}),
			list: (set) =>
				atNow((time) =>
					[...(memberships.get(set) ?? new Map<string, Membership>())]
						.filter(([, entry]) => entry.deadline > time)
						.map(([member, entry]) => [member, entry.value] as const),
				),
			reap: (set) =>
				atNow((time) => {
					const expired = [...(memberships.get(set) ?? new Map<string, Membership>())].filter(
						([, entry]) => entry.deadline <= time,
					)
					expired.forEach(([member]) => memberships.get(set)?.delete(member))
					forgetIfEmpty(set)
					return expired.map(([member, entry]) => [member, entry.value] as const)
				}),
		},
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
