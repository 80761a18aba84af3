// Realtime `ref`, `published` and `self` (issue 10 item 8), in one process (gateway + runner on real Postgres and
// Redis): a client frame's `ref` comes back on the answer to it (acknowledgement, pong or error); a publish is
// acknowledged with its `seq`; the publisher gets its own message only on a subscription with `self: true`, while
// other connections (of the same user too) and HTTP broadcasts are unaffected.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { connect, type Frame, type RealtimeClient, stringify } from "../fixtures/RealtimeClient.ts"
import { authed, setUpTenant, type SignedIn, signIn } from "../fixtures/SignIn.ts"

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle

const makeTenant = async (slug: string) => {
	const made = await setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug })
	expect(made.putStatus).toBe(200)
	return made.tenant
}

const signInAs = async (slug: string, sub: string) => {
	idp.signInAs({ sub })
	const done = await signIn(platform.baseUrl, slug)
	expect(done.status, done.text).toBe(200)
	return done.body as SignedIn
}

const openAs = async (slug: string, token: string) => {
	const client = await connect(platform.baseUrl, slug)
	client.send({ type: "auth", token })
	await client.next((frame) => frame.type === "authenticated")
	return client
}

const broadcast = (slug: string, credential: string, channel: string, payload: unknown) =>
	authed(platform.baseUrl, slug, credential, `/channels/${channel}/broadcast`, {
		method: "POST",
		body: stringify({ payload }),
	})

const delivered = (frame: Frame) => frame.type === "message" || frame.type === "presence_diff"

// Sends `frame`, then a ping, and returns what was answered in between (deliveries left out): frames are handled one
// at a time in arrival order, so the pong comes after every answer to `frame`.
const exchange = async (client: RealtimeClient, frame: Record<string, unknown> | string) => {
	const from = client.frames.length
	client.send(frame)
	client.send({ type: "ping", ref: "sync" })
	const pong = await client.next((found) => found.type === "pong" && found.ref === "sync", 5_000, from)
	return client.frames.slice(from, client.frames.indexOf(pong, from)).filter((found) => !delivered(found))
}

const messagesOf = (client: RealtimeClient, channel: string) =>
	client.frames.filter((frame) => frame.type === "message" && frame.channel === channel)

const waitForSeq = (client: RealtimeClient, channel: string, seq: number) =>
	client.next((frame) => frame.type === "message" && frame.channel === channel && frame.seq === seq)

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform()
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("realtime: ref", () => {
	let slug = ""
	let token = ""

	beforeAll(async () => {
		slug = (await makeTenant("rt-ref")).slug
		token = (await signInAs(slug, "rt-ref-user")).token
	})

	it("every answer carries the ref of the frame it answers: authenticated, subscribed, published, unsubscribed, pong, and errors (before auth, bad channel, bad fields, refused channel, presence unsubscribed)", async () => {
		const client = await connect(platform.baseUrl, slug)
		expect(await exchange(client, { type: "subscribe", channel: "news", ref: "early" })).toEqual([
			{ type: "error", _tag: "NotAuthenticated", message: expect.any(String), ref: "early" },
		])
		expect(await exchange(client, { type: "auth", token, ref: "a-1" })).toEqual([
			{ type: "authenticated", connectionId: expect.any(String), userId: expect.any(String), ref: "a-1" },
		])
		const userId = String(client.frames.find((frame) => frame.type === "authenticated")?.userId)
		expect(await exchange(client, { type: "subscribe", channel: "news", ref: "s-1" })).toEqual([
			{ type: "subscribed", channel: "news", seq: 0, ref: "s-1" },
		])
		expect(await exchange(client, { type: "publish", channel: "news", payload: 1, ref: "p-1" })).toEqual([
			{ type: "published", channel: "news", seq: 1, ref: "p-1" },
		])
		expect(await exchange(client, { type: "unsubscribe", channel: "news", ref: "u-1" })).toEqual([
			{ type: "unsubscribed", channel: "news", ref: "u-1" },
		])
		const from = client.frames.length
		client.send({ type: "ping", ref: "ping 1" })
		expect(await client.next((frame) => frame.type === "pong", 5_000, from)).toEqual({
			type: "pong",
			ref: "ping 1",
		})
		const errors: ReadonlyArray<readonly [Record<string, unknown>, string]> = [
			[{ type: "subscribe", channel: "a*b", ref: "e-1" }, "InvalidChannel"],
			[{ type: "subscribe", channel: 42, ref: "e-2" }, "InvalidFrame"],
			[{ type: "shout", ref: "e-3" }, "InvalidFrame"],
			[{ type: "publish", channel: "news", ref: "e-4" }, "InvalidFrame"],
			[{ type: "publish", channel: "user:someone-else", payload: 1, ref: "e-5" }, "ChannelNotAllowed"],
			[{ type: "presence", channel: "news", state: 1, ref: "e-6" }, "NotSubscribed"],
			[{ type: "auth", token, ref: "e-7" }, "AlreadyAuthenticated"],
		]
		for (const [frame, tag] of errors) {
			expect(await exchange(client, frame), tag).toEqual([
				{ type: "error", _tag: tag, message: expect.any(String), ref: frame.ref },
			])
		}
		// Without a ref, answers have none.
		expect(await exchange(client, { type: "publish", channel: `user:${userId}`, payload: 2 })).toEqual([
			{ type: "published", channel: `user:${userId}`, seq: 1 },
		])
		expect(await exchange(client, { type: "subscribe", channel: "a*b" })).toEqual([
			{ type: "error", _tag: "InvalidChannel", message: expect.any(String) },
		])
		client.close()
	})

	it("a ref that is not 1–64 printable ASCII characters → error InvalidFrame (without it), and the frame is not acted on; 64 characters and a space are fine", async () => {
		const client = await openAs(slug, token)
		const bad: ReadonlyArray<unknown> = [
			"",
			"x".repeat(65),
			42,
			null,
			true,
			{ id: 1 },
			"line\nbreak",
			"tab\there",
			"é",
		]
		for (const ref of bad) {
			expect(await exchange(client, { type: "subscribe", channel: "refs", ref }), stringify(ref)).toEqual([
				{ type: "error", _tag: "InvalidFrame", message: expect.stringContaining("ref") },
			])
		}
		// None of those subscribed: a broadcast now is not delivered; after a valid subscribe the next one is.
		expect(await (await broadcast(slug, token, "refs", "before")).json()).toEqual({ channel: "refs", seq: 1 })
		const longest = "r".repeat(64)
		expect(await exchange(client, { type: "subscribe", channel: "refs", ref: longest })).toEqual([
			{ type: "subscribed", channel: "refs", seq: 1, ref: longest },
		])
		expect(await exchange(client, { type: "unsubscribe", channel: "refs", ref: "with space ~!" })).toEqual([
			{ type: "unsubscribed", channel: "refs", ref: "with space ~!" },
		])
		expect(messagesOf(client, "refs")).toEqual([])
		client.close()
	})
})

describe("realtime: published and self", () => {
	it("by default the publisher gets `published` with the seq, not its own message; another connection of the same user and HTTP broadcasts still reach everyone", async () => {
		const slug = (await makeTenant("rt-self-off")).slug
		const { token } = await signInAs(slug, "rt-self-off-user")
		const publisher = await openAs(slug, token)
		const sibling = await openAs(slug, token)
		expect(await exchange(publisher, { type: "subscribe", channel: "room" })).toMatchObject([
			{ type: "subscribed", seq: 0 },
		])
		expect(await exchange(sibling, { type: "subscribe", channel: "room" })).toMatchObject([
			{ type: "subscribed", seq: 0 },
		])
		expect(await exchange(publisher, { type: "publish", channel: "room", payload: "mine", ref: "m" })).toEqual([
			{ type: "published", channel: "room", seq: 1, ref: "m" },
		])
		expect(await waitForSeq(sibling, "room", 1)).toMatchObject({ payload: "mine" })
		// An HTTP broadcast with the publisher's own credential reaches it; messages arrive in seq order, so once
		// seq 2 is there, seq 1 would have been too.
		expect(await (await broadcast(slug, token, "room", "over http")).json()).toEqual({ channel: "room", seq: 2 })
		await waitForSeq(publisher, "room", 2)
		await waitForSeq(sibling, "room", 2)
		expect(messagesOf(publisher, "room").map((frame) => [frame.seq, frame.payload])).toEqual([[2, "over http"]])
		expect(messagesOf(sibling, "room").map((frame) => [frame.seq, frame.payload])).toEqual([
			[1, "mine"],
			[2, "over http"],
		])
		;[publisher, sibling].forEach((client) => client.close())
	})

	it("subscribe with `self: true` delivers the connection's own publishes on that channel (after `published`), not on its other channels; subscribing again with `self: false` turns it off", async () => {
		const slug = (await makeTenant("rt-self-on")).slug
		const { token } = await signInAs(slug, "rt-self-on-user")
		const publisher = await openAs(slug, token)
		const listener = await openAs(slug, token)
		expect(await exchange(publisher, { type: "subscribe", channel: "echo", self: true })).toEqual([
			{ type: "subscribed", channel: "echo", seq: 0 },
		])
		expect(await exchange(publisher, { type: "subscribe", channel: "quiet" })).toMatchObject([
			{ type: "subscribed" },
		])
		expect(await exchange(listener, { type: "subscribe", channel: "echo" })).toMatchObject([{ type: "subscribed" }])
		expect(await exchange(listener, { type: "subscribe", channel: "quiet" })).toMatchObject([
			{ type: "subscribed" },
		])
		expect(await exchange(publisher, { type: "subscribe", channel: "bad-self", self: "yes" })).toMatchObject([
			{ type: "error", _tag: "InvalidFrame" },
		])

		publisher.send({ type: "publish", channel: "echo", payload: "e1", ref: "e1" })
		publisher.send({ type: "publish", channel: "quiet", payload: "q1", ref: "q1" })
		const own = await waitForSeq(publisher, "echo", 1)
		expect(own).toMatchObject({ payload: "e1", from: { type: "user" } })
		const acked = publisher.frames.findIndex((frame) => frame.type === "published" && frame.ref === "e1")
		expect(acked).toBeGreaterThanOrEqual(0)
		expect(acked).toBeLessThan(publisher.frames.indexOf(own))
		await waitForSeq(listener, "quiet", 1)
		expect(await (await broadcast(slug, token, "quiet", "q2")).json()).toEqual({ channel: "quiet", seq: 2 })
		await waitForSeq(publisher, "quiet", 2)
		expect(messagesOf(publisher, "quiet").map((frame) => frame.payload)).toEqual(["q2"])

		// Subscribing again changes the option (and keeps the subscription).
		expect(await exchange(publisher, { type: "subscribe", channel: "echo", self: false })).toEqual([
			{ type: "subscribed", channel: "echo", seq: 1 },
		])
		expect(await exchange(publisher, { type: "publish", channel: "echo", payload: "e2" })).toEqual([
			{ type: "published", channel: "echo", seq: 2 },
		])
		expect(await (await broadcast(slug, token, "echo", "e3")).json()).toEqual({ channel: "echo", seq: 3 })
		await waitForSeq(publisher, "echo", 3)
		await waitForSeq(listener, "echo", 3)
		expect(messagesOf(publisher, "echo").map((frame) => frame.payload)).toEqual(["e1", "e3"])
		expect(messagesOf(listener, "echo").map((frame) => frame.payload)).toEqual(["e1", "e2", "e3"])
		;[publisher, listener].forEach((client) => client.close())
	})
})
