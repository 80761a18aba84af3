// A client that stops reading while a channel is busy is closed as a slow consumer (4429) once more than
// REALTIME_MAX_BUFFERED bytes wait for it; a client reading normally on the same channel gets everything and stays.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { connectAs } from "../fixtures/RealtimeClient.ts"
import { authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle

// --- [SUITE]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({ REALTIME_MAX_BUFFERED: "65536" })
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("slow consumers", () => {
	it("a client that stops reading is closed with 4429; a reading client gets every message and stays open", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "slow-co",
		})
		idp.signInAs({ sub: "slow-user" })
		const token = (await signIn(platform.baseUrl, tenant.slug)).body?.token ?? ""
		const open = () => connectAs(platform.baseUrl, tenant.slug, token, ["firehose"])
		const [slow, fast] = [await open(), await open()]
		// Stop reading: the kernel buffers fill, then the gateway's own buffer for this socket grows.
		;(slow.socket as unknown as { _socket: { pause: () => void } })._socket.pause()
		const chunk = "x".repeat(30_000)
		const count = 300
		for (const n of Array.from({ length: count }, (_, index) => index + 1)) {
			const response = await authed(platform.baseUrl, tenant.slug, token, "/channels/firehose/broadcast", {
				method: "POST",
				body: `{"payload":{"n":${n},"chunk":"${chunk}"}}`,
			})
			expect(response.status).toBe(202)
		}
		await fast.next((frame) => frame.type === "message" && frame.seq === count, 30_000)
		expect(fast.frames.filter((frame) => frame.type === "message").length).toBe(count)
		;(slow.socket as unknown as { _socket: { resume: () => void } })._socket.resume()
		expect((await slow.closed).code).toBe(4429)
		fast.send({ type: "ping" })
		await fast.next((frame) => frame.type === "pong")
		fast.close()
	}, 90_000)
})
