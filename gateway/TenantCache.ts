// Resolves `X-App-Id` (a tenant id or slug) to the tenant through the TenantDirectory entity and keeps the answer in
// memory, so the hot path does no RPC or database round trip. A tenant change published by the Tenant entity drops
// the entry on every gateway (and is passed on to whoever follows `changes`, after the entry is dropped); only
// successful lookups are kept.
import { Cache as EffectCache, Duration, Effect, Exit, PubSub, Schedule, Schema, Stream } from "effect"
import { TenantChanged, TenantChangedChannel, TenantDirectory, type TenantView } from "../entities/TenantProtocol.ts"
import { Cache } from "../platform/Cache.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { GatewayConfig } from "./GatewayConfig.ts"

// --- [SERVICES]

class TenantCache extends Effect.Service<TenantCache>()("gateway/TenantCache", {
	scoped: Effect.gen(function* () {
		const config = yield* GatewayConfig
		const directory = yield* TenantDirectory.client
		const cache = yield* Cache
		const entries = yield* EffectCache.makeWith({
			capacity: 100_000,
			lookup: (key: string) => directory(key).Resolve({ key }),
			timeToLive: (exit) => (Exit.isSuccess(exit) ? config.tenantCacheTtl : Duration.zero),
		})
		const changes = yield* PubSub.unbounded<{ readonly id: string; readonly slug: string }>()
		const invalidate = (tenant: { readonly id: string; readonly slug: string }) =>
			Effect.all([entries.invalidate(tenant.id), entries.invalidate(tenant.slug)], { discard: true })
		yield* cache.subscribe(TenantChangedChannel).pipe(
			Stream.mapEffect(Schema.decode(TenantChanged)),
			Stream.runForEach((tenant) => invalidate(tenant).pipe(Effect.zipRight(PubSub.publish(changes, tenant)))),
			Effect.tapErrorCause((cause) => Effect.logWarning("tenant invalidation stream restarting", cause)),
			Effect.retry(Schedule.spaced("1 second")),
			Effect.forkScoped,
		)
		return {
			resolve: (key: string) => entries.get(key).pipe(Telemetry.span("TenantCache.resolve")),
			invalidate: (tenant: TenantView) => invalidate(tenant),
			changes: Stream.fromPubSub(changes),
		} as const
	}),
}) {}

// --- [EXPORT]

export { TenantCache }
