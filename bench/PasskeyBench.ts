// `auth.passkey-verify`: passkey assertions verified per second through the platform against a bare
// `@simplewebauthn/server` verify loop in this process. The subject is the step-up / MFA ceremony a client runs:
// `POST /v1/auth/mfa/options` (a single-use challenge kept in the cache service) and `POST /v1/auth/mfa/verify` (the
// gateway hands the assertion to the user's UserSessions entity, which verifies it with @simplewebauthn/server and
// writes the counter and its audit row), 8 users in parallel, each with its own session and passkey on the stack's
// gateway. The baseline signs and verifies the same kind of assertion in this process, 8 loops in parallel. Both arms
// sign with the same software authenticator (test/fixtures/SoftAuthenticator.ts), so the signing cost is on both
// sides. The bracket gives the latency of one whole ceremony (two requests) and of a passkey sign-in (options + login,
// which also opens a session).
import { verifyAuthenticationResponse, verifyRegistrationResponse } from "@simplewebauthn/server"
import { randomBytes } from "node:crypto"
import pg from "pg"
import { Schema } from "effect"
import { softAuthenticator } from "../test/fixtures/SoftAuthenticator.ts"
import { createSessions } from "./AuthBench.ts"
import { BenchSettings, closedLoop, interleave, median, metric, ratioLine } from "./Harness.ts"
import { type Managed, stop } from "./Processes.ts"

// --- [CONSTANTS]

const Workers = 8
const RpId = "localhost"
const Origin = "http://localhost:5173"

const ChallengeBody = Schema.parseJson(Schema.Struct({ challenge: Schema.String }))
const CreatedBody = Schema.parseJson(Schema.Struct({ id: Schema.String }))
const encodeJson = Schema.encodeSync(Schema.parseJson())

// --- [FUNCTIONS]

const passkeyBench = async (options: {
	readonly databaseUrl: string
	readonly adminToken: string
	readonly slug: string
	readonly startGateway: (
		name: string,
		env: Record<string, string>,
	) => Promise<{ readonly url: string; readonly managed: Managed }>
}) => {
	// A gateway of its own: passkey sign-in is an anonymous request, limited per client address by default.
	const gateway = await options.startGateway("gateway-passkeys", {
		GATEWAY_ANONYMOUS_BURST: "1000000",
		GATEWAY_ANONYMOUS_RATE: "1000000",
	})
	return measure({ ...options, gatewayUrl: gateway.url }).finally(() => stop(gateway.managed))
}

const measure = async (options: {
	readonly databaseUrl: string
	readonly gatewayUrl: string
	readonly adminToken: string
	readonly slug: string
}) => {
	const client = new pg.Client({ connectionString: options.databaseUrl })
	await client.connect()
	const appId = String(
		(await client.query<{ id: string }>("SELECT id FROM apps WHERE slug = $1", [options.slug])).rows[0]?.id,
	)
	// Twice as many users as workers: the sign-in arm uses its own, since each sign-in opens a session and, past the
	// per-user cap, evicts the least recently used one (which would be the MFA arm's session).
	const tokens = await createSessions(client, appId, 2 * Workers).finally(() => client.end())
	const post = async (path: string, token: string | null, body?: unknown) => {
		const response = await fetch(`${options.gatewayUrl}${path}`, {
			method: path.startsWith("/admin") ? "PUT" : "POST",
			headers: {
				"content-type": "application/json",
				...(path.startsWith("/admin") ? {} : { "x-app-id": options.slug }),
				...(token === null ? {} : { authorization: `Bearer ${token}` }),
			},
			...(body === undefined ? {} : { body: encodeJson(body) }),
		})
		const text = await response.text()
		return response.ok
			? text
			: Promise.reject(new Error(`${path} answered ${response.status}: ${text.slice(0, 300)}`))
	}
	await fetch(`${options.gatewayUrl}/admin/v1/tenants/${appId}/webauthn`, {
		method: "PUT",
		headers: { authorization: `Bearer ${options.adminToken}`, "content-type": "application/json" },
		body: encodeJson({
			rpId: RpId,
			rpName: "Bench",
			origins: [Origin],
			mfa: "optional",
			userVerification: "preferred",
		}),
	}).then((response) =>
		response.ok ? undefined : response.text().then((text) => Promise.reject(new Error(`webauthn config: ${text}`))),
	)
	const challengeOf = (text: string) => Schema.decodeUnknownSync(ChallengeBody)(text).challenge
	// One user per worker, each with a registered passkey (its first: no step-up needed).
	const users = await Promise.all(
		tokens.map(async (token) => {
			const authenticator = softAuthenticator()
			const me = (await fetch(`${options.gatewayUrl}/v1/auth/whoami`, {
				headers: { authorization: `Bearer ${token}`, "x-app-id": options.slug },
			}).then((response) => response.json())) as { userId?: string }
			const userId = String(me.userId ?? "")
			const challenge = challengeOf(await post("/v1/auth/passkeys/registration/options", token))
			Schema.decodeUnknownSync(CreatedBody)(
				await post("/v1/auth/passkeys/registration", token, {
					response: authenticator.register({ challenge, rpId: RpId, origin: Origin }),
				}),
			)
			return { token, userId, authenticator }
		}),
	)
	const ceremony = async (worker: number) => {
		const user = users[worker]
		return user === undefined
			? false
			: post("/v1/auth/mfa/options", user.token)
					.then((text) =>
						post("/v1/auth/mfa/verify", user.token, {
							response: user.authenticator.assert({
								challenge: challengeOf(text),
								rpId: RpId,
								origin: Origin,
								userHandle: user.userId,
							}),
						}),
					)
					.then(() => true)
	}
	const signIn = async (worker: number) => {
		const user = users[Workers + worker]
		return user === undefined
			? false
			: post("/v1/auth/passkeys/login/options", null)
					.then((text) =>
						post("/v1/auth/passkeys/login", null, {
							response: user.authenticator.assert({
								challenge: challengeOf(text),
								rpId: RpId,
								origin: Origin,
								userHandle: user.userId,
							}),
						}),
					)
					.then(() => true)
	}
	// The bare library: a fresh challenge, the same kind of assertion, verified against the stored public key.
	const bare = Array.from({ length: Workers }, () => {
		const authenticator = softAuthenticator()
		const registration = authenticator.register({ challenge: "unused", rpId: RpId, origin: Origin })
		return { authenticator, registration }
	})
	const credentials = await Promise.all(
		bare.map(async ({ registration }) => {
			const verified = await verifyRegistrationResponse({
				response: registration,
				expectedChallenge: "unused",
				expectedOrigin: Origin,
				expectedRPID: RpId,
				requireUserVerification: false,
			})
			return verified.registrationInfo?.credential
		}),
	)
	const bareVerify = (worker: number) => {
		const entry = bare[worker]
		const credential = credentials[worker]
		const challenge = randomBytes(32).toString("base64url")
		return entry === undefined || credential === undefined
			? Promise.resolve(false)
			: verifyAuthenticationResponse({
					response: entry.authenticator.assert({
						challenge,
						rpId: RpId,
						origin: Origin,
						userHandle: "bench",
					}),
					expectedChallenge: challenge,
					expectedOrigin: Origin,
					expectedRPID: RpId,
					credential: { ...credential, counter: entry.authenticator.counter - 1 },
					requireUserVerification: true,
				}).then((verified) => verified.verified)
	}
	const durationMs = BenchSettings.httpDurationMs
	const [platform, library, logins] = await interleave(BenchSettings.rounds, [
		{ name: "platform", run: () => closedLoop(ceremony, Workers, durationMs) },
		{ name: "library", run: () => closedLoop(bareVerify, Workers, durationMs) },
		{ name: "sign-in", run: () => closedLoop(signIn, Workers, durationMs) },
	])
	const rates = (results: ReadonlyArray<{ readonly rate: number }> | undefined) =>
		(results ?? []).map((result) => result.rate)
	const p50 = (results: ReadonlyArray<{ readonly p50Ms: number }> | undefined) =>
		metric(median((results ?? []).map((result) => result.p50Ms)))
	const failures = [...(platform ?? []), ...(logins ?? [])].reduce((sum, result) => sum + result.failed, 0)
	return ratioLine({
		name: "auth.passkey-verify",
		unit: "verifications/s",
		subject: rates(platform),
		baseline: rates(library),
		target: 0.5,
		extra:
			`[${Workers} users in parallel; one MFA ceremony (options + verify) p50 ${p50(platform)} ms; passkey sign-in ` +
			`(options + login, opens a session) ${metric(median(rates(logins)))}/s p50 ${p50(logins)} ms; ` +
			`${failures} failed calls]`,
	})
}

// --- [EXPORT]

export { passkeyBench }
