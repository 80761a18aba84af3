// One contract for the cache service, whatever is behind it: a private standalone Redis, a six-node Redis Cluster,
// a master + replica behind three Sentinels (each started by this file, each run under its own key prefix), and the
// in-process twin. Values expire, take is single-use, counters keep a fixed window, a subscriber hears what is
// published after it subscribed, numbered publishes arrive numbered 1..N in order, and expired members are reaped
// exactly once.
import { expect, layer, type Vitest } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, Ref, Schedule, Stream } from "effect"
import { Cache } from "../../platform/Cache.ts"
import { CacheMemory } from "../../platform/MemoryCache.ts"
import { CacheLive } from "../../platform/RedisCache.ts"
import { startRedisCluster, startRedisSentinel, startRedisStandalone } from "../fixtures/RedisTopologies.ts"

// --- [TYPES]

type Topology = { readonly config: Record<string, string>; readonly stop: () => Promise<void> }

// --- [FUNCTIONS]

// CacheLive over a topology started with the layer and stopped after the cache's connections are closed.
const redisCache = (start: () => Promise<Topology>) =>
	Layer.unwrapScoped(
		Effect.acquireRelease(Effect.promise(start), (topology) => Effect.promise(topology.stop)).pipe(
			Effect.map((topology) =>
				CacheLive.pipe(
					Layer.provide(
						Layer.setConfigProvider(
							ConfigProvider.fromMap(
								new Map(
									Object.entries({
										...topology.config,
										REDIS_KEY_PREFIX: `contract:${crypto.randomUUID()}:`,
									}),
								),
							),
						),
					),
				),
			),
		),
	)

const fresh = (label: string) => `${label}:${crypto.randomUUID()}`

const range = (count: number) => Array.from({ length: count }, (_, index) => index + 1)

const sorted = (entries: ReadonlyArray<readonly [string, string]>) =>
	[...entries].sort(([left], [right]) => left.localeCompare(right))

// Polls `read` until `done` holds (10 s at most).
const eventually = <A, E, R>(read: Effect.Effect<A, E, R>, done: (value: A) => boolean) =>
	read.pipe(
		Effect.repeat({ until: done, schedule: Schedule.addDelay(Schedule.identity<A>(), () => "20 millis") }),
		Effect.timeout("10 seconds"),
	)

// Collects what `channel` delivers, from a fiber of the test's scope. Returns once a probe published on the channel
// came back, so everything published afterwards must arrive; `received` leaves the probes out.
const listen = (channel: string) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const received = yield* Ref.make<ReadonlyArray<string>>([])
		yield* cache.subscribe(channel).pipe(
			Stream.runForEach((message) => Ref.update(received, (all) => [...all, message])),
			Effect.forkScoped,
		)
		yield* eventually(cache.publish(channel, "probe").pipe(Effect.zipRight(Ref.get(received))), (all) =>
			all.includes("probe"),
		)
		return Ref.get(received).pipe(Effect.map((all) => all.filter((message) => message !== "probe")))
	})

// --- [SUITE]

const contract = (it: Vitest.MethodsNonLive<Cache, true>) => {
	it.effect("get/set/del, and a value is gone after its ttl", () =>
		Effect.gen(function* () {
			const cache = yield* Cache
			const [short, long, removed] = [fresh("short"), fresh("long"), fresh("removed")]
			expect(yield* cache.get(short)).toEqual(Option.none())
			yield* cache.set(short, "a", "300 millis")
			yield* cache.set(long, "b", "1 minute")
			yield* cache.set(removed, "c", "1 minute")
			yield* cache.del(removed)
			yield* cache.del(fresh("never-set"))
			// `short` is not read before its expiry: on a loaded machine 300 ms can pass before that read.
			expect(yield* Effect.all([cache.get(long), cache.get(removed)])).toEqual([Option.some("b"), Option.none()])
			yield* cache.set(long, "b2", "1 minute")
			yield* Effect.sleep("500 millis")
			expect(yield* Effect.all([cache.get(short), cache.get(long)])).toEqual([Option.none(), Option.some("b2")])
		}),
	)

	it.effect("take is single-use: of 10 concurrent takes exactly one gets the value", () =>
		Effect.gen(function* () {
			const cache = yield* Cache
			const [key, expiring] = [fresh("take"), fresh("take-expiring")]
			yield* cache.set(key, "once", "1 minute")
			const taken = yield* Effect.all(
				range(10).map(() => cache.take(key)),
				{ concurrency: "unbounded" },
			)
			expect(taken.filter(Option.isSome)).toEqual([Option.some("once")])
			expect(yield* Effect.all([cache.take(key), cache.get(key)])).toEqual([Option.none(), Option.none()])
			yield* cache.set(expiring, "late", "100 millis")
			yield* Effect.sleep("250 millis")
			expect(yield* cache.take(expiring)).toEqual(Option.none())
		}),
	)

	it.effect("increment counts within a fixed window that later increments do not extend", () =>
		Effect.gen(function* () {
			const cache = yield* Cache
			const key = fresh("hits")
			const first = yield* cache.increment(key, "600 millis")
			yield* Effect.sleep("50 millis")
			const second = yield* cache.increment(key, "600 millis")
			expect([first.count, second.count]).toEqual([1, 2])
			expect(first.remainingMillis).toBeGreaterThan(0)
			expect(first.remainingMillis).toBeLessThanOrEqual(600)
			expect(second.remainingMillis).toBeLessThan(first.remainingMillis)
			yield* Effect.sleep("700 millis")
			const counts = yield* Effect.all(
				range(10).map(() => cache.increment(key, "5 seconds")),
				{ concurrency: "unbounded" },
			)
			expect(counts.map((result) => result.count).sort((left, right) => left - right)).toEqual(range(10))
			expect(Math.min(...counts.map((result) => result.remainingMillis))).toBeGreaterThan(4_000)
		}),
	)

	it.scoped("a subscriber gets, in order, what is published on its channel after it subscribed", () =>
		Effect.gen(function* () {
			const cache = yield* Cache
			const [channel, other] = [fresh("news"), fresh("other")]
			const first = yield* listen(channel)
			const second = yield* listen(channel)
			const elsewhere = yield* listen(other)
			const messages = range(5).map((number) => `m${number}`)
			yield* Effect.forEach(messages, (message) => cache.publish(channel, message), { discard: true })
			expect(yield* eventually(first, (all) => all.length >= 5)).toEqual(messages)
			expect(yield* eventually(second, (all) => all.length >= 5)).toEqual(messages)
			yield* cache.publish(other, "last")
			expect(yield* eventually(elsewhere, (all) => all.length >= 1)).toEqual(["last"])
			expect(yield* first).toEqual(messages)
		}),
	)

	it.scoped("publishNumbered numbers 1..N and a subscriber receives them in that order", () =>
		Effect.gen(function* () {
			const cache = yield* Cache
			const [channel, counter, otherCounter] = [fresh("numbered"), fresh("seq"), fresh("seq")]
			const received = yield* listen(channel)
			const total = 40
			const numbers = yield* Effect.forEach(
				range(total),
				(sender) =>
					cache.publishNumbered({
						counter,
						counterTtl: "1 minute",
						channel,
						before: `${sender}:`,
						after: ";",
					}),
				{ concurrency: 8 },
			)
			expect([...numbers].sort((left, right) => left - right)).toEqual(range(total))
			const messages = yield* eventually(received, (all) => all.length >= total)
			expect(messages.map((message) => Number(message.slice(message.indexOf(":") + 1, -1)))).toEqual(range(total))
			expect([...messages].sort()).toEqual(numbers.map((seq, index) => `${index + 1}:${seq};`).sort())
			expect(yield* cache.get(counter)).toEqual(Option.some(String(total)))
			const separate = yield* cache.publishNumbered({
				counter: otherCounter,
				counterTtl: "1 minute",
				channel,
				before: "other:",
				after: ";",
			})
			expect(separate).toBe(1)
		}),
	)

	it.effect("members join, refresh, leave and list", () =>
		Effect.gen(function* () {
			const { members } = yield* Cache
			const [room, otherRoom] = [fresh("room"), fresh("room")]
			expect(yield* members.join(room, "a", "A", "1 minute")).toBe(true)
			expect(yield* members.join(room, "b", "B", "1 minute")).toBe(true)
			expect(yield* members.join(room, "a", "A2", "1 minute")).toBe(false)
			expect(yield* members.join(otherRoom, "x", "X", "1 minute")).toBe(true)
			expect(sorted(yield* members.list(room))).toEqual([
				["a", "A2"],
				["b", "B"],
			])
			expect(
				yield* members.refresh(
					[
						[room, "a"],
						[room, "ghost"],
						[otherRoom, "a"],
					],
					"2 minutes",
				),
			).toEqual([true, false, false])
			expect(yield* members.leave(room, "b")).toEqual(Option.some("B"))
			expect(yield* members.leave(room, "b")).toEqual(Option.none())
			expect(yield* members.refresh([[room, "b"]], "3 minutes")).toEqual([false])
			expect(yield* members.list(room)).toEqual([["a", "A2"]])
			expect(yield* members.list(otherRoom)).toEqual([["x", "X"]])
			expect(yield* members.list(fresh("empty"))).toEqual([])
		}),
	)

	it.effect("expired members leave the list and two concurrent reapers get each of them exactly once", () =>
		Effect.gen(function* () {
			const { members } = yield* Cache
			const room = fresh("room")
			yield* members.join(room, "stays", "S", "300 millis")
			yield* members.join(room, "c", "C", "300 millis")
			yield* members.join(room, "d", "D", "300 millis")
			yield* members.refresh([[room, "stays"]], "1 minute")
			expect(sorted(yield* members.list(room)).map(([member]) => member)).toEqual(["c", "d", "stays"])
			yield* Effect.sleep("500 millis")
			expect(yield* members.list(room)).toEqual([["stays", "S"]])
			const [first, second] = yield* Effect.all([members.reap(room), members.reap(room)], {
				concurrency: "unbounded",
			})
			expect(sorted([...first, ...second])).toEqual([
				["c", "C"],
				["d", "D"],
			])
			expect(yield* members.reap(room)).toEqual([])
			expect(yield* members.list(room)).toEqual([["stays", "S"]])
			expect(yield* members.refresh([[room, "c"]], "1 minute")).toEqual([false])
			expect(yield* members.leave(room, "c")).toEqual(Option.none())
		}),
	)

	it.effect("a member expired but not yet reaped joins again as new; refreshing one member twice is true twice", () =>
		Effect.gen(function* () {
			const { members } = yield* Cache
			const room = fresh("rejoin")
			yield* members.join(room, "e", "E", "200 millis")
			yield* eventually(members.list(room), (entries) => entries.length === 0)
			expect(yield* members.join(room, "e", "E2", "1 minute")).toBe(true)
			expect(
				yield* members.refresh(
					[
						[room, "e"],
						[room, "e"],
					],
					"1 minute",
				),
			).toEqual([true, true])
		}),
	)

	it.effect("ping answers and pub/sub is connected", () =>
		Effect.gen(function* () {
			const cache = yield* Cache
			yield* cache.ping
			const link = yield* eventually(cache.subscription, (state) => state.connected)
			expect(link.epoch).toBeGreaterThanOrEqual(1)
		}),
	)
}

const options = { excludeTestServices: true, timeout: "60 seconds" } as const

layer(
	redisCache(() => startRedisStandalone().then((redis) => ({ config: { REDIS_URL: redis.url }, stop: redis.stop }))),
	options,
)("cache on a standalone Redis", contract)

layer(
	redisCache(() =>
		startRedisCluster().then((cluster) => ({
			config: { REDIS_MODE: "cluster", REDIS_NODES: cluster.nodes },
			stop: cluster.stop,
		})),
	),
	options,
)("cache on a Redis Cluster", contract)

layer(
	redisCache(() =>
		startRedisSentinel().then((sentinel) => ({
			config: { REDIS_MODE: "sentinel", REDIS_NODES: sentinel.sentinels },
			stop: sentinel.stop,
		})),
	),
	options,
)("cache behind Redis Sentinel", contract)

layer(CacheMemory, options)("in-process cache", contract)
