// A BackingPersistence (for @effect/experimental's PersistedCache) on the Cache service, so the shared tier of every
// persisted cache goes through the one door to Redis. Redis trouble is never an answer: a failed read is a miss (the
// caller's lookup runs), a failed write or delete is logged and the entry expires by its TTL.
import { Persistence } from "@effect/experimental"
import { Duration, Effect, Layer, Option, Schema } from "effect"
import { Cache } from "./Cache.ts"

// --- [CONSTANTS]

const Json = Schema.parseJson(Schema.Unknown)
// Entries without a TTL of their own still leave Redis eventually.
const LongestTtl = Duration.days(1)

// --- [LAYERS]

const CachePersistenceLive = Layer.effect(
	Persistence.BackingPersistence,
	Effect.map(Cache, (cache) =>
		Persistence.BackingPersistence.of({
			[Persistence.BackingPersistenceTypeId]: Persistence.BackingPersistenceTypeId,
			make: (storeId) =>
				Effect.sync(() => {
					const keyOf = (key: string) => `${storeId}:${key}`
					const get = (key: string) =>
						cache.get(keyOf(key)).pipe(
							Effect.flatMap(
								Option.match({
									onNone: () => Effect.succeedNone,
									onSome: (value) => Effect.asSome(Schema.decode(Json)(value)),
								}),
							),
							Effect.catchAll((error) =>
								Effect.logWarning("shared cache read failed; treating as a miss", error).pipe(
									Effect.as(Option.none()),
								),
							),
						)
					const set = (key: string, value: unknown, ttl: Option.Option<Duration.Duration>) =>
						Schema.encode(Json)(value).pipe(
							Effect.flatMap((encoded) =>
								cache.set(
									keyOf(key),
									encoded,
									Option.getOrElse(ttl, () => LongestTtl),
								),
							),
							Effect.catchAll((error) => Effect.logWarning("shared cache write failed", error)),
						)
					const remove = (key: string) =>
						cache
							.del(keyOf(key))
							.pipe(Effect.catchAll((error) => Effect.logWarning("shared cache delete failed", error)))
					return {
						get,
						getMany: (keys) => Effect.forEach(keys, get, { concurrency: 8 }),
						set,
						setMany: (entries) =>
							Effect.forEach(entries, ([key, value, ttl]) => set(key, value, ttl), {
								concurrency: 8,
								discard: true,
							}),
						remove,
						// Keys are not enumerable through the Cache service; entries leave by TTL.
						clear: Effect.void,
					}
				}),
		}),
	),
)

// --- [EXPORT]

export { CachePersistenceLive }
