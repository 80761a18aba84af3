// Identity across real processes: one runner and two gateways (A and B) on one database and one Redis, and a real
// OpenID Provider. What one gateway does to a credential (sign-out, revocation, eviction by the session cap) holds on
// the other at its very next request; concurrent sign-ins of one user through both gateways never exceed the cap;
// login-failure counts are shared; and no process ever prints a token, key or client secret.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeBrowser } from "../fixtures/BrowserClient.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { stopAll } from "../fixtures/Processes.ts"
import { authed, reachCallback, setUpTenant, type SignedIn, signIn } from "../fixtures/SignIn.ts"
import { query as queryDatabase } from "../fixtures/ShardLocks.ts"
import { startStack } from "../fixtures/Stack.ts"

// --- [CONSTANTS]

const failureLimit = 5
const raceRepetitions = Number(process.env.IDENTITY_RACE_REPETITIONS ?? "100")

// --- [STATE]

let stack: Awaited<ReturnType<typeof startStack>> | undefined
let idp: OidcProviderHandle
let gatewayA = ""
let gatewayB = ""
let adminToken = ""
const secrets: Array<string> = []

// --- [FUNCTIONS]

const remember = (signedIn: { readonly body: SignedIn | null }) => {
	secrets.push(signedIn.body?.token ?? "")
	return signedIn.body?.token ?? ""
}

const status = (baseUrl: string, tenant: string, token: string) =>
	authed(baseUrl, tenant, token, "/auth/whoami").then((response) => response.status)

const query = <A>(text: string, params: Array<unknown>) => queryDatabase<A>(stack?.database.url ?? "", text, params)

// --- [SUITE]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	stack = await startStack({
		name: "identity",
		gateways: 2,
		// Thousands of sign-ins from one address: the anonymous rate limit is not what this suite measures.
		gatewayEnv: { OAUTH_FAILURE_LIMIT_PER_IP: String(failureLimit), GATEWAY_ANONYMOUS_BURST: "1000000" },
	})
	expect(stack.migrated.code, stack.migrated.output).toBe(0)
	expect(stack.ready, stack.output()).toBe(true)
	gatewayA = stack.gateways[0]?.url ?? ""
	gatewayB = stack.gateways[1]?.url ?? ""
	adminToken = stack.adminToken
}, 180_000)

afterAll(async () => {
	await stopAll()
	await idp?.stop()
	await stack?.database.drop()
}, 60_000)

describe("identity across two gateways", () => {
	it("a 4th sign-in with a cap of 3 evicts the least recently used session, refused at once on the other gateway", async () => {
		const { tenant, clientSecret } = await setUpTenant({
			baseUrl: gatewayA,
			adminToken,
			idp,
			slug: "cap-co",
			settings: '{"maxSessionsPerUser":3}',
			gatewayUrls: [gatewayA, gatewayB],
		})
		secrets.push(clientSecret)
		idp.signInAs({ sub: "cap-user", email: "cap@example.com" })
		const tokens = []
		for (const gateway of [gatewayA, gatewayB, gatewayA]) {
			tokens.push(remember(await signIn(gateway, tenant.slug)))
		}
		expect(await Promise.all(tokens.map((token) => status(gatewayB, tenant.slug, token)))).toEqual([200, 200, 200])
		const fourth = remember(await signIn(gatewayA, tenant.slug))
		expect(await status(gatewayB, tenant.slug, tokens[0] ?? "")).toBe(401)
		expect(
			await Promise.all([...tokens.slice(1), fourth].map((token) => status(gatewayB, tenant.slug, token))),
		).toEqual([200, 200, 200])
	}, 60_000)

	it("a session revoked on gateway A is refused by gateway B on the very next request, every time", async () => {
		const { tenant, clientSecret } = await setUpTenant({
			baseUrl: gatewayA,
			adminToken,
			idp,
			slug: "revoke-co",
			gatewayUrls: [gatewayA, gatewayB],
		})
		secrets.push(clientSecret)
		const outcomes = []
		for (const round of Array.from({ length: 20 }, (_, index) => index)) {
			idp.signInAs({ sub: `revoke-user-${round % 4}` })
			const token = remember(await signIn(round % 2 === 0 ? gatewayA : gatewayB, tenant.slug))
			const [revoker, checker] = round % 2 === 0 ? [gatewayA, gatewayB] : [gatewayB, gatewayA]
			const warm = await status(checker, tenant.slug, token)
			const logout = await authed(revoker, tenant.slug, token, "/auth/session", { method: "DELETE" })
			const after = await status(checker, tenant.slug, token)
			outcomes.push([warm, logout.status, after])
		}
		expect(outcomes).toEqual(Array.from({ length: 20 }, () => [200, 200, 401]))
	}, 120_000)

	it(`20 concurrent sign-ins of one user through both gateways leave exactly 3 sessions (${raceRepetitions} rounds)`, async () => {
		const { tenant, clientSecret } = await setUpTenant({
			baseUrl: gatewayA,
			adminToken,
			idp,
			slug: "race-co",
			settings: '{"maxSessionsPerUser":3}',
			gatewayUrls: [gatewayA, gatewayB],
		})
		secrets.push(clientSecret)
		const violations = []
		for (const round of Array.from({ length: raceRepetitions }, (_, index) => index)) {
			idp.signInAs({ sub: `race-user-${round}` })
			// The provider's half first (each browser holds its own transaction), then the 20 callbacks at once.
			const flows = await Promise.all(
				Array.from({ length: 20 }, async (_, index) => {
					const browser = makeBrowser()
					const gateway = index % 2 === 0 ? gatewayA : gatewayB
					const reached = await reachCallback(browser, gateway, tenant.slug)
					return { browser, gateway, callbackUrl: reached.callbackUrl ?? "" }
				}),
			)
			const results = await Promise.all(
				flows.map(async (flow) => {
					const response = await flow.browser.get(flow.callbackUrl)
					return response.status === 200 ? ((await response.json()) as SignedIn) : null
				}),
			)
			const tokens = results.map((result) => result?.token ?? "")
			secrets.push(...tokens)
			const userId = results.find((result) => result !== null)?.user.id ?? ""
			const active = await query<{ count: string }>(
				"SELECT count(*)::text AS count FROM sessions WHERE app_id = $1 AND user_id = $2 AND status = 'active'",
				[tenant.id, userId],
			)
			const accepted = await Promise.all(
				tokens.map((token, index) => status(index % 2 === 0 ? gatewayB : gatewayA, tenant.slug, token)),
			)
			const signedIn = results.filter((result) => result !== null).length
			const valid = accepted.filter((code) => code === 200).length
			const outcome = { round, signedIn, active: Number(active[0]?.count ?? -1), valid }
			violations.push(...(signedIn === 20 && outcome.active === 3 && valid === 3 ? [] : [outcome]))
		}
		expect(violations).toEqual([])
	}, 900_000)

	it("failed callbacks are counted per client IP across both gateways: 429 with Retry-After at the limit", async () => {
		const { tenant, clientSecret } = await setUpTenant({
			baseUrl: gatewayA,
			adminToken,
			idp,
			slug: "limit-co",
			gatewayUrls: [gatewayA, gatewayB],
		})
		secrets.push(clientSecret)
		const statuses = []
		for (const attempt of Array.from({ length: failureLimit }, (_, index) => index)) {
			const gateway = attempt % 2 === 0 ? gatewayA : gatewayB
			statuses.push((await fetch(`${gateway}/v1/auth/oauth/idp/callback?code=x&state=forged-${attempt}`)).status)
		}
		expect(statuses).toEqual(Array.from({ length: failureLimit }, () => 401))
		const limited = await fetch(`${gatewayB}/v1/auth/oauth/idp/callback?code=x&state=forged-last`)
		expect(limited.status).toBe(429)
		expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0)
		expect(await limited.json()).toMatchObject({ _tag: "TooManyAttempts" })
		// A genuine sign-in from the same IP is refused too while the window lasts.
		idp.signInAs({ sub: "limited-user" })
		expect((await signIn(gatewayA, tenant.slug)).status).toBe(429)
	}, 60_000)

	it("no process printed a session token, an API key or a provider client secret", () => {
		const output = stack?.output() ?? ""
		const leaked = secrets.filter((secret) => secret.length > 0 && output.includes(secret))
		expect(secrets.length).toBeGreaterThan(20)
		expect(leaked).toEqual([])
		expect(output).not.toMatch(/ecps_[A-Za-z0-9_-]{43}/)
		expect(output).not.toMatch(/ecpk_[A-Za-z0-9_-]{43}/)
	})
})
