// Login-failure limits (seed H6, issue 9). Only abuse signals are counted: a callback whose state is unknown, replayed
// or not bound to the browser, a code the provider refuses, an ID token that does not verify (nonce, signature,
// audience). A user who cancels at the provider (`error=…`) and a provider that is down are not the client's doing and
// are not counted. Each client group (an IPv4 address or an IPv6 /64) has a token bucket in the cache service, shared by
// every gateway: OAUTH_FAILURE_LIMIT_PER_IP failures, refilled over OAUTH_FAILURE_WINDOW; the failure that empties it
// blocks the group for the time one token takes to come back, doubling with each further emptying (capped at
// OAUTH_FAILURE_MAX_BACKOFF) until the bucket has refilled completely. Failures per tenant are counted too, but only to
// raise an alert (a warning log line) at OAUTH_FAILURE_ALERT_PER_TENANT per window: one abuser never locks a tenant's
// other users out. If the buckets cannot be read, callbacks are refused (fails closed). Each tenant also remembers the
// client groups that failed against it (until their block could have ended), so an operator can clear them all
// (`clear`, behind DELETE /admin/v1/tenants/{id}/login-failures and `cli tenants clear-login-failures`).
import { HttpApiSchema } from "@effect/platform"
import { Duration, Effect, Schema } from "effect"
import { Cache } from "../../platform/Cache.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { clientGroup } from "../ClientAddress.ts"
import { ServiceUnavailable } from "../HttpErrors.ts"
import { IdentityConfig } from "./IdentityConfig.ts"

// --- [ERRORS]

class TooManyAttempts extends Schema.TaggedError<TooManyAttempts>()(
	"TooManyAttempts",
	{ message: Schema.String, retryAfterSeconds: Schema.Int },
	HttpApiSchema.annotations({ status: 429 }),
) {}

// --- [FUNCTIONS]

const groupKey = (group: string) => `oauth:fail:group:${group}`
const tenantKey = (tenantId: string) => `oauth:fail:tenant:${tenantId}`
const tenantGroupsKey = (tenantId: string) => `oauth:fail:groups:${tenantId}`

const unavailable = () => new ServiceUnavailable({ message: "sign-in is temporarily unavailable; try again shortly" })

const bucketOf = (config: typeof IdentityConfig.Service, cost: number) => {
	const refill = Duration.millis(Duration.toMillis(config.failureWindow) / config.failureLimitPerIp)
	return {
		capacity: config.failureLimitPerIp,
		refill,
		cost,
		backoff: { base: refill, max: config.failureMaxBackoff },
	}
}

// Refuses a client group whose bucket is empty or blocked.
const check = (ip: string | null) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const config = yield* IdentityConfig
		const answer = yield* cache
			.bucket(groupKey(clientGroup(ip)), bucketOf(config, 0))
			.pipe(Effect.mapError(unavailable))
		yield* Effect.when(
			Effect.fail(
				new TooManyAttempts({
					message: "too many failed sign-in attempts; try again later",
					retryAfterSeconds: Math.max(1, Math.ceil(answer.retryAfterMillis / 1_000)),
				}),
			),
			() => !answer.allowed,
		)
	}).pipe(Telemetry.span("LoginLimiter.check"))

// Counts one abuse signal against the client group (and towards the tenant's alert).
const recordFailure = (scopes: { readonly ip: string | null; readonly tenantId?: string | undefined }) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const config = yield* IdentityConfig
		yield* cache.bucket(groupKey(clientGroup(scopes.ip)), bucketOf(config, 1))
		yield* Effect.forEach(
			scopes.tenantId === undefined ? [] : [scopes.tenantId],
			(tenantId) =>
				cache.members
					.join(
						tenantGroupsKey(tenantId),
						clientGroup(scopes.ip),
						"1",
						Duration.sum(config.failureWindow, config.failureMaxBackoff),
					)
					.pipe(
						Effect.zipRight(cache.increment(tenantKey(tenantId), config.failureWindow)),
						Effect.flatMap(({ count }) =>
							Effect.when(
								Effect.logWarning("many failed sign-ins for one tenant", {
									tenantId,
									failures: count,
									window: Duration.format(config.failureWindow),
								}),
								() => count % config.failureAlertPerTenant === 0,
							),
						),
					),
			{ discard: true },
		)
	}).pipe(
		Effect.catchAll((error) => Effect.logWarning("login failure not counted", error)),
		Telemetry.span("LoginLimiter.recordFailure"),
	)

// Forgets failures: the bucket of the client group of `ip` (an unblock for every tenant, as the bucket is shared), or,
// without `ip`, of every client group that failed against the tenant within the window; and the tenant's alert count.
// Returns the number of client groups cleared.
const clear = (tenantId: string, ip: string | null) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const groups =
			ip === null
				? (yield* cache.members.list(tenantGroupsKey(tenantId))).map(([group]) => group)
				: [clientGroup(ip)]
		yield* Effect.forEach(
			groups,
			(group) =>
				cache
					.del(`oauth:fail:group:${group}`)
					.pipe(Effect.zipRight(cache.members.leave(tenantGroupsKey(tenantId), group))),
			{ discard: true, concurrency: 8 },
		)
		yield* cache.del(tenantKey(tenantId))
		yield* Effect.logInfo("login failures cleared", { tenantId, clientGroups: groups.length })
		return { clientGroups: groups.length }
	}).pipe(Telemetry.span("LoginLimiter.clear", { tenantId }))

// --- [EXPORT]

const LoginLimiter = { check, clear, recordFailure } as const

export { LoginLimiter, TooManyAttempts }
