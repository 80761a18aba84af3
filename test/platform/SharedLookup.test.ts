// A cached lookup two callers wait on: the first caller going away must not fail the second (effect's Cache fails
// every joined caller with the first one's interruption; `shared` keeps the lookup running for the others). This
// reproduces the realtime expiry check that never re-armed after a key rotation.
import { Cache, Deferred, Effect, Exit, Fiber, Ref } from "effect"
import { describe, expect, it } from "vitest"
import { shared } from "../../platform/SharedLookup.ts"

const twoCallers = (wrap: <A, E, R>(lookup: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>) =>
	Effect.gen(function* () {
		const release = yield* Deferred.make<void>()
		const started = yield* Deferred.make<void>()
		const lookups = yield* Ref.make(0)
		const cache = yield* Cache.make({
			capacity: 10,
			timeToLive: "1 minute",
			lookup: (key: string) =>
				Ref.update(lookups, (count) => count + 1).pipe(
					Effect.zipRight(Deferred.succeed(started, undefined)),
					Effect.zipRight(Deferred.await(release)),
					Effect.as(`value of ${key}`),
				),
		})
		const first = yield* Effect.fork(wrap(cache.get("key")))
		yield* Deferred.await(started)
		const second = yield* Effect.fork(wrap(cache.get("key")))
		yield* Effect.yieldNow()
		yield* Fiber.interrupt(first)
		yield* Deferred.succeed(release, undefined)
		const outcome = yield* Fiber.await(second)
		return { outcome, lookups: yield* Ref.get(lookups), cached: yield* cache.getOption("key") }
	})

describe("shared", () => {
	it("a caller interrupted while its lookup runs does not fail the other caller waiting on the same key", async () => {
		const { outcome, lookups, cached } = await Effect.runPromise(twoCallers(shared))
		expect(outcome).toEqual(Exit.succeed("value of key"))
		expect(lookups).toBe(1)
		expect(cached._tag).toBe("Some")
	})

	it("without it, effect's Cache fails the waiting caller with the first caller's interruption (why it exists)", async () => {
		const { outcome } = await Effect.runPromise(twoCallers((lookup) => lookup))
		expect(Exit.isInterrupted(outcome)).toBe(true)
	})
})
