// Identity and realtime on the in-process cache (what `npm start` uses without REDIS_URL): sign-in, validation,
// sign-out, a socket's subscription and broadcast with seq, presence, and the signed-out session's socket closed.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { connectAs } from "../fixtures/RealtimeClient.ts"
import { authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({ REDIS_URL: "" })
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("identity and realtime without Redis", () => {
	it("signs in, broadcasts with seq and presence over a socket, and signing out closes the socket", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "memory-co",
		})
		idp.signInAs({ sub: "memory-user" })
		const token = (await signIn(platform.baseUrl, tenant.slug)).body?.token ?? ""
		expect((await authed(platform.baseUrl, tenant.slug, token, "/users/me")).status).toBe(200)
		const client = await connectAs(platform.baseUrl, tenant.slug, token, ["room"])
		client.send({ type: "presence", channel: "room", state: { typing: false } })
		await client.next((frame) => frame.type === "presence_diff")
		const presence = (await (
			await authed(platform.baseUrl, tenant.slug, token, "/channels/room/presence")
		).json()) as {
			items: Array<unknown>
		}
		expect(presence.items).toHaveLength(1)
		for (const n of [1, 2]) {
			const response = await authed(platform.baseUrl, tenant.slug, token, "/channels/room/broadcast", {
				method: "POST",
				body: `{"payload":${n}}`,
			})
			expect(response.status).toBe(202)
		}
		await client.next((frame) => frame.type === "message" && frame.seq === 2)
		expect(client.frames.filter((frame) => frame.type === "message").map((frame) => frame.payload)).toEqual([1, 2])
		expect((await authed(platform.baseUrl, tenant.slug, token, "/auth/session", { method: "DELETE" })).status).toBe(
			200,
		)
		await client.next((frame) => frame.type === "session_revoked")
		expect((await client.closed).code).toBe(4403)
		expect((await authed(platform.baseUrl, tenant.slug, token, "/users/me")).status).toBe(401)
	}, 60_000)
})
