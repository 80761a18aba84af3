// The PKCE hand-off of a sign-in to a browser app on another origin (as Supabase does it). The app starts the sign-in
// with `code_challenge` (S256 of a verifier it keeps); the callback opens the user and answers 302 to `redirect_to`
// with a one-time code; the app trades code + verifier for a session at POST /v1/auth/token. A code is 256 random
// bits, kept in the cache service only under its hash for OAUTH_CODE_TTL, bound to its tenant, user and challenge,
// and taken (read and deleted at once) by the first exchange, right or wrong. No token is minted before the exchange.
// Failures of a sign-in that has a `redirect_to` go back there as `?error=<code>&error_description=…`.
import { HttpApiSchema, HttpServerResponse } from "@effect/platform"
import { Duration, Effect, Option, Redacted, Schema } from "effect"
import { timingSafeEqual } from "node:crypto"
import { OAuthFailed } from "../../entities/identity/IdentityBrokerProtocol.ts"
import { ProviderName } from "../../entities/identity/OAuthProviderModel.ts"
import { TenantId } from "../../entities/Tenancy.ts"
import { UserId } from "../../entities/identity/UserModel.ts"
import { IdentityTaken, type VerifiedClaims } from "../../entities/identity/UserSessionsProtocol.ts"
import { Cache } from "../../platform/Cache.ts"
import { SecretToken } from "../../platform/SecretToken.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { ServiceUnavailable, ValidationError } from "../HttpErrors.ts"
import { SignIn } from "./SignIn.ts"

// --- [SCHEMA]

// RFC 7636 §4.2: BASE64URL(SHA-256(verifier)), always 43 characters.
const CodeChallenge = Schema.String.pipe(
	Schema.pattern(/^[A-Za-z0-9_-]{43}$/, { message: () => "code_challenge must be the base64url S256 of a verifier" }),
)

// RFC 7636 §4.1: 43–128 unreserved characters.
const CodeVerifier = Schema.String.pipe(
	Schema.pattern(/^[A-Za-z0-9._~-]{43,128}$/, {
		message: () => "codeVerifier must be 43–128 characters of [A-Za-z0-9._~-]",
	}),
)

const Grant = Schema.Struct({
	tenantId: TenantId,
	userId: UserId,
	provider: ProviderName,
	challenge: CodeChallenge,
})
type Grant = typeof Grant.Type

const StoredGrant = Schema.parseJson(Grant)

// --- [ERRORS]

class InvalidGrant extends Schema.TaggedError<InvalidGrant>()(
	"InvalidGrant",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 400 }),
) {}

// --- [FUNCTIONS]

const codeKey = (code: string) => `oauth:code:${SecretToken.hash(Redacted.make(code))}`

const invalidGrant = () => new InvalidGrant({ message: "the code is invalid, expired or already used" })

// `target` (a gateway path or an absolute URL, already checked against the tenant's origins) with `params` added to
// its query string; a path stays a path.
const withParams = (target: string, params: Readonly<Record<string, string>>) => {
	const url = new URL(target, "http://gateway.invalid")
	Object.entries(params).forEach(([name, value]) => url.searchParams.set(name, value))
	return target.startsWith("/") ? `${url.pathname}${url.search}${url.hash}` : url.href
}

const sameChallenge = (verifier: string, challenge: string) => {
	const computed = Buffer.from(SecretToken.challengeS256(Redacted.make(verifier)))
	const expected = Buffer.from(challenge)
	return computed.length === expected.length && timingSafeEqual(computed, expected)
}

const issue = (grant: Grant, ttl: Duration.DurationInput) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const code = SecretToken.random()
		const stored = yield* Schema.encode(StoredGrant)(grant).pipe(Effect.orDie)
		yield* cache.set(codeKey(Redacted.value(code)), stored, ttl)
		return code
	}).pipe(Telemetry.span("PkceHandoff.issue"))

// The start's end: a challenge needs a `redirect_to` to carry the code back (checked already against the tenant).
const challengeOf = (
	params: { readonly code_challenge?: string | undefined },
	redirectTo: string | null,
): Effect.Effect<string | null, ValidationError> =>
	Option.match(Option.fromNullable(params.code_challenge), {
		onNone: () => Effect.succeed(null),
		onSome: (challenge) =>
			redirectTo === null
				? Effect.fail(
						new ValidationError({
							message: "code_challenge: needs redirect_to, where the one-time code is sent",
							issues: [{ path: ["code_challenge"], message: "needs redirect_to" }],
						}),
					)
				: Effect.succeed(challenge),
	})

// The callback's end of a hand-off: the user is opened as on any sign-in, then 302 to `redirectTo?code=…`.
const handOff = (
	transaction: { readonly tenantId: TenantId; readonly redirectTo: string | null },
	claims: VerifiedClaims,
	challenge: string,
	ttl: Duration.DurationInput,
) =>
	Effect.gen(function* () {
		const target = yield* Option.fromNullable(transaction.redirectTo)
		const { userId } = yield* SignIn.openUser(transaction.tenantId, claims)
		const code = yield* issue(
			{ tenantId: transaction.tenantId, userId, provider: claims.provider, challenge },
			ttl,
		).pipe(
			Effect.catchTag("CacheUnavailable", () =>
				Effect.fail(new ServiceUnavailable({ message: "sign-in is temporarily unavailable" })),
			),
		)
		return HttpServerResponse.redirect(withParams(target, { code: Redacted.value(code) }), { status: 302 })
	}).pipe(Telemetry.span("PkceHandoff.handOff"))

// Takes the code (single use, whatever the outcome) and checks it belongs to this tenant and this verifier. Unknown,
// expired, used, another tenant's or a wrong verifier: one InvalidGrant, so a failure tells nothing.
const redeem = (tenantId: TenantId, code: string, verifier: string) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const stored = yield* cache.take(codeKey(code))
		const grant = yield* Option.match(stored, {
			onNone: () => Effect.succeed(Option.none<Grant>()),
			onSome: (value) => Effect.option(Schema.decode(StoredGrant)(value)),
		})
		return yield* Option.filter(
			grant,
			(found) => found.tenantId === tenantId && sameChallenge(verifier, found.challenge),
		).pipe(Effect.mapError(invalidGrant))
	}).pipe(Telemetry.span("PkceHandoff.redeem"))

// What a failed sign-in sends back to its `redirect_to`: an `error` code (OAuth 2.0's vocabulary where it has one) and
// a fixed description, so nothing a provider or runner said ever reaches a URL.
const errorParams = (error: Redirectable) =>
	Schema.is(IdentityTaken)(error)
		? { error: "identity_taken", error_description: "this identity is linked to another user" }
		: Schema.is(ServiceUnavailable)(error)
			? { error: "temporarily_unavailable", error_description: "sign-in is temporarily unavailable; try again" }
			: { error: "access_denied", error_description: "sign-in failed; start again" }

type Redirectable = OAuthFailed | IdentityTaken | ServiceUnavailable

const isRedirectable = <E>(error: E): error is Extract<E, Redirectable> =>
	Schema.is(OAuthFailed)(error) || Schema.is(IdentityTaken)(error) || Schema.is(ServiceUnavailable)(error)

// With a `redirect_to`, a failed sign-in (or link) answers 302 there with `error` and `error_description` (the error's
// fixed text only); without one, the failure stays a JSON error.
const failuresTo =
	(redirectTo: string | null) =>
	<A, E, R>(effect: Effect.Effect<A, E, R>): Effect.Effect<A | HttpServerResponse.HttpServerResponse, E, R> =>
		Option.match(Option.fromNullable(redirectTo), {
			onNone: () => effect,
			onSome: (target) =>
				Effect.catchIf(effect, isRedirectable<E>, (error) =>
					Effect.succeed(
						HttpServerResponse.redirect(withParams(target, errorParams(error)), { status: 302 }),
					),
				),
		})

// --- [EXPORT]

const PkceHandoff = { challengeOf, failuresTo, handOff, invalidGrant, redeem } as const

export { CodeChallenge, CodeVerifier, InvalidGrant, PkceHandoff }
