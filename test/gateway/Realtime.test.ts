import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { connect } from "../fixtures/RealtimeClient.ts"
import { authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({ REALTIME_AUTH_TIMEOUT: "1 second", REALTIME_HEARTBEAT_TIMEOUT: "2 seconds" })
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("realtime", () => {
	it("authenticates, subscribes and receives a broadcast made over HTTP with consecutive seq", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "rt-co",
		})
		idp.signInAs({ sub: "rt-user" })
		const token = (await signIn(platform.baseUrl, tenant.slug)).body?.token ?? ""
		const client = await connect(platform.baseUrl, tenant.slug)
		client.send({ type: "auth", token })
		await client.next((frame) => frame.type === "authenticated")
		client.send({ type: "subscribe", channel: "news" })
		const subscribed = await client.next((frame) => frame.type === "subscribed")
		expect(subscribed).toMatchObject({ channel: "news", seq: 0 })
		for (const n of [1, 2, 3]) {
			const response = await authed(platform.baseUrl, tenant.slug, token, "/channels/news/broadcast", {
				method: "POST",
				body: `{"payload":{"n":${n}}}`,
			})
			expect(response.status).toBe(202)
		}
		await client.next((frame) => frame.type === "message" && frame.seq === 3)
		expect(client.frames.filter((frame) => frame.type === "message")).toEqual([
			{ type: "message", channel: "news", payload: { n: 1 }, seq: 1 },
			{ type: "message", channel: "news", payload: { n: 2 }, seq: 2 },
			{ type: "message", channel: "news", payload: { n: 3 }, seq: 3 },
		])
		client.send({ type: "ping" })
		await client.next((frame) => frame.type === "pong")
		client.send("not json")
		expect(await client.next((frame) => frame.type === "error")).toMatchObject({ _tag: "InvalidFrame" })
		client.close()
	}, 60_000)
})
