// WebAuthn challenges: random, single use, kept WEBAUTHN_CHALLENGE_TTL in the cache service (every gateway sees them),
// each bound to what it was issued for (purpose, tenant, user, session). Answering one takes it (an atomic get and
// delete): a replayed or late answer finds nothing. The challenge an answer names is read from its clientDataJSON;
// the verifier then checks that the signed client data carries exactly it.
import { Effect, Option, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { PasskeyVerificationFailed } from "../../entities/identity/UserSessionsProtocol.ts"
import { Cache } from "../../platform/Cache.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { ServiceUnavailable } from "../HttpErrors.ts"
import { IdentityConfig } from "./IdentityConfig.ts"

// --- [SCHEMA]

const Purpose = Schema.Literal("register", "login", "mfa")

const Binding = Schema.Struct({
	purpose: Purpose,
	tenantId: Schema.String,
	userId: Schema.NullOr(Schema.String),
	sessionId: Schema.NullOr(Schema.String),
})
type Binding = typeof Binding.Type

const StoredBinding = Schema.parseJson(Binding)

const ClientData = Schema.StringFromBase64Url.pipe(
	Schema.compose(Schema.parseJson(Schema.Struct({ challenge: Schema.String.pipe(Schema.maxLength(512)) }))),
)

// --- [FUNCTIONS]

const keyOf = (challenge: string) => `webauthn:challenge:${challenge}`

const failed = () => new PasskeyVerificationFailed({ message: "the passkey could not be verified" })

const unavailable = () => new ServiceUnavailable({ message: "WebAuthn challenges cannot be stored right now" })

const issue = (binding: Binding) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const config = yield* IdentityConfig
		const challenge = randomBytes(32).toString("base64url")
		const value = yield* Schema.encode(StoredBinding)(binding).pipe(Effect.orDie)
		yield* cache.set(keyOf(challenge), value, config.webauthnChallengeTtl).pipe(Effect.mapError(unavailable))
		return challenge
	}).pipe(Telemetry.span("PasskeyChallenges.issue", { purpose: binding.purpose }))

// The challenge an answer carries, once: taken from the store and compared with what the caller expects of it.
// `userId: null` in `expected` accepts any user (a usernameless sign-in learns its user from the credential).
const consume = (clientDataJSON: string, expected: Binding) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const { challenge } = yield* Schema.decode(ClientData)(clientDataJSON).pipe(Effect.mapError(failed))
		const stored = yield* cache.take(keyOf(challenge)).pipe(Effect.mapError(unavailable))
		const binding = yield* Option.match(stored, {
			onNone: () => Effect.fail(failed()),
			onSome: (value) => Schema.decode(StoredBinding)(value).pipe(Effect.mapError(failed)),
		})
		const matches =
			binding.purpose === expected.purpose &&
			binding.tenantId === expected.tenantId &&
			(expected.userId === null || binding.userId === expected.userId) &&
			binding.sessionId === expected.sessionId
		return yield* matches ? Effect.succeed(challenge) : Effect.fail(failed())
	}).pipe(Telemetry.span("PasskeyChallenges.consume", { purpose: expected.purpose }))

// --- [EXPORT]

const PasskeyChallenges = { consume, issue } as const

export { PasskeyChallenges }
