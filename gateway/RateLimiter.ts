// Per-client-group limits on anonymous work (OAuth start, tenant and credential lookups that miss): a token bucket per
// client group (IPv4 address or IPv6 /64) in the cache service, so every gateway spends from the same bucket. A gateway
// also remembers locally which groups it refused until when, and refuses them again without asking the cache. If the
// cache service cannot answer, requests pass (the limit protects the platform; it must not become an outage of its own).
import { Duration, Effect, Ref } from "effect"
import { Cache } from "../platform/Cache.ts"
import { currentRequestMeta } from "../platform/RequestContext.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { clientGroup } from "./ClientAddress.ts"
import { GatewayConfig } from "./GatewayConfig.ts"
import { TooManyRequests } from "./HttpErrors.ts"

// --- [CONSTANTS]

// Refused groups one gateway remembers at most (the expired ones go first).
const MaxRemembered = 10_000

// --- [SERVICES]

class RateLimiter extends Effect.Service<RateLimiter>()("gateway/RateLimiter", {
	effect: Effect.gen(function* () {
		const config = yield* GatewayConfig
		const cache = yield* Cache
		const refused = yield* Ref.make(new Map<string, number>())
		const now = Effect.clockWith((clock) => clock.currentTimeMillis)
		const refill = Duration.millis(1_000 / config.anonymousRate)
		const tooMany = (retryAfterMillis: number) =>
			new TooManyRequests({
				message: "too many requests from this client; slow down",
				retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMillis / 1_000)),
			})
		const group = Effect.map(currentRequestMeta, (meta) => clientGroup(meta.ip))
		// Refuses a group this gateway has refused recently; costs no round trip.
		const blocked = Effect.gen(function* () {
			const [name, time, map] = yield* Effect.all([group, now, Ref.get(refused)])
			const until = map.get(name) ?? 0
			yield* Effect.when(Effect.fail(tooMany(until - time)), () => until > time)
		})
		// Spends one token of the caller's anonymous bucket.
		const spend = Effect.gen(function* () {
			yield* blocked
			const [name, time] = yield* Effect.all([group, now])
			const answer = yield* cache
				.bucket(`ratelimit:anonymous:${name}`, { capacity: config.anonymousBurst, refill, cost: 1 })
				.pipe(
					Effect.catchTag("CacheUnavailable", (error) =>
						Effect.logDebug("anonymous rate limit not checked", error.operation).pipe(
							Effect.as({ allowed: true, retryAfterMillis: 0, remaining: 0 }),
						),
					),
				)
			yield* answer.allowed
				? Effect.void
				: Ref.update(
						refused,
						(map) =>
							new Map(
								[...map, [name, time + answer.retryAfterMillis] as const]
									.filter(([, until]) => until > time)
									.slice(-MaxRemembered),
							),
					).pipe(Effect.zipRight(Effect.fail(tooMany(answer.retryAfterMillis))))
		}).pipe(Telemetry.span("RateLimiter.spend"))
		return { blocked, spend } as const
	}),
}) {}

// --- [EXPORT]

export { RateLimiter }
