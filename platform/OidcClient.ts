// A relying party's side of OpenID Connect, over HttpClient (no raw fetch): discovery from the issuer's metadata
// (the metadata must name exactly that issuer), the authorization URL with PKCE S256, the code exchange with the
// client secret (HTTP Basic, or in the body when the provider only takes that), and ID token verification: signature
// against the provider's JWKS (fetched again once when the token names a key it does not hold: the provider rotated),
// `iss`, `aud` (and `azp`), expiry and the transaction's nonce; then UserInfo, where the provider has one, for the
// profile (OIDC Core 5.4: scope claims may be served there only), whose `sub` must be the ID token's. Errors never
// carry the secret, the code or the tokens.
import { HttpClient, HttpClientRequest, HttpClientResponse } from "@effect/platform"
import { Cache as EffectCache, Data, Duration, Effect, Exit, Redacted, Schema } from "effect"
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, type JSONWebKeySet } from "jose"
import { Telemetry } from "./Telemetry.ts"
import { shared } from "./SharedLookup.ts"

// --- [CONSTANTS]

const MetadataTtl = Duration.minutes(10)
const ClockToleranceSeconds = 30
const MaxTokenAge = "10 minutes"
// The longest the token endpoint may take to answer.
const ExchangeTimeout = Duration.seconds(10)
// The longest a provider's discovery document may take to arrive when a provider is checked before it is saved.
const ProbeTimeout = Duration.seconds(5)
// A provider's own words (RFC 6749 5.2 `error_description`) are kept for logs up to this length.
const MaxDescriptionLength = 300

// --- [SCHEMA]

const ProviderMetadata = Schema.Struct({
	issuer: Schema.String,
	authorization_endpoint: Schema.String,
	token_endpoint: Schema.String,
	jwks_uri: Schema.String,
	userinfo_endpoint: Schema.optional(Schema.String),
	token_endpoint_auth_methods_supported: Schema.optional(Schema.Array(Schema.String)),
	id_token_signing_alg_values_supported: Schema.optional(Schema.Array(Schema.String)),
})
type ProviderMetadata = typeof ProviderMetadata.Type

const Jwks = Schema.Struct({ keys: Schema.Array(Schema.Object) })

// An error answer of the token endpoint (RFC 6749 5.2).
const ProviderErrorBody = Schema.Struct({
	error: Schema.String,
	error_description: Schema.optional(Schema.String),
})

const TokenResponse = Schema.Struct({
	id_token: Schema.String,
	access_token: Schema.optional(Schema.String),
	token_type: Schema.optional(Schema.String),
})

const Subject = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255))

const ProfileClaims = Schema.Struct({
	email: Schema.optional(Schema.String),
	// Some providers send it as the string "true".
	email_verified: Schema.optional(Schema.Union(Schema.Boolean, Schema.BooleanFromString)),
	name: Schema.optional(Schema.String),
})

const IdTokenClaims = Schema.Struct({
	sub: Subject,
	nonce: Schema.optional(Schema.String),
	azp: Schema.optional(Schema.String),
	aud: Schema.Union(Schema.String, Schema.Array(Schema.String)),
	...ProfileClaims.fields,
})
type IdTokenClaims = typeof IdTokenClaims.Type

const UserInfoClaims = Schema.Struct({ sub: Subject, ...ProfileClaims.fields })
type UserInfoClaims = typeof UserInfoClaims.Type

// --- [ERRORS]

// Why a sign-in failed, for logs; callers answer one OAuthFailed whatever the stage. `unavailable`: the provider did
// not answer properly (unreachable, timed out, 5xx), which says nothing about the client. `providerError` and
// `providerErrorDescription`: what the token endpoint said, when it answered an OAuth error.
class OidcError extends Data.TaggedError("OidcError")<{
	readonly stage: "discovery" | "token_exchange" | "id_token" | "userinfo"
	readonly reason: string
	readonly unavailable?: boolean
	readonly providerError?: string | undefined
	readonly providerErrorDescription?: string | undefined
}> {}

// --- [FUNCTIONS]

const sameIssuer = (configured: string, announced: string) =>
	configured.replace(/\/+$/, "") === announced.replace(/\/+$/, "")

const discoveryUrl = (issuer: string) => `${issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`

// Provider text for a log line: printable, one line, bounded.
const printable = (text: string) => text.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, MaxDescriptionLength)

// The OAuth error a refusing token endpoint sent, when its body is one.
const providerErrorOf = (response: HttpClientResponse.HttpClientResponse) =>
	HttpClientResponse.schemaBodyJson(ProviderErrorBody)(response).pipe(
		Effect.map((body) => ({
			providerError: printable(body.error),
			providerErrorDescription:
				body.error_description === undefined ? undefined : printable(body.error_description),
		})),
		Effect.orElseSucceed(() => ({})),
	)

// Fields an OpenID configuration must name for a sign-in to work.
const RequiredMetadata = ["issuer", "authorization_endpoint", "token_endpoint", "jwks_uri"] as const

// Checks an issuer's discovery document the way a sign-in will use it, fresh (nothing cached), and says in words what
// is wrong: unreachable, not answering 200, not JSON, fields missing, or naming another issuer.
const probeIssuer = (client: HttpClient.HttpClient, issuer: string) =>
	client.get(discoveryUrl(issuer), { acceptJson: true }).pipe(
		Effect.mapError(() => `${discoveryUrl(issuer)} is unreachable`),
		Effect.filterOrFail(
			(response) => response.status === 200,
			(response) => `${discoveryUrl(issuer)} answered ${response.status}`,
		),
		Effect.flatMap((response) =>
			response.json.pipe(Effect.mapError(() => `${discoveryUrl(issuer)} did not answer JSON`)),
		),
		Effect.flatMap((body) =>
			Schema.decodeUnknown(Schema.Record({ key: Schema.String, value: Schema.Unknown }))(body).pipe(
				Effect.mapError(() => `${discoveryUrl(issuer)} did not answer a JSON object`),
			),
		),
		Effect.filterOrFail(
			(body) => RequiredMetadata.every((field) => typeof body[field] === "string"),
			(body) =>
				`the OpenID configuration lacks ${RequiredMetadata.filter((field) => typeof body[field] !== "string").join(", ")}`,
		),
		Effect.filterOrFail(
			(body) => sameIssuer(issuer, String(body.issuer)),
			(body) => `the OpenID configuration names issuer ${String(body.issuer)}, not ${issuer}`,
		),
		Effect.scoped,
		Effect.timeoutFail({
			duration: ProbeTimeout,
			onTimeout: () => `${discoveryUrl(issuer)} did not answer within ${Duration.format(ProbeTimeout)}`,
		}),
		Effect.mapError((reason) => new OidcError({ stage: "discovery", reason })),
		Effect.asVoid,
	)

const getJson = <A, I>(
	client: HttpClient.HttpClient,
	url: string,
	schema: Schema.Schema<A, I>,
	stage: OidcError["stage"],
) =>
	client.get(url, { acceptJson: true }).pipe(
		Effect.flatMap(HttpClientResponse.filterStatusOk),
		Effect.flatMap(HttpClientResponse.schemaBodyJson(schema)),
		Effect.scoped,
		Effect.mapError((error) => new OidcError({ stage, reason: `${url}: ${error._tag}`, unavailable: true })),
	)

// Verifies an ID token against already fetched keys; pure apart from the clock.
const verifyIdToken = (
	idToken: string,
	keys: JSONWebKeySet,
	expected: {
		readonly issuer: string
		readonly clientId: string
		readonly nonce: string
		readonly algorithms?: ReadonlyArray<string> | undefined
	},
): Effect.Effect<IdTokenClaims, OidcError> =>
	Effect.tryPromise({
		try: () =>
			jwtVerify(idToken, createLocalJWKSet(keys), {
				issuer: expected.issuer,
				audience: expected.clientId,
				algorithms: [...(expected.algorithms ?? ["RS256"])].filter((alg) => alg !== "none"),
				clockTolerance: ClockToleranceSeconds,
				// An ID token is minted for this very exchange: one issued long ago (or in the future) is refused.
				maxTokenAge: MaxTokenAge,
				requiredClaims: ["exp", "iat", "sub"],
			}),
		catch: (cause) =>
			new OidcError({
				stage: "id_token",
				reason: cause instanceof Error ? `${cause.name}: ${cause.message}` : "invalid",
			}),
	}).pipe(
		Effect.flatMap((verified) =>
			Schema.decodeUnknown(IdTokenClaims)(verified.payload).pipe(
				Effect.mapError(() => new OidcError({ stage: "id_token", reason: "claims malformed" })),
			),
		),
		Effect.filterOrFail(
			(claims) => claims.nonce === expected.nonce,
			() => new OidcError({ stage: "id_token", reason: "nonce mismatch" }),
		),
		Effect.filterOrFail(
			// OIDC Core 3.1.3.7: with several audiences `azp` must name this client; when present, it always must.
			(claims) =>
				claims.azp === undefined
					? typeof claims.aud === "string" || claims.aud.length === 1
					: claims.azp === expected.clientId,
			() => new OidcError({ stage: "id_token", reason: "azp mismatch" }),
		),
	)

// The ID token speaks for identity (sub, aud, nonce); UserInfo, when asked, for the profile. An email and its
// verification always come from the same source.
const withUserInfo = (claims: IdTokenClaims, userInfo: UserInfoClaims): IdTokenClaims => ({
	...claims,
	...(userInfo.email === undefined ? {} : { email: userInfo.email, email_verified: userInfo.email_verified }),
	...(userInfo.name === undefined ? {} : { name: userInfo.name }),
})

// The key id an ID token names, when the JWKS at hand has no key of that id (so it is worth fetching again).
const unknownKeyId = (idToken: string, keys: JSONWebKeySet) =>
	Effect.try(() => decodeProtectedHeader(idToken).kid).pipe(
		Effect.map(
			(kid) => kid !== undefined && !keys.keys.some((key) => (key as { readonly kid?: unknown }).kid === kid),
		),
		Effect.orElseSucceed(() => false),
	)

// --- [SERVICES]

class OidcClient extends Effect.Service<OidcClient>()("platform/OidcClient", {
	scoped: Effect.gen(function* () {
		const client = (yield* HttpClient.HttpClient).pipe(HttpClient.withTracerPropagation(false))
		const discovered = yield* EffectCache.makeWith({
			capacity: 1_000,
			lookup: (issuer: string) =>
				Effect.gen(function* () {
					const metadata = yield* getJson(client, discoveryUrl(issuer), ProviderMetadata, "discovery")
					yield* Effect.filterOrFail(
						Effect.succeed(metadata),
						(found) => sameIssuer(issuer, found.issuer),
						() => new OidcError({ stage: "discovery", reason: `metadata names issuer ${metadata.issuer}` }),
					)
					const keys = yield* getJson(client, metadata.jwks_uri, Jwks, "discovery")
					return { metadata, keys: keys as unknown as JSONWebKeySet }
				}),
			timeToLive: (exit) => (Exit.isSuccess(exit) ? MetadataTtl : Duration.zero),
		})
		const authorizationUrl = (
			issuer: string,
			request: {
				readonly clientId: string
				readonly scopes: ReadonlyArray<string>
				readonly redirectUri: string
				readonly state: string
				readonly nonce: string
				readonly codeChallenge: string
			},
		) =>
			shared(discovered.get(issuer)).pipe(
				Effect.map(({ metadata }) => {
					const url = new URL(metadata.authorization_endpoint)
					url.search = new URLSearchParams({
						response_type: "code",
						client_id: request.clientId,
						redirect_uri: request.redirectUri,
						scope: Array.from(new Set(["openid", ...request.scopes])).join(" "),
						state: request.state,
						nonce: request.nonce,
						code_challenge: request.codeChallenge,
						code_challenge_method: "S256",
					}).toString()
					return url.toString()
				}),
				Telemetry.span("OidcClient.authorizationUrl"),
			)
		// UserInfo with the access token; its `sub` must be the ID token's (OIDC Core 5.3.2), or the answer is not
		// about the user who signed in.
		const userInfo = (endpoint: string, accessToken: string, subject: string) =>
			HttpClientRequest.get(endpoint).pipe(
				HttpClientRequest.acceptJson,
				HttpClientRequest.bearerToken(accessToken),
				client.execute,
				Effect.flatMap(HttpClientResponse.filterStatusOk),
				Effect.flatMap(HttpClientResponse.schemaBodyJson(UserInfoClaims)),
				Effect.scoped,
				Effect.catchTags({
					ResponseError: (error) =>
						Effect.fail(
							new OidcError({
								stage: "userinfo",
								reason: `userinfo endpoint answered ${error.response.status}`,
							}),
						),
					RequestError: () =>
						Effect.fail(new OidcError({ stage: "userinfo", reason: "userinfo endpoint unreachable" })),
					ParseError: () =>
						Effect.fail(new OidcError({ stage: "userinfo", reason: "userinfo response malformed" })),
				}),
				Effect.filterOrFail(
					(found) => found.sub === subject,
					() => new OidcError({ stage: "userinfo", reason: "userinfo sub differs from the ID token's" }),
				),
				Telemetry.span("OidcClient.userInfo"),
			)
		const exchange = (
			issuer: string,
			request: {
				readonly clientId: string
				readonly clientSecret: Redacted.Redacted<string>
				readonly code: string
				readonly codeVerifier: string
				readonly redirectUri: string
				readonly nonce: string
			},
		) =>
			Effect.gen(function* () {
				const { metadata, keys } = yield* shared(discovered.get(issuer))
				const basic = (metadata.token_endpoint_auth_methods_supported ?? ["client_secret_basic"]).includes(
					"client_secret_basic",
				)
				const form = {
					grant_type: "authorization_code",
					code: request.code,
					redirect_uri: request.redirectUri,
					code_verifier: request.codeVerifier,
					client_id: request.clientId,
					...(basic ? {} : { client_secret: Redacted.value(request.clientSecret) }),
				}
				const credentials = Buffer.from(
					`${encodeURIComponent(request.clientId)}:${encodeURIComponent(Redacted.value(request.clientSecret))}`,
				).toString("base64")
				const tokens = yield* HttpClientRequest.post(metadata.token_endpoint).pipe(
					HttpClientRequest.acceptJson,
					HttpClientRequest.bodyUrlParams(form),
					basic ? HttpClientRequest.setHeader("authorization", `Basic ${credentials}`) : (same) => same,
					client.execute,
					Effect.filterOrElse(
						(response) => response.status === 200,
						(response) =>
							providerErrorOf(response).pipe(
								Effect.flatMap((said) =>
									Effect.fail(
										new OidcError({
											stage: "token_exchange",
											reason: `token endpoint answered ${response.status}`,
											unavailable: response.status >= 500,
											...said,
										}),
									),
								),
							),
					),
					Effect.flatMap(HttpClientResponse.schemaBodyJson(TokenResponse)),
					Effect.scoped,
					Effect.catchTags({
						ResponseError: () =>
							Effect.fail(
								new OidcError({
									stage: "token_exchange",
									reason: "token response is not JSON",
									unavailable: true,
								}),
							),
						RequestError: () =>
							Effect.fail(
								new OidcError({
									stage: "token_exchange",
									reason: "token endpoint unreachable",
									unavailable: true,
								}),
							),
						ParseError: () =>
							Effect.fail(
								new OidcError({
									stage: "token_exchange",
									reason: "token response malformed",
									unavailable: true,
								}),
							),
					}),
					Effect.timeoutFail({
						duration: ExchangeTimeout,
						onTimeout: () =>
							new OidcError({
								stage: "token_exchange",
								reason: "token endpoint timed out",
								unavailable: true,
							}),
					}),
				)
				// A key id the cached JWKS lacks: the provider may have rotated its keys; fetch them again, once.
				const current = (yield* unknownKeyId(tokens.id_token, keys))
					? yield* discovered.refresh(issuer).pipe(
							Effect.zipRight(shared(discovered.get(issuer))),
							Effect.map((fresh) => fresh.keys),
						)
					: keys
				const claims = yield* verifyIdToken(tokens.id_token, current, {
					issuer: metadata.issuer,
					clientId: request.clientId,
					nonce: request.nonce,
					algorithms: metadata.id_token_signing_alg_values_supported,
				})
				return metadata.userinfo_endpoint === undefined || tokens.access_token === undefined
					? claims
					: withUserInfo(claims, yield* userInfo(metadata.userinfo_endpoint, tokens.access_token, claims.sub))
			}).pipe(Telemetry.span("OidcClient.exchange"))
		return {
			authorizationUrl,
			exchange,
			discover: (issuer: string) => shared(discovered.get(issuer)),
			probe: (issuer: string) => probeIssuer(client, issuer).pipe(Telemetry.span("OidcClient.probe")),
		} as const
	}),
}) {}

// --- [EXPORT]

export { OidcClient, OidcError, verifyIdToken }
