// Resolves `X-App-Id` (a tenant id or slug, already in canonical form) to the tenant through the TenantDirectory entity
// and keeps the answer in memory, so the hot path does no RPC or database round trip. An unknown tenant is remembered
// too, for GATEWAY_NEGATIVE_CACHE_TTL, so a stream of requests for it costs one lookup; a lookup that is not already
// remembered spends a token of the caller's anonymous rate limit. A tenant change (its creation included) published by
// the Tenant entity drops both kinds of entry on every gateway, so a tenant created right after a miss works at once.
// The provider names of a tenant are remembered for the same short time, so a start for an unknown provider costs no
// entity of its own and writes nothing. Every change is passed on to whoever follows `changes`, after the entry is
// dropped.
import {
	Cache as EffectCache,
	Cause,
	Duration,
	Effect,
	Exit,
	Option,
	PubSub,
	Ref,
	Schedule,
	Schema,
	Stream,
} from "effect"
import {
	OAuthProviderNotFound,
	Tenant,
	TenantChanged,
	TenantChangedChannel,
	TenantDirectory,
	TenantNotFound,
	type TenantView,
} from "../../entities/tenant/TenantProtocol.ts"
import type { TenantId } from "../../entities/Tenancy.ts"
import { Cache } from "../../platform/Cache.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { callEntity } from "../EntityCall.ts"
import { GatewayConfig } from "../GatewayConfig.ts"
import { RateLimiter } from "../RateLimiter.ts"
import { shared } from "../../platform/SharedLookup.ts"

// --- [CONSTANTS]

// TenantDirectory is stateless: lookups go to a fixed set of instances (spread over the runners), never to an entity
// named after whatever a client put in X-App-Id.
const DirectoryInstances = 16

// --- [FUNCTIONS]

const directoryId = (key: string) =>
	`resolve-${[...key].reduce((sum, char) => (sum * 31 + char.charCodeAt(0)) % DirectoryInstances, 0)}`

// --- [SERVICES]

class TenantCache extends Effect.Service<TenantCache>()("gateway/TenantCache", {
	scoped: Effect.gen(function* () {
		const config = yield* GatewayConfig
		const directory = yield* TenantDirectory.client
		const tenants = yield* Tenant.client
		const cache = yield* Cache
		const limiter = yield* RateLimiter
		// Counts tenant changes seen. A lookup that found nothing while a change arrived may have read the database
		// before the change committed and would remember "unknown" after the invalidation meant to clear it: it looks
		// again instead.
		const changesSeen = yield* Ref.make(0)
		const lookup = (key: string) => directory(directoryId(key)).Resolve({ key })
		const entries = yield* EffectCache.makeWith({
			capacity: 100_000,
			lookup: (key: string) =>
				Ref.get(changesSeen).pipe(
					Effect.flatMap((before) =>
						lookup(key).pipe(
							Effect.catchTag("TenantNotFound", (notFound) =>
								Effect.flatMap(Ref.get(changesSeen), (after) =>
									after === before ? Effect.fail(notFound) : lookup(key),
								),
							),
						),
					),
				),
			timeToLive: (exit) =>
				Exit.match(exit, {
					onSuccess: () => config.tenantCacheTtl,
					onFailure: (cause) =>
						Option.exists(Cause.failureOption(cause), Schema.is(TenantNotFound))
							? config.tenantNegativeTtl
							: Duration.zero,
				}),
		})
		const providers = yield* EffectCache.makeWith({
			capacity: 10_000,
			lookup: (tenantId: TenantId) =>
				callEntity(tenants(tenantId).ListOAuthProviders()).pipe(
					Effect.map((list) => new Set(list.map((provider) => provider.provider))),
				),
			timeToLive: (exit) => (Exit.isSuccess(exit) ? config.tenantNegativeTtl : Duration.zero),
		})
		const changes = yield* PubSub.unbounded<{ readonly id: string; readonly slug: string }>()
		const invalidate = (tenant: { readonly id: string; readonly slug: string }) =>
			Effect.all(
				[
					Ref.update(changesSeen, (count) => count + 1),
					entries.invalidate(tenant.id),
					entries.invalidate(tenant.slug),
					providers.invalidate(tenant.id as TenantId),
				],
				{ discard: true },
			)
		yield* cache.subscribe(TenantChangedChannel).pipe(
			Stream.mapEffect(Schema.decode(TenantChanged)),
			Stream.runForEach((tenant) => invalidate(tenant).pipe(Effect.zipRight(PubSub.publish(changes, tenant)))),
			Effect.tapErrorCause((cause) => Effect.logWarning("tenant invalidation stream restarting", cause)),
			Effect.retry(Schedule.spaced("1 second")),
			Effect.forkScoped,
		)
		return {
			resolve: (key: string) =>
				entries.contains(key).pipe(
					Effect.flatMap((known) => Effect.unless(limiter.spend, () => known)),
					Effect.zipRight(shared(entries.get(key))),
					Telemetry.span("TenantCache.resolve"),
				),
			// Only what this gateway already holds: no lookup, nothing spent (an entry being looked up, or a remembered
			// miss, is None).
			peek: (key: string) =>
				entries
					.getOptionComplete(key)
					.pipe(Effect.catchAllCause(() => Effect.succeed(Option.none<TenantView>()))),
			// For authenticated callers (operators): the same entries, without spending an anonymous token.
			resolveAuthenticated: (key: string) =>
				shared(entries.get(key)).pipe(Telemetry.span("TenantCache.resolveAuthenticated")),
			// Fails with OAuthProviderNotFound unless the tenant has a provider of that name.
			requireProvider: (tenantId: TenantId, provider: string) =>
				shared(providers.get(tenantId)).pipe(
					Effect.filterOrFail(
						(names) => names.has(provider),
						() => new OAuthProviderNotFound({ message: `no provider '${provider}'` }),
					),
					Effect.asVoid,
					Telemetry.span("TenantCache.requireProvider"),
				),
			invalidate: (tenant: TenantView) => invalidate(tenant),
			changes: Stream.fromPubSub(changes),
		} as const
	}),
}) {}

// --- [EXPORT]

export { TenantCache }
