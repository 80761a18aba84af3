// How a runner tells every gateway that credentials died: their entries in the shared (Redis) tier of the credential
// cache are deleted and their hashes are published, so each gateway drops its in-process copy. Called before the
// entity replies. If Redis is down the revocation still stands in Postgres; gateways' in-process copies then live at
// most SESSION_MEMORY_TTL, and their Redis-tier lookups fall back to the entity.
import { Effect, Schema } from "effect"
import { Cache } from "../platform/Cache.ts"
import type { TenantId } from "./Tenancy.ts"
import {
	credentialKey,
	CredentialsRevoked,
	CredentialsRevokedChannel,
	CredentialStoreId,
} from "./UserSessionsProtocol.ts"

// --- [FUNCTIONS]

const storeKey = (tenantId: TenantId, tokenHash: string) => `${CredentialStoreId}:${credentialKey(tenantId, tokenHash)}`

const announce = (tenantId: TenantId, hashes: ReadonlyArray<string>, revoked: boolean) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		yield* Effect.forEach(hashes, (hash) => cache.del(storeKey(tenantId, hash)), {
			concurrency: 8,
			discard: true,
		})
		const message = yield* Schema.encode(CredentialsRevoked)({ tenantId, hashes, revoked }).pipe(Effect.orDie)
		yield* cache.publish(CredentialsRevokedChannel, message)
	}).pipe(
		Effect.catchTag("CacheUnavailable", (error) =>
			Effect.logWarning("credential revocation not announced; gateways expire their copies by TTL", error),
		),
		Effect.when(() => hashes.length > 0),
		Effect.asVoid,
	)

// Dead credentials: every gateway refuses them from now on.
const announceRevoked = (tenantId: TenantId, hashes: ReadonlyArray<string>) => announce(tenantId, hashes, true)

// Changed credentials (a rotated key's new deadline): gateways drop their copies and look them up again.
const announceChanged = (tenantId: TenantId, hashes: ReadonlyArray<string>) => announce(tenantId, hashes, false)

// --- [EXPORT]

export { announceChanged, announceRevoked, storeKey }
