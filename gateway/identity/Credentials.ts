// Validates session tokens and API keys on the hot path without a database round trip (seed O8): a PersistedCache
// maps `<tenant>:<token hash>` to the principal, with an in-process tier in front of a shared Redis tier; a miss asks
// the tenant's CredentialDirectory entity, never "allow". Revocations drop the entry: the calling gateway applies the
// hashes an entity returns before it answers, every other gateway gets them on the cache service's channel, and each
// remembers a revoked hash (a tombstone) for as long as the shared tier could still hold a copy written before the
// revocation. Last use is recorded in batches, off the request path. Anonymous work is bounded: a token without the
// exact shape of one (prefix, 43 base64url characters) is refused before it is hashed; a hash found unknown is refused
// from memory for GATEWAY_NEGATIVE_CACHE_TTL; and each unknown credential spends a token of the caller's anonymous
// rate limit.
import { PersistedCache, Persistence } from "@effect/experimental"
import { Cause, Duration, Effect, Exit, Layer, Option, PubSub, Redacted, Ref, Schedule, Schema, Stream } from "effect"
import { ApiKeyPrefix, SessionTokenPrefix } from "../../entities/identity/IdentityModel.ts"
import type { TenantId } from "../../entities/Tenancy.ts"
import {
	CredentialDirectory,
	CredentialInvalid,
	type CredentialKind,
	CredentialsRevoked,
	CredentialsRevokedChannel,
	CredentialStoreId,
	type Principal,
	ResolveCredential,
} from "../../entities/identity/CredentialDirectoryProtocol.ts"
import { Cache } from "../../platform/Cache.ts"
import { CachePersistenceLive } from "../../platform/CachePersistence.ts"
import { SecretToken } from "../../platform/SecretToken.ts"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { callEntity } from "../EntityCall.ts"
import { GatewayConfig } from "../GatewayConfig.ts"
import { ServiceUnavailable, Unauthorized } from "../HttpErrors.ts"
import { IdentityConfig } from "./IdentityConfig.ts"
import { RateLimiter } from "../RateLimiter.ts"
import { shared } from "../../platform/SharedLookup.ts"

// --- [CONSTANTS]

// How long an unknown or dead credential is remembered as such in the shared tier.
const NegativeTtl = Duration.seconds(30)

// What SecretToken.mint makes: a typed prefix and 32 random bytes in base64url.
const TokenShape = /^ecp[sk]_[A-Za-z0-9_-]{43}$/

// Unknown credentials one gateway remembers at most (the expired ones go first).
const MaxNegatives = 10_000

// --- [FUNCTIONS]

const kindOf = (token: string): Option.Option<CredentialKind> =>
	!TokenShape.test(token)
		? Option.none()
		: token.startsWith(SessionTokenPrefix)
			? Option.some("session")
			: token.startsWith(ApiKeyPrefix)
				? Option.some("apiKey")
				: Option.none()

const unauthorized = () => new Unauthorized({ message: "a valid credential for this tenant is required" })

// --- [SERVICES]

class Credentials extends Effect.Service<Credentials>()("gateway/Credentials", {
	scoped: Effect.gen(function* () {
		const config = yield* IdentityConfig
		const gateway = yield* GatewayConfig
		const cache = yield* Cache
		const limiter = yield* RateLimiter
		const directory = yield* CredentialDirectory.client
		const tombstones = yield* Ref.make(new Map<string, number>())
		// `<tenant>:<hash>` of credentials found unknown → until when this gateway refuses them without asking.
		const negatives = yield* Ref.make(new Map<string, number>())
		// Every revocation or change this gateway learns of (its own or another's), for whoever holds connections by
		// credential.
		const revocations = yield* PubSub.unbounded<{
			readonly tenantId: TenantId
			readonly hashes: ReadonlyArray<string>
			readonly revoked: boolean
		}>()
		const used = yield* Ref.make(
			new Map<TenantId, { readonly sessions: Set<string>; readonly apiKeys: Set<string> }>(),
		)
		const now = Effect.clockWith((clock) => clock.currentTimeMillis)
		const lookup = (key: ResolveCredential) =>
			callEntity(directory(key.tenantId).Resolve({ kind: key.kind, tokenHash: key.tokenHash })).pipe(
				Effect.catchTag("ServiceUnavailable", (error) =>
					Effect.fail(new StorageUnavailable({ message: error.message })),
				),
			)
		const resolved = yield* PersistedCache.make({
			storeId: CredentialStoreId,
			lookup,
			// Infrastructure failures are not remembered anywhere (see `authenticate`).
			timeToLive: (_key, exit) =>
				Exit.match(exit, {
					onSuccess: () => config.sharedTtl,
					onFailure: (cause) =>
						Option.exists(Cause.failureOption(cause), Schema.is(CredentialInvalid))
							? NegativeTtl
							: Duration.zero,
				}),
			inMemoryCapacity: 100_000,
			inMemoryTTL: config.memoryTtl,
		})
		// Built on every request from values already checked (the tenant resolved, the hash computed here): skip the
		// constructor's schema validation on the hot path.
		const keyOf = (tenantId: TenantId, kind: CredentialKind, tokenHash: string, epoch: number) =>
			new ResolveCredential({ tenantId, kind, tokenHash, epoch }, { disableValidation: true })
		const drop = (tenantId: TenantId, hashes: ReadonlyArray<string>, revoked: boolean) =>
			Effect.gen(function* () {
				const until = (yield* now) + Duration.toMillis(config.sharedTtl) + Duration.toMillis(config.memoryTtl)
				yield* Effect.when(
					Ref.update(tombstones, (map) => new Map([...map, ...hashes.map((hash) => [hash, until] as const)])),
					() => revoked,
				)
				const { epoch } = yield* cache.subscription
				yield* Effect.forEach(
					hashes.flatMap((hash) => [
						keyOf(tenantId, "session", hash, epoch),
						keyOf(tenantId, "apiKey", hash, epoch),
					]),
					(key) => resolved.invalidate(key).pipe(Effect.ignore),
					{ discard: true },
				)
				yield* PubSub.publish(revocations, { tenantId, hashes, revoked })
			})
		yield* cache.subscribe(CredentialsRevokedChannel).pipe(
			Stream.mapEffect(Schema.decode(CredentialsRevoked)),
			Stream.runForEach((message) => drop(message.tenantId, message.hashes, message.revoked)),
			Effect.tapErrorCause((cause) => Effect.logWarning("credential revocation stream restarting", cause)),
			Effect.retry(Schedule.spaced("1 second")),
			Effect.forkScoped,
		)
		// Last use, written in batches; expired tombstones are swept on the same beat.
		const flush = Effect.gen(function* () {
			const batch = yield* Ref.getAndSet(used, new Map())
			yield* Effect.forEach(
				batch,
				([tenantId, ids]) =>
					directory(tenantId)
						.Touch({ sessions: [...ids.sessions] as never, apiKeys: [...ids.apiKeys] as never })
						.pipe(Effect.catchAllCause((cause) => Effect.logWarning("last-use update failed", cause))),
				{ concurrency: 4, discard: true },
			)
			const time = yield* now
			yield* Ref.update(tombstones, (map) => new Map([...map].filter(([, until]) => until > time)))
		})
		yield* flush.pipe(Effect.repeat(Schedule.spaced(config.touchInterval)), Effect.forkScoped)
		yield* Effect.addFinalizer(() => flush.pipe(Effect.ignore))
		const record = (principal: Principal) =>
			Ref.update(used, (map) => {
				const entry = map.get(principal.tenantId) ?? { sessions: new Set<string>(), apiKeys: new Set<string>() }
				;(principal.kind === "session" ? entry.sessions : entry.apiKeys).add(principal.credentialId)
				return map.has(principal.tenantId) ? map : new Map(map).set(principal.tenantId, entry)
			})
		// Whether a credential is valid now, without counting it as a use (a realtime connection's expiry check).
		const check = (tenantId: TenantId, token: Redacted.Redacted<string>) =>
			Effect.gen(function* () {
				const kind = yield* Effect.mapError(kindOf(Redacted.value(token)), unauthorized)
				const tokenHash = SecretToken.hash(token)
				const [time, revokedUntil, link] = yield* Effect.all([
					now,
					Effect.map(Ref.get(tombstones), (map) => map.get(tokenHash) ?? 0),
					cache.subscription,
				])
				const negativeKey = `${tenantId}:${tokenHash}`
				const knownUnknown = Effect.map(Ref.get(negatives), (map) => (map.get(negativeKey) ?? 0) > time)
				yield* Effect.when(Effect.fail(unauthorized()), () => revokedUntil > time)
				yield* Effect.whenEffect(Effect.fail(unauthorized()), knownUnknown)
				yield* limiter.blocked
				const key = keyOf(tenantId, kind, tokenHash, link.epoch)
				const unknown = () =>
					Ref.update(
						negatives,
						(map) =>
							new Map(
								[...map, [negativeKey, time + Duration.toMillis(gateway.tenantNegativeTtl)] as const]
									.filter(([, until]) => until > time)
									.slice(-MaxNegatives),
							),
					).pipe(Effect.zipRight(limiter.spend), Effect.zipRight(Effect.fail(unauthorized())))
				// Without pub/sub this process would not hear of revocations: ask the entity, keep nothing.
				const unavailable = () =>
					resolved
						.invalidate(key)
						.pipe(
							Effect.ignore,
							Effect.zipRight(
								Effect.fail(
									new ServiceUnavailable({ message: "credentials cannot be checked right now" }),
								),
							),
						)
				const current = (found: Principal) => found.expiresAt === null || found.expiresAt > time
				// Without pub/sub this process would not hear of revocations: ask the entity, keep nothing.
				const resolve = (link.connected ? shared(resolved.get(key)) : lookup(key)).pipe(
					Effect.catchTags({
						CredentialInvalid: unknown,
						StorageUnavailable: unavailable,
						PersistenceError: unavailable,
					}),
				)
				// A cached principal past its deadline may only be stale: the idle deadline moves with every use, which
				// the cached copy does not see. Ask once more before refusing.
				const principal = yield* resolve.pipe(
					Effect.flatMap((found) =>
						current(found)
							? Effect.succeed(found)
							: resolved
									.invalidate(key)
									.pipe(
										Effect.ignore,
										Effect.zipRight(resolve),
										Effect.filterOrFail(current, unauthorized),
									),
					),
				)
				return { principal, tokenHash } as const
			}).pipe(Telemetry.span("Credentials.check"))
		const authenticate = (tenantId: TenantId, token: Redacted.Redacted<string>) =>
			check(tenantId, token).pipe(
				Effect.tap(({ principal }) => record(principal)),
				Telemetry.span("Credentials.authenticate"),
			)
		return {
			authenticate,
			check,
			// Applied by the gateway that made an entity revoke (or change) credentials, before it answers.
			revoked: (tenantId: TenantId, hashes: ReadonlyArray<string>) => drop(tenantId, hashes, true),
			changed: (tenantId: TenantId, hashes: ReadonlyArray<string>) => drop(tenantId, hashes, false),
			revocations: Stream.fromPubSub(revocations),
		} as const
	}),
}) {}

// --- [LAYERS]

// Needs: IdentityConfig, Cache, Sharding (client).
const CredentialsLive = Credentials.Default.pipe(
	Layer.provide(Persistence.layerResult),
	Layer.provide(CachePersistenceLive),
)

// --- [EXPORT]

export { Credentials, CredentialsLive }
