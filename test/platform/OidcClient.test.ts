import { NodeHttpClient } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Redacted, Schema } from "effect"
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { exportJWK, exportSPKI, generateKeyPair, SignJWT, UnsecuredJWT, type JWK, type JWTPayload } from "jose"
import { OidcClient, OidcError, verifyIdToken } from "../../platform/OidcClient.ts"

// --- [CONSTANTS]

const issuer = "https://idp.example.test"
const clientId = "client-123"
const nonce = "nonce-abc"
const kid = "main"

// --- [FUNCTIONS]

const nowSeconds = () => Math.floor(Date.now() / 1000)

// One provider key (published in the JWKS) and one attacker key (never published), generated once per file.
const fixture = Promise.all([
	generateKeyPair("RS256", { extractable: true }),
	generateKeyPair("RS256", { extractable: true }),
]).then(async ([provider, attacker]) => ({
	provider,
	attacker,
	jwks: { keys: [{ ...(await exportJWK(provider.publicKey)), kid, alg: "RS256", use: "sig" }] },
	publicPem: await exportSPKI(provider.publicKey),
}))

const Fixture = Effect.promise(() => fixture)

const claims = (overrides: JWTPayload = {}): JWTPayload => ({
	iss: issuer,
	aud: clientId,
	sub: "user-42",
	nonce,
	email: "ada@example.test",
	email_verified: true,
	name: "Ada Lovelace",
	iat: nowSeconds(),
	exp: nowSeconds() + 300,
	...overrides,
})

// Drops claims by name, so a token can lack one entirely (not merely carry a null).
const without = (payload: JWTPayload, ...names: ReadonlyArray<string>): JWTPayload =>
	Object.fromEntries(Object.entries(payload).filter(([name]) => !names.includes(name)))

const sign = (
	payload: JWTPayload,
	options: { readonly key?: "provider" | "attacker"; readonly kid?: string } = {},
): Effect.Effect<string> =>
	Fixture.pipe(
		Effect.flatMap(({ provider, attacker }) =>
			Effect.promise(() =>
				new SignJWT(payload)
					.setProtectedHeader({ alg: "RS256", kid: options.kid ?? kid })
					.sign(options.key === "attacker" ? attacker.privateKey : provider.privateKey),
			),
		),
	)

const verify = (
	token: string,
	expected: { readonly issuer?: string; readonly nonce?: string; readonly algorithms?: ReadonlyArray<string> } = {},
) =>
	Fixture.pipe(
		Effect.flatMap(({ jwks }) =>
			verifyIdToken(token, jwks, {
				issuer: expected.issuer ?? issuer,
				clientId,
				nonce: expected.nonce ?? nonce,
				algorithms: expected.algorithms,
			}),
		),
	)

// Fails the test unless verification fails with an id_token OidcError whose reason contains `fragment`.
const rejected = (token: string, fragment: string, expected?: Parameters<typeof verify>[1]) =>
	Effect.flip(verify(token, expected)).pipe(
		Effect.tap((error) =>
			Effect.sync(() => {
				expect(error).toBeInstanceOf(OidcError)
				expect(error.stage).toBe("id_token")
				expect(error.reason).toContain(fragment)
			}),
		),
	)

// --- [TESTS]

describe("verifyIdToken", () => {
	it.effect("a valid RS256 token passes and returns sub, email, email_verified and name", () =>
		Effect.gen(function* () {
			const verified = yield* verify(yield* sign(claims()))
			expect(verified).toMatchObject({
				sub: "user-42",
				email: "ada@example.test",
				email_verified: true,
				name: "Ada Lovelace",
				nonce,
				aud: clientId,
			})
		}),
	)

	it.effect("a token from another issuer is rejected on iss", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(claims({ iss: "https://evil.example.test" })), '"iss"')
			// The same token is fine for the issuer that did sign it: only iss decided.
			yield* verify(yield* sign(claims({ iss: "https://evil.example.test" })), {
				issuer: "https://evil.example.test",
			})
		}),
	)

	it.effect("a token for another audience is rejected on aud", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(claims({ aud: "other-client" })), '"aud"')
			yield* rejected(yield* sign(claims({ aud: ["other-client", "third-client"] })), '"aud"')
		}),
	)

	it.effect("a token that expired beyond the 30 s clock tolerance is rejected; within it, it passes", () =>
		Effect.gen(function* () {
			const error = yield* rejected(
				yield* sign(claims({ iat: nowSeconds() - 600, exp: nowSeconds() - 120 })),
				'"exp"',
			)
			expect(error.reason).toContain("JWTExpired")
			const withinTolerance = yield* verify(
				yield* sign(claims({ iat: nowSeconds() - 600, exp: nowSeconds() - 5 })),
			)
			expect(withinTolerance.sub).toBe("user-42")
		}),
	)

	it.effect("a token without exp or without iat is rejected", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(without(claims(), "exp")), 'missing required "exp"')
			yield* rejected(yield* sign(without(claims(), "iat")), 'missing required "iat"')
		}),
	)

	it.effect("a token not yet valid (nbf beyond the clock tolerance) is rejected on nbf", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(claims({ nbf: nowSeconds() + 300 })), '"nbf"')
		}),
	)

	it.effect("a token issued in the future, or issued long ago but not yet expired, is rejected on iat", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(claims({ iat: nowSeconds() + 3_600, exp: nowSeconds() + 7_200 })), '"iat"')
			yield* rejected(yield* sign(claims({ iat: nowSeconds() - 86_400, exp: nowSeconds() + 3_600 })), '"iat"')
		}),
	)

	it.effect("an azp naming another client is rejected even with a single audience", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(claims({ aud: clientId, azp: "someone-else" })), "azp mismatch")
		}),
	)

	it.effect('email_verified sent as the string "true" is read as true', () =>
		Effect.gen(function* () {
			const verified = yield* verify(yield* sign(claims({ email_verified: "true" })))
			expect(verified.email_verified).toBe(true)
		}),
	)

	it.effect("a token with another nonce is rejected", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(claims({ nonce: "nonce-of-another-transaction" })), "nonce mismatch")
		}),
	)

	it.effect("a token without a nonce is rejected", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(without(claims(), "nonce")), "nonce mismatch")
		}),
	)

	it.effect("a token signed by another key under the published kid fails signature verification", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(claims(), { key: "attacker" }), "JWSSignatureVerificationFailed")
		}),
	)

	it.effect("a token whose kid is not in the JWKS is rejected with no matching key", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(claims(), { key: "attacker", kid: "attacker-kid" }), "JWKSNoMatchingKey")
			// Even signed by the real key, an unknown kid finds no key.
			yield* rejected(yield* sign(claims(), { kid: "rotated-away" }), "JWKSNoMatchingKey")
		}),
	)

	it.effect('an unsigned alg "none" token is rejected, even when "none" is among the allowed algorithms', () =>
		Effect.gen(function* () {
			const unsigned = new UnsecuredJWT(claims()).encode()
			expect(unsigned.endsWith(".")).toBe(true)
			yield* rejected(unsigned, "JOSEAlgNotAllowed")
			yield* rejected(unsigned, "JOSEAlgNotAllowed", { algorithms: ["none", "RS256"] })
			yield* rejected(unsigned, "JOSEAlgNotAllowed", { algorithms: ["none"] })
		}),
	)

	it.effect(
		"aud [client, other] with azp of someone else is rejected; without azp too; with azp = client it passes",
		() =>
			Effect.gen(function* () {
				const audience = [clientId, "other-client"]
				yield* rejected(yield* sign(claims({ aud: audience, azp: "other-client" })), "azp mismatch")
				yield* rejected(yield* sign(claims({ aud: audience })), "azp mismatch")
				const verified = yield* verify(yield* sign(claims({ aud: audience, azp: clientId })))
				expect(verified).toMatchObject({ sub: "user-42", aud: audience, azp: clientId })
			}),
	)

	it.effect("HS256 signed with the provider's public key bytes (algorithm confusion) is rejected", () =>
		Effect.gen(function* () {
			const { publicPem, jwks } = yield* Fixture
			const confused = yield* Effect.promise(() =>
				new SignJWT(claims())
					.setProtectedHeader({ alg: "HS256", kid })
					.sign(new TextEncoder().encode(publicPem)),
			)
			const jwkBytes = new TextEncoder().encode(jwks.keys[0]?.n ?? "")
			const confusedJwk = yield* Effect.promise(() =>
				new SignJWT(claims()).setProtectedHeader({ alg: "HS256", kid }).sign(jwkBytes),
			)
			yield* rejected(confused, "JOSEAlgNotAllowed", { algorithms: ["RS256"] })
			yield* rejected(confused, "JOSEAlgNotAllowed")
			yield* rejected(confusedJwk, "JOSEAlgNotAllowed", { algorithms: ["RS256"] })
			// Even if the provider's metadata listed HS256, a JWKS never yields a symmetric key.
			yield* rejected(confused, "JOSENotSupported", { algorithms: ["RS256", "HS256"] })
		}),
	)

	it.effect("a token without sub, or with an empty sub, is rejected", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(without(claims(), "sub")), 'missing required "sub"')
			yield* rejected(yield* sign(claims({ sub: "" })), "claims malformed")
		}),
	)

	it.effect("a token signed with RS256 is rejected when the provider only announces ES256", () =>
		Effect.gen(function* () {
			yield* rejected(yield* sign(claims()), "JOSEAlgNotAllowed", { algorithms: ["ES256"] })
		}),
	)

	it.effect("no error reason or message contains the raw token or any of its segments", () =>
		Effect.gen(function* () {
			const tokens = [
				yield* sign(claims({ iss: "https://evil.example.test" })),
				yield* sign(claims({ aud: "other-client" })),
				yield* sign(claims({ iat: nowSeconds() - 600, exp: nowSeconds() - 120 })),
				yield* sign(claims({ nbf: nowSeconds() + 300 })),
				yield* sign(claims({ nonce: "nonce-of-another-transaction" })),
				yield* sign(without(claims(), "nonce")),
				yield* sign(claims(), { key: "attacker" }),
				yield* sign(claims(), { kid: "rotated-away" }),
				yield* sign(claims({ aud: [clientId, "other-client"], azp: "other-client" })),
				yield* sign(without(claims(), "sub")),
				yield* sign(claims({ sub: "" })),
				new UnsecuredJWT(claims()).encode(),
				// Well formed but truncated, and a token with a broken signature segment.
				(yield* sign(claims())).slice(0, -10),
				`${(yield* sign(claims())).split(".").slice(0, 2).join(".")}.!!!not-base64url!!!`,
				// Not JSON inside: header and payload segments of garbage.
				"eyJub3QganNvbg.eyJhbHNvIG5vdCBqc29u.c2lnbmF0dXJlLXNlZ21lbnQ",
				"not-a-jwt-at-all-but-long-enough-to-notice",
			]
			const errors = yield* Effect.forEach(tokens, (token) => Effect.flip(verify(token)))
			expect(errors).toHaveLength(tokens.length)
			errors.map((error, index) => {
				const token = tokens[index] ?? ""
				const segments = token.split(".").filter((segment) => segment.length >= 12)
				expect(error).toBeInstanceOf(OidcError)
				expect(error.stage).toBe("id_token")
				expect(error.reason).not.toContain(token)
				expect(String(error)).not.toContain(token)
				segments.map((segment) => expect(error.reason).not.toContain(segment))
				segments.map((segment) => expect(String(error)).not.toContain(segment))
			})
		}),
	)
})

// --- [PROVIDER]

// A minimal OpenID Provider on a loopback port: discovery, a JWKS the test can rotate, a token endpoint that hands out
// whatever ID token the test set, and UserInfo answering whatever the test set. Counts JWKS fetches.
type FakeProvider = {
	readonly issuer: string
	published: Array<JWK>
	idToken: string
	userInfo: Record<string, unknown> | undefined
	jwksFetches: number
	readonly stop: () => Promise<void>
}

const startFakeProvider = async (): Promise<FakeProvider> => {
	const server = createServer()
	await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", () => resolve()))
	const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
	const provider: FakeProvider = {
		issuer,
		published: [],
		idToken: "",
		userInfo: undefined,
		jwksFetches: 0,
		stop: () =>
			new Promise<void>((resolve) => {
				server.closeAllConnections()
				server.close(() => resolve())
			}),
	}
	server.on("request", (request, response) => {
		const json = (status: number, body: unknown) => {
			response.writeHead(status, { "content-type": "application/json" })
			response.end(Schema.encodeSync(Schema.parseJson())(body))
		}
		const path = new URL(request.url ?? "/", issuer).pathname
		provider.jwksFetches += path === "/jwks" ? 1 : 0
		const routes: Record<string, () => void> = {
			"/.well-known/openid-configuration": () =>
				json(200, {
					issuer,
					authorization_endpoint: `${issuer}/auth`,
					token_endpoint: `${issuer}/token`,
					jwks_uri: `${issuer}/jwks`,
					...(provider.userInfo === undefined ? {} : { userinfo_endpoint: `${issuer}/userinfo` }),
				}),
			"/jwks": () => json(200, { keys: provider.published }),
			"/token": () => json(200, { id_token: provider.idToken, access_token: "at-1", token_type: "Bearer" }),
			"/userinfo": () =>
				request.headers.authorization === "Bearer at-1"
					? json(200, provider.userInfo)
					: json(401, { error: "invalid_token" }),
		}
		;(routes[path] ?? (() => json(404, {})))()
	})
	return provider
}

const exchangeAt = (provider: FakeProvider) =>
	Effect.flatMap(OidcClient, (oidc) =>
		oidc.exchange(provider.issuer, {
			clientId,
			clientSecret: Redacted.make("secret"),
			code: "code-1",
			codeVerifier: "verifier-1",
			redirectUri: "http://127.0.0.1/callback",
			nonce,
		}),
	)

const OidcClientLive = OidcClient.Default.pipe(Layer.provide(NodeHttpClient.layerUndici))

const withProvider = <A, E>(use: (provider: FakeProvider) => Effect.Effect<A, E, OidcClient>) =>
	Effect.acquireRelease(Effect.promise(startFakeProvider), (provider) => Effect.promise(provider.stop)).pipe(
		Effect.flatMap((provider) => use(provider)),
		Effect.provide(OidcClientLive),
		Effect.scoped,
	)

const keyPair = (keyId: string) =>
	Effect.promise(async () => {
		const pair = await generateKeyPair("RS256", { extractable: true })
		return {
			keyId,
			privateKey: pair.privateKey,
			jwk: { ...(await exportJWK(pair.publicKey)), kid: keyId, alg: "RS256" },
		}
	})

const signedBy = (
	key: { readonly keyId: string; readonly privateKey: Awaited<ReturnType<typeof generateKeyPair>>["privateKey"] },
	payload: JWTPayload,
) =>
	Effect.promise(() => new SignJWT(payload).setProtectedHeader({ alg: "RS256", kid: key.keyId }).sign(key.privateKey))

describe("OidcClient.exchange against a provider", () => {
	it.effect("keys rotated at the provider: an unknown kid fetches the JWKS again once, then verifies", () =>
		withProvider((provider) =>
			Effect.gen(function* () {
				const [first, second, never] = yield* Effect.all([keyPair("k1"), keyPair("k2"), keyPair("k3")])
				const payload = (overrides: JWTPayload = {}) => ({ ...claims({ iss: provider.issuer }), ...overrides })
				provider.published = [first.jwk]
				provider.idToken = yield* signedBy(first, payload())
				expect((yield* exchangeAt(provider)).sub).toBe("user-42")
				expect(provider.jwksFetches).toBe(1)
				// The provider rotates: only k2 is published, and the next ID token names k2.
				provider.published = [second.jwk]
				provider.idToken = yield* signedBy(second, payload({ sub: "user-43" }))
				expect((yield* exchangeAt(provider)).sub).toBe("user-43")
				expect(provider.jwksFetches).toBe(2)
				// Now cached: the same kid costs no fetch.
				expect((yield* exchangeAt(provider)).sub).toBe("user-43")
				expect(provider.jwksFetches).toBe(2)
				// A kid the provider never publishes: one more fetch, then the sign-in fails on no matching key.
				provider.idToken = yield* signedBy(never, payload())
				const error = yield* Effect.flip(exchangeAt(provider))
				expect(error).toBeInstanceOf(OidcError)
				expect(error).toMatchObject({ stage: "id_token" })
				expect(String((error as OidcError).reason)).toContain("JWKSNoMatchingKey")
				expect(provider.jwksFetches).toBe(3)
			}),
		),
	)

	it.effect("UserInfo supplies the profile the ID token lacks; the ID token keeps the identity", () =>
		withProvider((provider) =>
			Effect.gen(function* () {
				const key = yield* keyPair("k1")
				provider.published = [key.jwk]
				provider.idToken = yield* signedBy(
					key,
					without(claims({ iss: provider.issuer }), "email", "email_verified", "name"),
				)
				provider.userInfo = { sub: "user-42", email: "ada@example.test", email_verified: true, name: "Ada" }
				const merged = yield* exchangeAt(provider)
				expect(merged).toMatchObject({
					sub: "user-42",
					aud: clientId,
					nonce,
					email: "ada@example.test",
					email_verified: true,
					name: "Ada",
				})
				// An email without email_verified at UserInfo is not taken as verified from the ID token's.
				provider.idToken = yield* signedBy(key, claims({ iss: provider.issuer }))
				provider.userInfo = { sub: "user-42", email: "other@example.test" }
				expect(yield* exchangeAt(provider)).toMatchObject({ email: "other@example.test", name: "Ada Lovelace" })
				expect((yield* exchangeAt(provider)).email_verified).toBeUndefined()
			}),
		),
	)

	it.effect("UserInfo about another subject than the ID token's fails the sign-in", () =>
		withProvider((provider) =>
			Effect.gen(function* () {
				const key = yield* keyPair("k1")
				provider.published = [key.jwk]
				provider.idToken = yield* signedBy(key, claims({ iss: provider.issuer }))
				provider.userInfo = { sub: "someone-else", email: "victim@example.test", email_verified: true }
				const error = yield* Effect.flip(exchangeAt(provider))
				expect(error).toBeInstanceOf(OidcError)
				expect(error).toMatchObject({ stage: "userinfo", reason: "userinfo sub differs from the ID token's" })
			}),
		),
	)
})
