// Anonymous abuse (issue 9): the login-failure limiter counts abuse signals only, per client group (IPv4 address or
// IPv6 /64), never locks a tenant; the anonymous OAuth start is rate-limited and writes nothing for a provider the
// tenant does not have; X-App-Id values and bearer tokens are checked for shape before any lookup, and unknown ones are
// remembered briefly. Work done by the platform is counted through the spans it opens (Telemetry.span).
import { Redis } from "ioredis"
import { createServer, type Server } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeBrowser } from "../fixtures/BrowserClient.ts"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { adminCall, reachCallback, setUpTenant, signIn } from "../fixtures/SignIn.ts"

// --- [STATE]

const redisPrefix = `test:abuse:${crypto.randomUUID()}:`
const spans = new Map<string, number>()
let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle
let redis: Redis
// A provider whose discovery works and whose token endpoint is down (503).
let downProvider: Server
let downIssuer = ""

// --- [FUNCTIONS]

const spanCount = (name: string) => spans.get(name) ?? 0

const from = (client: string) => ({ "x-forwarded-for": client })

const forgedCallback = (client: string) =>
	fetch(`${platform.baseUrl}/v1/auth/oauth/idp/callback?code=x&state=forged-${crypto.randomUUID()}`, {
		headers: from(client),
	})

const makeTenant = async (slug: string) => {
	const made = await setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug })
	expect(made.putStatus).toBe(200)
	return made.tenant
}

// --- [SUITE]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	redis = new Redis("redis://127.0.0.1:6379")
	downProvider = createServer((request, response) => {
		const path = request.url ?? "/"
		response.setHeader("content-type", "application/json")
		response.statusCode = path.startsWith("/token") ? 503 : 200
		response.end(
			path.startsWith("/.well-known")
				? `{"issuer":"${downIssuer}","authorization_endpoint":"${downIssuer}/authorize",` +
						`"token_endpoint":"${downIssuer}/token","jwks_uri":"${downIssuer}/jwks"}`
				: path.startsWith("/jwks")
					? `{"keys":[]}`
					: `{"error":"temporarily_unavailable"}`,
		)
	})
	await new Promise<void>((resolve) => downProvider.listen(0, "127.0.0.1", resolve))
	const address = downProvider.address()
	downIssuer = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
	platform = await startPlatform(
		{
			REDIS_KEY_PREFIX: redisPrefix,
			GATEWAY_TRUSTED_PROXIES: "127.0.0.1",
			OAUTH_FAILURE_LIMIT_PER_IP: "3",
			// The old per-tenant lockout, if it were still read, would trip after two failures.
			OAUTH_FAILURE_LIMIT_PER_TENANT: "2",
			OAUTH_FAILURE_ALERT_PER_TENANT: "2",
			GATEWAY_ANONYMOUS_BURST: "250",
			GATEWAY_ANONYMOUS_RATE: "0.01",
		},
		spans,
	)
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
	redis?.disconnect()
	downProvider?.close()
}, 90_000)

describe("login-failure limiter", () => {
	it("cancellations at the provider (error=access_denied) are not counted: the client can still sign in", async () => {
		const tenant = await makeTenant("cancel-co")
		const client = "192.0.2.50"
		const cancelled = []
		for (const _ of [1, 2, 3, 4, 5]) {
			const browser = makeBrowser()
			const reached = await reachCallback(browser, platform.baseUrl, tenant.slug)
			const url = new URL(reached.callbackUrl ?? "")
			url.searchParams.delete("code")
			url.searchParams.set("error", "access_denied")
			cancelled.push((await browser.get(url.toString(), { headers: from(client) })).status)
		}
		expect(cancelled).toEqual([401, 401, 401, 401, 401])
		idp.signInAs({ sub: "patient-user" })
		const browser = makeBrowser()
		const reached = await reachCallback(browser, platform.baseUrl, tenant.slug)
		const done = await browser.get(reached.callbackUrl ?? "", { headers: from(client) })
		expect(done.status, await done.clone().text()).toBe(200)
	}, 60_000)

	it("one abuser with bad codes never locks another client of the same tenant out", async () => {
		const tenant = await makeTenant("abused-co")
		const abuser = "198.51.100.7"
		const statuses = []
		for (const _ of [1, 2, 3]) {
			const browser = makeBrowser()
			const reached = await reachCallback(browser, platform.baseUrl, tenant.slug)
			const url = new URL(reached.callbackUrl ?? "")
			url.searchParams.set("code", "not-a-code")
			statuses.push((await browser.get(url.toString(), { headers: from(abuser) })).status)
		}
		expect(statuses).toEqual([401, 401, 401])
		// The abuser is now blocked…
		const blocked = await forgedCallback(abuser)
		expect(blocked.status).toBe(429)
		expect(await blocked.json()).toMatchObject({ _tag: "TooManyAttempts" })
		// …and a user of the same tenant elsewhere signs in.
		idp.signInAs({ sub: "innocent-user" })
		const innocent = await signIn(platform.baseUrl, tenant.slug)
		expect(innocent.status, innocent.text).toBe(200)
	}, 60_000)

	it("a provider outage at the code exchange (503) is not counted against the client", async () => {
		const created = await adminCall(
			platform.baseUrl,
			platform.adminToken,
			"POST",
			"/tenants",
			`{"slug":"outage-co","name":"O"}`,
		)
		const tenant = (await created.json()) as { id: string }
		const put = await adminCall(
			platform.baseUrl,
			platform.adminToken,
			"PUT",
			`/tenants/${tenant.id}/oauth-providers/down`,
			`{"issuer":"${downIssuer}","clientId":"c","clientSecret":"s"}`,
		)
		expect(put.status).toBe(200)
		const statuses = []
		for (const _ of [1, 2, 3, 4, 5]) {
			const start = await fetch(`${platform.baseUrl}/v1/auth/oauth/down/start?app_id=outage-co`, {
				redirect: "manual",
			})
			expect(start.status).toBe(302)
			const state = new URL(start.headers.get("location") ?? "").searchParams.get("state") ?? ""
			const cookie = (start.headers.get("set-cookie") ?? "").split(";")[0] ?? ""
			const callback = await fetch(
				`${platform.baseUrl}/v1/auth/oauth/down/callback?code=real-code&state=${encodeURIComponent(state)}`,
				{ headers: { ...from("192.0.2.77"), cookie } },
			)
			statuses.push(callback.status)
		}
		expect(statuses).toEqual([401, 401, 401, 401, 401])
	}, 60_000)

	it("two IPv6 addresses in one /64 share a bucket: 429 TooManyAttempts with Retry-After; another /64 is not affected", async () => {
		expect([
			(await forgedCallback("2001:db8:1:2::1")).status,
			(await forgedCallback("2001:db8:1:2::2")).status,
			(await forgedCallback("2001:db8:1:2::1")).status,
		]).toEqual([401, 401, 401])
		const limited = await forgedCallback("2001:db8:1:2:ffff:eeee:dddd:cccc")
		expect(limited.status).toBe(429)
		expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0)
		expect(await limited.json()).toMatchObject({ _tag: "TooManyAttempts" })
		expect((await forgedCallback("2001:db8:1:3::1")).status).toBe(401)
	}, 30_000)
})

describe("anonymous OAuth start", () => {
	it("a provider the tenant does not have → 404 OAuthProviderNotFound and no transaction written", async () => {
		const created = await adminCall(
			platform.baseUrl,
			platform.adminToken,
			"POST",
			"/tenants",
			`{"slug":"noprov-co","name":"N"}`,
		)
		expect(created.status).toBe(201)
		const before = await redis.keys(`${redisPrefix}oauth:tx:*`)
		const statuses = []
		for (const provider of ["nope", "random-1", "random-2"]) {
			const response = await fetch(`${platform.baseUrl}/v1/auth/oauth/${provider}/start?app_id=noprov-co`, {
				redirect: "manual",
				headers: from("203.0.113.40"),
			})
			statuses.push([response.status, ((await response.json()) as { _tag: string })._tag])
		}
		expect(statuses).toEqual(Array.from({ length: 3 }, () => [404, "OAuthProviderNotFound"]))
		expect(await redis.keys(`${redisPrefix}oauth:tx:*`)).toEqual(before)
		// A malformed provider name is refused by shape.
		const malformed = await fetch(`${platform.baseUrl}/v1/auth/oauth/NOT_A_NAME/start?app_id=noprov-co`, {
			redirect: "manual",
		})
		expect(malformed.status).toBe(400)
	}, 30_000)

	it("a burst from one client → 429 TooManyRequests with Retry-After; another client is unaffected", async () => {
		const responses = await Promise.all(
			Array.from({ length: 270 }, () =>
				fetch(`${platform.baseUrl}/v1/auth/oauth/idp/start?app_id=no-such-tenant`, {
					redirect: "manual",
					headers: from("203.0.113.66"),
				}),
			),
		)
		const statuses = responses.map((response) => response.status)
		expect(statuses.filter((status) => status === 429).length).toBeGreaterThanOrEqual(20)
		expect(statuses.filter((status) => status !== 429 && status !== 404)).toEqual([])
		const limited = responses.find((response) => response.status === 429)
		expect(Number(limited?.headers.get("retry-after"))).toBeGreaterThan(0)
		expect(await limited?.json()).toMatchObject({ _tag: "TooManyRequests" })
		const other = await fetch(`${platform.baseUrl}/v1/auth/oauth/idp/start?app_id=no-such-tenant`, {
			redirect: "manual",
			headers: from("203.0.113.67"),
		})
		expect(other.status).toBe(404)
		const openapi = (await (await fetch(`${platform.baseUrl}/openapi.json`)).json()) as {
			paths: Record<string, Record<string, { responses: Record<string, unknown> }>>
		}
		expect(Object.keys(openapi.paths["/v1/auth/oauth/{provider}/start"]?.get?.responses ?? {})).toContain("429")
		expect(Object.keys(openapi.paths["/v1/tenant"]?.get?.responses ?? {})).toContain("429")
	}, 60_000)
})

describe("anonymous work amplification", () => {
	it("200 random X-App-Ids → 404 TenantNotFound, no directory lookup for malformed ones, one for a repeated UUID", async () => {
		const before = spanCount("TenantDirectory.Resolve")
		const garbage = await Promise.all(
			Array.from({ length: 200 }, (_, index) =>
				fetch(`${platform.baseUrl}/v1/tenant`, {
					headers: { ...from("203.0.113.80"), "x-app-id": `NOT a tenant ${index} ${crypto.randomUUID()}` },
				}).then(async (response) => [response.status, ((await response.json()) as { _tag: string })._tag]),
			),
		)
		expect(new Set(garbage.map((pair) => pair.join(" ")))).toEqual(new Set(["404 TenantNotFound"]))
		expect(spanCount("TenantDirectory.Resolve") - before).toBe(0)
		const unknown = crypto.randomUUID()
		const repeated = []
		for (const _ of Array.from({ length: 50 })) {
			repeated.push(
				(
					await fetch(`${platform.baseUrl}/v1/tenant`, {
						headers: { ...from("203.0.113.81"), "x-app-id": unknown },
					})
				).status,
			)
		}
		expect(new Set(repeated)).toEqual(new Set([404]))
		expect(spanCount("TenantDirectory.Resolve") - before).toBe(1)
	}, 60_000)

	it("a tenant created right after a miss for its slug works at once", async () => {
		const miss = await fetch(`${platform.baseUrl}/v1/tenant`, { headers: { "x-app-id": "late-co" } })
		expect(miss.status).toBe(404)
		const created = await adminCall(
			platform.baseUrl,
			platform.adminToken,
			"POST",
			"/tenants",
			`{"slug":"late-co","name":"Late"}`,
		)
		expect(created.status).toBe(201)
		const hit = await fetch(`${platform.baseUrl}/v1/tenant`, { headers: { "x-app-id": "late-co" } })
		expect(hit.status).toBe(200)
	}, 30_000)

	it("random tokens → 401 without credential lookups; an unknown well-formed token is looked up once", async () => {
		const tenant = await makeTenant("token-co")
		const before = spanCount("CredentialDirectory.Resolve")
		const garbage = await Promise.all(
			Array.from({ length: 200 }, (_, index) =>
				fetch(`${platform.baseUrl}/v1/users/me`, {
					headers: {
						...from("203.0.113.90"),
						"x-app-id": tenant.slug,
						authorization: `Bearer ${index % 2 === 0 ? "ecps_" : ""}${crypto.randomUUID()}`,
					},
				}).then((response) => response.status),
			),
		)
		expect(new Set(garbage)).toEqual(new Set([401]))
		expect(spanCount("CredentialDirectory.Resolve") - before).toBe(0)
		const wellFormed = `ecps_${"A".repeat(43)}`
		const repeated = []
		for (const _ of Array.from({ length: 30 })) {
			repeated.push(
				(
					await fetch(`${platform.baseUrl}/v1/users/me`, {
						headers: {
							...from("203.0.113.91"),
							"x-app-id": tenant.slug,
							authorization: `Bearer ${wellFormed}`,
						},
					})
				).status,
			)
		}
		expect(new Set(repeated)).toEqual(new Set([401]))
		expect(spanCount("CredentialDirectory.Resolve") - before).toBe(1)
	}, 60_000)
})
