// Session timeouts from Config, end to end: a session in use stays valid past the idle timeout (each use moves the
// idle deadline, even while a cached copy of the principal still carries the old one); one left unused that long
// is refused; and one in constant use is refused once its absolute lifetime is over.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { sleep, waitFor } from "../fixtures/Processes.ts"
import { authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle
let tenantSlug = ""

// --- [FUNCTIONS]

const status = (token: string) =>
	authed(platform.baseUrl, tenantSlug, token, "/auth/whoami").then((response) => response.status)

// Uses the token every `everyMs` for `forMs`; the statuses seen.
const keepUsing = async (token: string, forMs: number, everyMs: number) => {
	const deadline = Date.now() + forMs
	const seen: Array<number> = []
	while (Date.now() < deadline) {
		seen.push(await status(token))
		await sleep(everyMs)
	}
	return seen
}

// --- [SUITE]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({
		SESSION_IDLE_TIMEOUT: "2 seconds",
		SESSION_LIFETIME: "8 seconds",
		SESSION_TOUCH_INTERVAL: "200 millis",
	})
	const { tenant } = await setUpTenant({
		baseUrl: platform.baseUrl,
		adminToken: platform.adminToken,
		idp,
		slug: "timeouts",
	})
	tenantSlug = tenant.slug
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("session timeouts", () => {
	it("a session in use outlives the idle timeout; left unused that long, it is refused", async () => {
		idp.signInAs({ sub: "idle-user" })
		const token = (await signIn(platform.baseUrl, tenantSlug)).body?.token ?? ""
		const inUse = await keepUsing(token, 4_000, 300)
		expect(new Set(inUse)).toEqual(new Set([200]))
		await sleep(3_000)
		expect(await status(token)).toBe(401)
	}, 30_000)

	it("a session in constant use is refused once its absolute lifetime is over", async () => {
		idp.signInAs({ sub: "lifetime-user" })
		const token = (await signIn(platform.baseUrl, tenantSlug)).body?.token ?? ""
		const started = Date.now()
		expect(await waitFor(async () => (await status(token)) === 401, 15_000, 300)).toBe(true)
		// Refused no earlier than the lifetime allows (the idle timeout never struck: it was used every 300 ms).
		expect(Date.now() - started).toBeGreaterThanOrEqual(7_000)
	}, 30_000)
})
