import { Option } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { clientAddress } from "../../gateway/ClientAddress.ts"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"

let platform: Awaited<ReturnType<typeof startPlatform>>

beforeAll(async () => {
	platform = await startPlatform({ GATEWAY_TRUSTED_PROXIES: "127.0.0.1", OAUTH_FAILURE_LIMIT_PER_IP: "2" })
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
}, 90_000)

describe("client address", () => {
	it("believes X-Forwarded-For only from a trusted proxy, taking the nearest untrusted hop", () => {
		const peer = Option.some("::ffff:10.0.0.5")
		expect(clientAddress(peer, "203.0.113.7", [])).toEqual(Option.some("10.0.0.5"))
		expect(clientAddress(peer, "203.0.113.7", ["10.0.0.5"])).toEqual(Option.some("203.0.113.7"))
		// A client can prepend anything; the hop the trusted proxies saw is the right-most untrusted one.
		expect(clientAddress(peer, "6.6.6.6, 203.0.113.7, 10.0.0.4", ["10.0.0.5", "10.0.0.4"])).toEqual(
			Option.some("203.0.113.7"),
		)
		expect(clientAddress(peer, undefined, ["10.0.0.5"])).toEqual(Option.some("10.0.0.5"))
		expect(clientAddress(Option.none(), "203.0.113.7", ["10.0.0.5"])).toEqual(Option.none())
	})

	it("behind a trusted proxy, login failures are counted per forwarded client, not per proxy", async () => {
		const callback = (client: string) =>
			fetch(`${platform.baseUrl}/v1/auth/oauth/idp/callback?code=x&state=forged`, {
				headers: { "x-forwarded-for": client },
			}).then((response) => response.status)
		expect([await callback("198.51.100.1"), await callback("198.51.100.1")]).toEqual([401, 401])
		expect(await callback("198.51.100.1")).toBe(429)
		expect(await callback("198.51.100.2")).toBe(401)
	}, 30_000)
})
