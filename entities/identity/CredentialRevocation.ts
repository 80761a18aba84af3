// How a runner tells every gateway that credentials died: their entries in the shared (Redis) tier of the credential
// cache are deleted and their hashes are published, so each gateway drops its in-process copy. Called before the
// entity replies. If Redis is down the revocation still stands in Postgres; gateways' in-process copies then live at
// most SESSION_MEMORY_TTL (gateways stop trusting memory while their pub/sub is down), and the announcement is retried
// in the background until Redis takes it, so no shared-tier copy outlives the outage.
import { Effect, Schedule, Schema } from "effect"
import { Cache } from "../../platform/Cache.ts"
import type { TenantId } from "../Tenancy.ts"
import {
	credentialKey,
	CredentialsRevoked,
	CredentialsRevokedChannel,
	CredentialStoreId,
} from "./CredentialDirectoryProtocol.ts"

// --- [FUNCTIONS]

const storeKey = (tenantId: TenantId, tokenHash: string) => `${CredentialStoreId}:${credentialKey(tenantId, tokenHash)}`

const announce = (tenantId: TenantId, hashes: ReadonlyArray<string>, revoked: boolean) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const message = yield* Schema.encode(CredentialsRevoked)({ tenantId, hashes, revoked }).pipe(Effect.orDie)
		const deliver = Effect.forEach(hashes, (hash) => cache.del(storeKey(tenantId, hash)), {
			concurrency: 8,
			discard: true,
		}).pipe(Effect.zipRight(cache.publish(CredentialsRevokedChannel, message)))
		yield* deliver.pipe(
			Effect.catchTag("CacheUnavailable", (error) =>
				Effect.logWarning("credential revocation not announced yet; retrying in the background", error).pipe(
					Effect.zipRight(
						deliver.pipe(
							Effect.retry(Schedule.exponential("200 millis").pipe(Schedule.upTo("15 minutes"))),
							Effect.catchAll((failure) =>
								Effect.logError("credential revocation never announced", failure),
							),
							Effect.forkDaemon,
						),
					),
				),
			),
		)
	}).pipe(
		Effect.when(() => hashes.length > 0),
		Effect.asVoid,
	)

// Dead credentials: every gateway refuses them from now on.
const announceRevoked = (tenantId: TenantId, hashes: ReadonlyArray<string>) => announce(tenantId, hashes, true)

// Changed credentials (a rotated key's new deadline): gateways drop their copies and look them up again.
const announceChanged = (tenantId: TenantId, hashes: ReadonlyArray<string>) => announce(tenantId, hashes, false)

// --- [EXPORT]

export { announceChanged, announceRevoked }
