// Identity while Redis is gone: a private redis-server under an in-process platform is killed and restarted. Session
// validation falls back to the entity (never to "allow"), a session revoked during the outage is refused at once and
// stays refused after Redis returns, and OAuth callbacks fail closed (503) because the login-failure counters cannot
// be read.
import { type ChildProcess, spawn } from "node:child_process"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { freePort, waitFor } from "../fixtures/Processes.ts"
import { authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"

// --- [STATE]

let redisPort = 0
let redis: ChildProcess | undefined
let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle

// --- [FUNCTIONS]

const startRedis = () =>
	spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
		stdio: "ignore",
	})

const killRedis = () =>
	new Promise<void>((resolve) => {
		redis?.once("exit", () => resolve())
		redis?.kill("SIGKILL")
	})

const whoami = (tenant: string, token: string) =>
	authed(platform.baseUrl, tenant, token, "/auth/whoami").then((response) => response.status)

// --- [SUITE]

beforeAll(async () => {
	redisPort = await freePort()
	redis = startRedis()
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({ REDIS_URL: `redis://127.0.0.1:${redisPort}` })
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
	await killRedis()
}, 90_000)

describe("identity during a Redis outage", () => {
	it("validates through the entity, refuses a session revoked meanwhile, and fails sign-in closed", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "outage-co",
		})
		idp.signInAs({ sub: "outage-user" })
		const first = (await signIn(platform.baseUrl, tenant.slug)).body?.token ?? ""
		const second = (await signIn(platform.baseUrl, tenant.slug)).body?.token ?? ""
		expect([await whoami(tenant.slug, first), await whoami(tenant.slug, second)]).toEqual([200, 200])

		await killRedis()
		// Both credentials still answer: each request is checked with the entity instead of the caches.
		expect(await waitFor(async () => (await whoami(tenant.slug, first)) === 200, 10_000)).toBe(true)
		const logout = await authed(platform.baseUrl, tenant.slug, first, "/auth/session", { method: "DELETE" })
		expect(logout.status).toBe(200)
		expect(await whoami(tenant.slug, first)).toBe(401)
		expect(await whoami(tenant.slug, second)).toBe(200)

		const callback = await fetch(`${platform.baseUrl}/v1/auth/oauth/idp/callback?code=x&state=y`)
		expect(callback.status).toBe(503)
		expect(callback.headers.get("retry-after")).not.toBeNull()
		expect(await callback.json()).toMatchObject({ _tag: "ServiceUnavailable" })
		const startFlow = await fetch(`${platform.baseUrl}/v1/auth/oauth/idp/start?app_id=${tenant.slug}`, {
			redirect: "manual",
		})
		expect(startFlow.status).toBe(503)

		redis = startRedis()
		expect(await waitFor(async () => (await signIn(platform.baseUrl, tenant.slug)).status === 200, 30_000)).toBe(
			true,
		)
		expect(await whoami(tenant.slug, first)).toBe(401)
		expect(await whoami(tenant.slug, second)).toBe(200)
	}, 120_000)
})
