// The browser-bound state of one OAuth sign-in between start and callback: kept in the cache service under the hash
// of `state` for OAUTH_TRANSACTION_TTL, taken (read and deleted at once) by the callback, so it is single-use. The
// browser holds a random binding in an HttpOnly cookie named after the state (so parallel sign-ins in one browser do
// not clash); the callback must present it, so a `state` replayed from another browser is refused.
import { Duration, Effect, Option, Schema } from "effect"
import { ProviderName } from "../../entities/identity/OAuthProviderModel.ts"
import { TenantId } from "../../entities/Tenancy.ts"
import { UserId } from "../../entities/identity/UserModel.ts"
import { Cache } from "../../platform/Cache.ts"
import { SecretToken } from "../../platform/SecretToken.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Redacted } from "effect"

// --- [SCHEMA]

const Transaction = Schema.Struct({
	tenantId: TenantId,
	provider: ProviderName,
	mode: Schema.Literal("signin", "link"),
	userId: Schema.NullOr(UserId),
	codeVerifier: Schema.String,
	nonce: Schema.String,
	redirectUri: Schema.String,
	redirectTo: Schema.NullOr(Schema.String),
	// PKCE hand-off: the app's S256 challenge; the callback then answers with a one-time code (see PkceHandoff).
	handoffChallenge: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
	bindingHash: Schema.String,
})
type Transaction = typeof Transaction.Type

const StoredTransaction = Schema.parseJson(Transaction)

// --- [FUNCTIONS]

const stateKey = (state: string) => `oauth:tx:${SecretToken.hash(Redacted.make(state))}`

const cookieName = (state: string) => `__Host-ecp_oauth_${SecretToken.hash(Redacted.make(state)).slice(0, 16)}`

const begin = (transaction: Omit<Transaction, "bindingHash" | "codeVerifier" | "nonce">, ttl: Duration.DurationInput) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const state = SecretToken.random()
		const binding = SecretToken.random()
		const codeVerifier = SecretToken.random()
		const nonce = SecretToken.random()
		const stored = yield* Schema.encode(StoredTransaction)({
			...transaction,
			codeVerifier: Redacted.value(codeVerifier),
			nonce: Redacted.value(nonce),
			bindingHash: SecretToken.hash(binding),
		}).pipe(Effect.orDie)
		yield* cache.set(stateKey(Redacted.value(state)), stored, ttl)
		return {
			state: Redacted.value(state),
			nonce: Redacted.value(nonce),
			codeChallenge: SecretToken.challengeS256(codeVerifier),
			cookie: { name: cookieName(Redacted.value(state)), value: Redacted.value(binding) },
		} as const
	}).pipe(Telemetry.span("OAuthTransactions.begin"))

// None when the state is unknown, expired, already used, or the browser's cookie does not match. The cookie is checked
// before the transaction is consumed, so someone who merely saw a `state` cannot spend another browser's sign-in.
const take = (state: string, cookies: Readonly<Record<string, string | undefined>>) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const binding = cookies[cookieName(state)]
		const decode = (stored: Option.Option<string>) =>
			Option.match(stored, {
				onNone: () => Effect.succeed(Option.none<Transaction>()),
				onSome: (value) => Effect.option(Schema.decode(StoredTransaction)(value)),
			})
		const bound = (transaction: Option.Option<Transaction>) =>
			Option.filter(
				transaction,
				(found) => binding !== undefined && SecretToken.hash(Redacted.make(binding)) === found.bindingHash,
			)
		const peeked = bound(yield* cache.get(stateKey(state)).pipe(Effect.flatMap(decode)))
		// Of two callbacks with the right cookie, only the one whose take finds the transaction goes on.
		return Option.isNone(peeked) ? peeked : bound(yield* cache.take(stateKey(state)).pipe(Effect.flatMap(decode)))
	}).pipe(Telemetry.span("OAuthTransactions.take"))

// --- [EXPORT]

const OAuthTransactions = { begin, cookieName, take } as const

export { OAuthTransactions, Transaction }
