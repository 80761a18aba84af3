// Step-up (CONTRACT "Passkeys"): creating or rotating API keys, registering or deleting passkeys, unlinking identities,
// regenerating recovery codes and deactivating need, from a user with a passkey, a passkey verification of the same
// session (POST /v1/auth/mfa/options + /verify) within WEBAUTHN_STEP_UP_WINDOW; else 403 StepUpRequired. The
// verification's time is kept in the cache service under the session, so every gateway sees it and it lapses by itself.
import { Effect, Option } from "effect"
import { Cache } from "../../platform/Cache.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { ServiceUnavailable, StepUpRequired } from "../HttpErrors.ts"
import { IdentityConfig } from "./IdentityConfig.ts"
import { currentUser, withUser } from "./UserCalls.ts"

// --- [FUNCTIONS]

const keyOf = (tenantId: string, sessionId: string) => `webauthn:stepup:${tenantId}:${sessionId}`

const unavailable = () => new ServiceUnavailable({ message: "the step-up state cannot be reached right now" })

const record = (tenantId: string, sessionId: string) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const config = yield* IdentityConfig
		yield* cache
			.set(keyOf(tenantId, sessionId), "1", config.webauthnStepUpWindow)
			.pipe(Effect.mapError(unavailable))
	}).pipe(Telemetry.span("StepUp.record"))

// Passes when the caller has no passkey, or its session verified one within the window. API keys cannot step up (no
// passkey ceremony binds to a key): a key of a user with a passkey is refused.
const require = Effect.gen(function* () {
	const cache = yield* Cache
	const caller = yield* currentUser
	const passkeys = yield* withUser((entity) => entity.ListPasskeys())
	const usable = passkeys.some((passkey) => !passkey.cloned)
	const fresh =
		usable && caller.principal.kind === "session"
			? Option.isSome(
					yield* cache
						.get(keyOf(caller.principal.tenantId, caller.principal.credentialId))
						.pipe(Effect.mapError(unavailable)),
				)
			: false
	return yield* !usable || fresh
		? Effect.void
		: Effect.fail(
				new StepUpRequired({
					message: "verify a passkey first (POST /v1/auth/mfa/options, then /v1/auth/mfa/verify)",
				}),
			)
}).pipe(Telemetry.span("StepUp.require"))

// --- [EXPORT]

const StepUp = { record, require } as const

export { StepUp }
