// Realtime timeouts in one process (gateway + runner on real Postgres and Redis), on a platform of its own with short
// settings that would disturb the other realtime tests: REALTIME_HEARTBEAT_TIMEOUT 2 s (a silent connection is stale
// and closed with 4408) and REALTIME_PRESENCE_TTL 2 s (presence lives only as long as heartbeats refresh it).
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { connect, type Frame, type RealtimeClient } from "../fixtures/RealtimeClient.ts"
import { authed, setUpTenant, type SignedIn, signIn } from "../fixtures/SignIn.ts"

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle

type PresencePage = {
	readonly items: ReadonlyArray<{ readonly connectionId: string }>
	readonly nextCursor: string | null
}

const heartbeatMillis = 2_000

const signInAs = async (slug: string, sub: string) => {
	idp.signInAs({ sub })
	const done = await signIn(platform.baseUrl, slug)
	expect(done.status, done.text).toBe(200)
	return done.body as SignedIn
}

const openAs = async (slug: string, token: string) => {
	const client = await connect(platform.baseUrl, slug)
	client.send({ type: "auth", token })
	const authenticated = await client.next((frame) => frame.type === "authenticated")
	return { ...client, connectionId: String(authenticated.connectionId) }
}

const subscribe = async (client: RealtimeClient, channel: string) => {
	const from = client.frames.length
	client.send({ type: "subscribe", channel })
	expect(
		await client.next((frame) => frame.type === "subscribed" || frame.type === "error", 5_000, from),
	).toMatchObject({ type: "subscribed", channel })
}

const presenceIds = async (slug: string, token: string, channel: string) => {
	const response = await authed(platform.baseUrl, slug, token, `/channels/${channel}/presence`)
	expect(response.status).toBe(200)
	return ((await response.json()) as PresencePage).items.map((member) => member.connectionId)
}

const leavesOf = (client: RealtimeClient, connectionId: string) =>
	client.frames.filter(
		(frame: Frame) =>
			frame.type === "presence_diff" &&
			(frame.leaves as ReadonlyArray<{ connectionId: string }>).some(
				(member) => member.connectionId === connectionId,
			),
	)

const sleep = (millis: number) => new Promise((resolve) => setTimeout(resolve, millis))

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({
		REALTIME_AUTH_TIMEOUT: "1 second",
		REALTIME_HEARTBEAT_TIMEOUT: `${heartbeatMillis} millis`,
		REALTIME_PRESENCE_TTL: "2 seconds",
	})
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("realtime: stale connections", () => {
	it("a client that stops sending frames is closed 4408 and leaves presence; clients that keep pinging (or publishing) are not closed", async () => {
		const made = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "rt-stale",
		})
		expect(made.putStatus).toBe(200)
		const slug = made.tenant.slug
		const { token } = await signInAs(slug, "rt-stale-user")
		// The silent one last, and first to subscribe: it must not go stale before it has subscribed.
		const pinging = await openAs(slug, token)
		const chatty = await openAs(slug, token)
		const watcher = await openAs(slug, token)
		const silent = await openAs(slug, token)
		const beats = [
			setInterval(() => pinging.send({ type: "ping" }), 400),
			setInterval(() => watcher.send({ type: "ping" }), 400),
			setInterval(() => chatty.send({ type: "publish", channel: "chatter", payload: "still here" }), 400),
		]
		for (const client of [silent, pinging, chatty, watcher]) {
			await subscribe(client, "room")
		}
		silent.send({ type: "presence", channel: "room", state: { who: "silent" } })
		pinging.send({ type: "presence", channel: "room", state: { who: "pinging" } })
		await watcher.until((frames) => frames.filter((frame) => frame.type === "presence_diff").length >= 2)
		expect([...(await presenceIds(slug, token, "room"))].sort()).toEqual(
			[silent.connectionId, pinging.connectionId].sort(),
		)

		// The silent one: closed as stale, and its presence is gone (announced once).
		expect(await silent.closed).toMatchObject({ code: 4408 })
		await watcher.until(() => leavesOf(watcher, silent.connectionId).length > 0)
		expect(leavesOf(watcher, silent.connectionId)).toEqual([
			{
				type: "presence_diff",
				channel: "room",
				joins: [],
				leaves: [{ connectionId: silent.connectionId, userId: expect.any(String), state: { who: "silent" } }],
			},
		])
		expect(await presenceIds(slug, token, "room")).toEqual([pinging.connectionId])

		// Another heartbeat timeout and more (and past the presence TTL): the others are still open and answering,
		// and the pinging member is still present (its pings refresh its presence).
		await sleep(heartbeatMillis + 1_000)
		for (const client of [pinging, chatty, watcher]) {
			expect(client.socket.readyState).toBe(client.socket.OPEN)
			const from = client.frames.length
			client.send({ type: "ping" })
			expect(await client.next((frame) => frame.type === "pong", 5_000, from)).toEqual({ type: "pong" })
		}
		expect(await presenceIds(slug, token, "room")).toEqual([pinging.connectionId])
		expect(leavesOf(watcher, pinging.connectionId)).toEqual([])
		expect(leavesOf(watcher, silent.connectionId)).toHaveLength(1)
		// The silent connection heard nothing it could mistake for an answer: no error frames.
		expect(silent.frames.filter((frame) => frame.type === "error")).toEqual([])
		beats.forEach(clearInterval)

		// A stale connection's credential still works: a new connection is accepted.
		const again = await openAs(slug, token)
		await subscribe(again, "room")
		;[pinging, chatty, watcher, again].forEach((client) => client.close())
	})
})
