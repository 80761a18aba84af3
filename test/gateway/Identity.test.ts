import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({ OAUTH_FAILURE_LIMIT_PER_IP: "1000" })
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("OAuth sign-in and sessions", () => {
	it("signs a user in through the provider, serves /v1/users/me, and a signed-out token is dead", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "happy-co",
		})
		idp.signInAs({ sub: "alice-1", email: "alice@example.com", name: "Alice" })
		const signedIn = await signIn(platform.baseUrl, tenant.slug)
		expect(signedIn.status, signedIn.text).toBe(200)
		const token = signedIn.body?.token ?? ""
		expect(token).toMatch(/^ecps_[A-Za-z0-9_-]{43}$/)
		const me = await authed(platform.baseUrl, tenant.slug, token, "/users/me")
		expect(me.status).toBe(200)
		expect(await me.json()).toMatchObject({ email: "alice@example.com", displayName: "Alice", status: "active" })
		const logout = await authed(platform.baseUrl, tenant.slug, token, "/auth/session", { method: "DELETE" })
		expect(logout.status).toBe(200)
		const after = await authed(platform.baseUrl, tenant.slug, token, "/users/me")
		expect(after.status).toBe(401)
		expect(await after.json()).toMatchObject({ _tag: "Unauthorized" })
	}, 60_000)
})
