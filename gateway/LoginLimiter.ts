// Login-failure limits (seed H6): failed OAuth callbacks are counted per client IP and per tenant in fixed windows in
// the cache service, so every gateway shares the counts. At the limit, further callbacks are refused with 429
// TooManyAttempts until the window ends. If the counters cannot be read, callbacks are refused (fails closed).
import { HttpApiSchema } from "@effect/platform"
import { Duration, Effect, Option, Schema } from "effect"
import { Cache } from "../platform/Cache.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { ServiceUnavailable } from "./HttpErrors.ts"
import { IdentityConfig } from "./IdentityConfig.ts"

// --- [ERRORS]

class TooManyAttempts extends Schema.TaggedError<TooManyAttempts>()(
	"TooManyAttempts",
	{ message: Schema.String, retryAfterSeconds: Schema.Int },
	HttpApiSchema.annotations({ status: 429 }),
) {}

// --- [FUNCTIONS]

const ipKey = (ip: string) => `oauth:fail:ip:${ip}`
const tenantKey = (tenantId: string) => `oauth:fail:tenant:${tenantId}`

const unavailable = () => new ServiceUnavailable({ message: "sign-in is temporarily unavailable; try again shortly" })

// Refuses when a counter of these keys has reached its limit.
const check = (scopes: { readonly ip: string; readonly tenantId?: string | undefined }) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const config = yield* IdentityConfig
		const limits = [
			[ipKey(scopes.ip), config.failureLimitPerIp] as const,
			...(scopes.tenantId === undefined
				? []
				: [[tenantKey(scopes.tenantId), config.failureLimitPerTenant] as const]),
		]
		yield* Effect.forEach(limits, ([key, limit]) =>
			cache.get(key).pipe(
				Effect.mapError(unavailable),
				Effect.filterOrFail(
					(count) => Option.getOrElse(Option.map(count, Number), () => 0) < limit,
					() =>
						new TooManyAttempts({
							message: "too many failed sign-in attempts; try again later",
							retryAfterSeconds: Math.ceil(Duration.toSeconds(config.failureWindow)),
						}),
				),
			),
		)
	}).pipe(Telemetry.span("LoginLimiter.check"))

const recordFailure = (scopes: { readonly ip: string; readonly tenantId?: string | undefined }) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const config = yield* IdentityConfig
		yield* Effect.forEach(
			[ipKey(scopes.ip), ...(scopes.tenantId === undefined ? [] : [tenantKey(scopes.tenantId)])],
			(key) => cache.increment(key, config.failureWindow),
			{ discard: true },
		)
	}).pipe(
		Effect.catchAll((error) => Effect.logWarning("login failure not counted", error)),
		Telemetry.span("LoginLimiter.recordFailure"),
	)

// --- [EXPORT]

const LoginLimiter = { check, recordFailure } as const

export { LoginLimiter, TooManyAttempts }
