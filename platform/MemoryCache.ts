// The in-process Cache of the all-in-one process without REDIS_URL: the same behaviour as Redis in one process,
// bounded by CACHE_MEMORY_MAX_ENTRIES (least recently used first).
import { Config, Duration, Effect, Layer, Option, PubSub, Schema, Stream } from "effect"
import { type BucketAnswer, type BucketOptions, Cache } from "./Cache.ts"

// --- [SCHEMA]

const Membership = Schema.Struct({ value: Schema.String, deadline: Schema.Number })
type Membership = typeof Membership.Type

const BucketState = Schema.Struct({
	tokens: Schema.Number,
	updated: Schema.Number,
	strikes: Schema.Number,
	blocked: Schema.Number,
})
type BucketState = typeof BucketState.Type

// --- [CONSTANTS]

const MemoryCacheConfig = Config.integer("CACHE_MEMORY_MAX_ENTRIES").pipe(
	Config.validate({
		message: "CACHE_MEMORY_MAX_ENTRIES must be a positive integer",
		validation: (capacity) => capacity > 0,
	}),
	Config.withDefault(100_000),
	Config.withDescription("Most entries the in-process cache (no Redis) keeps; the least recently used go first"),
)

// --- [FUNCTIONS]

// The bucket of RedisCache's Scripts.bucket as a pure step.
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

// --- [LAYERS]

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

const CacheMemory = Layer.effect(Cache, makeMemory)

// --- [EXPORT]

export { CacheMemory }
