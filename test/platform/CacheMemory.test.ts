// The in-process cache (the all-in-one without Redis) is bounded: at CACHE_MEMORY_MAX_ENTRIES the least recently
// used entry goes (a read counts as a use), and an entry is gone once its ttl has passed (TestClock).
import { expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer, Option, TestClock } from "effect"
import { Cache } from "../../platform/Cache.ts"
import { CacheMemory } from "../../platform/MemoryCache.ts"

// --- [FUNCTIONS]

const withCapacity = (capacity: number) =>
	CacheMemory.pipe(
		Layer.provide(
			Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["CACHE_MEMORY_MAX_ENTRIES", String(capacity)]]))),
		),
	)

const values = (cache: Cache["Type"], keys: ReadonlyArray<string>) =>
	Effect.forEach(keys, (key) => cache.get(key).pipe(Effect.map(Option.getOrNull)))

// --- [SUITE]

it.effect("at capacity the least recently used entry is evicted; a read counts as a use", () =>
	Effect.gen(function* () {
		const cache = yield* Cache
		yield* cache.set("a", "1", "1 hour")
		yield* cache.set("b", "2", "1 hour")
		yield* cache.set("c", "3", "1 hour")
		expect(yield* cache.get("a")).toEqual(Option.some("1"))
		yield* cache.set("d", "4", "1 hour")
		expect(yield* values(cache, ["a", "b", "c", "d"])).toEqual(["1", null, "3", "4"])
		// That read used a, c, d in this order. Overwriting c is a use too, and does not grow the cache: a goes next.
		yield* cache.set("c", "3b", "1 hour")
		yield* cache.set("e", "5", "1 hour")
		expect(yield* values(cache, ["a", "c", "d", "e"])).toEqual([null, "3b", "4", "5"])
	}).pipe(Effect.provide(withCapacity(3))),
)

it.effect("however many keys are written, only the capacity most recent stay", () =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const keys = Array.from({ length: 1_000 }, (_, index) => `key-${index}`)
		yield* Effect.forEach(keys, (key) => cache.set(key, key, "1 hour"), { discard: true })
		const kept = (yield* values(cache, keys)).filter((value) => value !== null)
		expect(kept).toEqual(keys.slice(-10))
	}).pipe(Effect.provide(withCapacity(10))),
)

it.effect("an entry and a counter expire after their ttl", () =>
	Effect.gen(function* () {
		const cache = yield* Cache
		yield* cache.set("short", "s", "10 seconds")
		yield* cache.set("long", "l", "1 minute")
		expect((yield* cache.increment("window", "10 seconds")).count).toBe(1)
		yield* TestClock.adjust("9 seconds")
		expect(yield* values(cache, ["short", "long"])).toEqual(["s", "l"])
		expect((yield* cache.increment("window", "10 seconds")).count).toBe(2)
		yield* TestClock.adjust("2 seconds")
		expect(yield* values(cache, ["short", "long"])).toEqual([null, "l"])
		expect((yield* cache.increment("window", "10 seconds")).count).toBe(1)
		yield* TestClock.adjust("1 minute")
		expect(yield* values(cache, ["long"])).toEqual([null])
	}).pipe(Effect.provide(withCapacity(100))),
)

it.effect("a capacity that is not a positive integer is refused", () =>
	Effect.gen(function* () {
		const failed = yield* Effect.flip(Cache.pipe(Effect.provide(withCapacity(0))))
		expect(String(failed)).toMatch(/CACHE_MEMORY_MAX_ENTRIES/)
	}),
)
