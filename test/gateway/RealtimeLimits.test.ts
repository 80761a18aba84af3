// Realtime bounds (issue 9) in one process (gateway + runner on real Postgres and Redis), with small limits: a frame
// over REALTIME_MAX_FRAME is refused from its header (1009) before its payload is read; an unauthenticated socket
// touches no runner and is closed 4401; and the per-connection, per-user and per-address limits (subscriptions,
// frames waiting, presence state size, connections).
import { ClusterMetrics } from "@effect/cluster"
import { Effect, Metric } from "effect"
import { randomBytes } from "node:crypto"
import { connect as tcpConnect } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { addressGroup } from "../../gateway/realtime/RealtimeSocket.ts"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { sleep, waitFor } from "../fixtures/Processes.ts"
import { connect, type RealtimeClient } from "../fixtures/RealtimeClient.ts"
import { setUpTenant, type SignedIn, signIn } from "../fixtures/SignIn.ts"

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle
let slug = ""

const limits = { subscriptions: 3, perUser: 2, perIp: 10, queued: 4, presence: 64 }

const signInAs = async (sub: string) => {
	idp.signInAs({ sub })
	const done = await signIn(platform.baseUrl, slug)
	expect(done.status, done.text).toBe(200)
	return done.body as SignedIn
}

const openAs = async (token: string) => {
	const client = await connect(platform.baseUrl, slug)
	client.send({ type: "auth", token })
	await client.next((frame) => frame.type === "authenticated" || frame.type === "error")
	return client
}

// Sends `frame` and waits for the first answer after it.
const ask = async (client: RealtimeClient, frame: Record<string, unknown>, type: string) => {
	const from = client.frames.length
	client.send(frame)
	return client.next((found) => found.type === type || found.type === "error", 5_000, from)
}

const closeAll = async (clients: ReadonlyArray<RealtimeClient>) => {
	clients.forEach((client) => client.close())
	await Promise.all(clients.map((client) => client.closed))
}

// The cluster samples its entity gauge every second: wait for a fresh sample.
const socketEntities = () =>
	sleep(1_200)
		.then(() => Effect.runPromise(Metric.value(ClusterMetrics.entities.pipe(Metric.tagged("type", "Socket")))))
		.then((state) => Number(state.value))

// A raw WebSocket handshake, then the header of a 2 MiB text frame and 64 KiB of its payload; the rest is never
// sent. Resolves with the code of the server's close frame.
const oversizedFrame = (port: number) =>
	new Promise<number>((resolve, reject) => {
		const socket = tcpConnect(port, "127.0.0.1")
		const received: Array<Buffer> = []
		const state = { upgraded: false }
		socket.on("error", () => undefined)
		socket.on("close", () => reject(new Error("closed without a close frame")))
		const sendOversized = () => {
			const header = Buffer.alloc(14)
			header[0] = 0x81
			header[1] = 0x80 | 127
			header.writeBigUInt64BE(BigInt(2 * 1024 * 1024), 2)
			socket.write(Buffer.concat([header, Buffer.alloc(64 * 1024, 0x61)]))
		}
		socket.on("data", (chunk: Buffer) => {
			received.push(chunk)
			const all = Buffer.concat(received)
			const headerEnd = all.indexOf("\r\n\r\n")
			const answer = !state.upgraded && headerEnd >= 0 ? all.subarray(0, headerEnd).toString() : null
			answer === null
				? undefined
				: (received.splice(0, received.length, all.subarray(headerEnd + 4)),
					(state.upgraded = true),
					answer.startsWith("HTTP/1.1 101") ? sendOversized() : reject(new Error(answer)))
			const frames = Buffer.concat(received)
			state.upgraded && frames.length >= 4 && frames[0] === 0x88
				? (resolve(frames.readUInt16BE(2)), socket.destroy())
				: undefined
		})
		socket.write(
			[
				`GET /v1/realtime?app_id=${slug} HTTP/1.1`,
				`Host: 127.0.0.1:${port}`,
				"Upgrade: websocket",
				"Connection: Upgrade",
				`Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}`,
				"Sec-WebSocket-Version: 13",
				"",
				"",
			].join("\r\n"),
		)
	})

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({
		REALTIME_AUTH_TIMEOUT: "1500 millis",
		REALTIME_MAX_SUBSCRIPTIONS: String(limits.subscriptions),
		REALTIME_MAX_CONNECTIONS_PER_USER: String(limits.perUser),
		REALTIME_MAX_CONNECTIONS_PER_IP: String(limits.perIp),
		REALTIME_MAX_QUEUED_FRAMES: String(limits.queued),
		REALTIME_MAX_PRESENCE_STATE: String(limits.presence),
	})
	expect(platform.ready).toBe(true)
	const made = await setUpTenant({
		baseUrl: platform.baseUrl,
		adminToken: platform.adminToken,
		idp,
		slug: "rt-limits",
	})
	expect(made.putStatus).toBe(200)
	slug = made.tenant.slug
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("realtime limits", () => {
	it("an unauthenticated client's 2 MiB frame is refused from its header (1009), and the gateway still answers", async () => {
		// The payload is never completed: only a check on the frame's declared length can close the socket now (an
		// answer after the whole frame would never come; the auth timeout would close it 4401 instead).
		expect(await oversizedFrame(Number(new URL(platform.baseUrl).port))).toBe(1009)
		const { token } = await signInAs("frame-user")
		const client = await openAs(token)
		expect(await ask(client, { type: "ping" }, "pong")).toEqual({ type: "pong" })
		await closeAll([client])
	})

	it("sockets that never authenticate create no Socket entity and are closed 4401 after the auth timeout", async () => {
		const before = await socketEntities()
		const silent = await Promise.all(Array.from({ length: 5 }, () => connect(platform.baseUrl, slug)))
		silent[0]?.send({ type: "ping" })
		silent[1]?.send({ type: "subscribe", channel: "room" })
		const closes = await Promise.all(silent.map((client) => client.closed))
		expect(closes.map((close) => close.code)).toEqual([4401, 4401, 4401, 4401, 4401])
		expect(await socketEntities()).toBe(before)
		// An authenticated one does get its entity.
		const { token } = await signInAs("entity-user")
		const client = await openAs(token)
		expect(client.frames.at(-1)).toMatchObject({ type: "authenticated" })
		expect(await socketEntities()).toBe(before + 1)
		await closeAll([client])
	})

	it("a connection follows at most REALTIME_MAX_SUBSCRIPTIONS channels (TooManySubscriptions)", async () => {
		const { token } = await signInAs("subs-user")
		const client = await openAs(token)
		for (const channel of ["a", "b", "c"]) {
			expect(await ask(client, { type: "subscribe", channel }, "subscribed")).toMatchObject({
				type: "subscribed",
			})
		}
		expect(await ask(client, { type: "subscribe", channel: "d" }, "subscribed")).toMatchObject({
			type: "error",
			_tag: "TooManySubscriptions",
		})
		// Following one it already follows is not one more; after leaving one, another fits.
		expect(await ask(client, { type: "subscribe", channel: "a" }, "subscribed")).toMatchObject({
			type: "subscribed",
		})
		expect(await ask(client, { type: "unsubscribe", channel: "b" }, "unsubscribed")).toMatchObject({
			type: "unsubscribed",
		})
		expect(await ask(client, { type: "subscribe", channel: "d" }, "subscribed")).toMatchObject({
			type: "subscribed",
		})
		await closeAll([client])
	})

	it("a presence state over REALTIME_MAX_PRESENCE_STATE bytes is refused (PresenceStateTooLarge)", async () => {
		const { token } = await signInAs("presence-user")
		const client = await openAs(token)
		await ask(client, { type: "subscribe", channel: "lobby" }, "subscribed")
		expect(
			await ask(client, { type: "presence", channel: "lobby", state: { bio: "x".repeat(100) } }, "presence_diff"),
		).toMatchObject({ type: "error", _tag: "PresenceStateTooLarge" })
		expect(
			await ask(client, { type: "presence", channel: "lobby", state: { bio: "short" } }, "presence_diff"),
		).toMatchObject({ type: "presence_diff", joins: [{ state: { bio: "short" } }] })
		await closeAll([client])
	})

	it("a client with more than REALTIME_MAX_QUEUED_FRAMES frames waiting is closed 4429", async () => {
		const { token } = await signInAs("flood-user")
		const client = await openAs(token)
		Array.from({ length: 300 }).forEach(() => client.send({ type: "ping" }))
		expect(await client.closed).toMatchObject({ code: 4429 })
		expect(client.frames.filter((frame) => frame.type === "pong").length).toBeLessThan(300)
	})

	it("a user has at most REALTIME_MAX_CONNECTIONS_PER_USER connections (TooManyConnections, 4429)", async () => {
		const { token } = await signInAs("many-user")
		const first = await openAs(token)
		const second = await openAs(token)
		const third = await openAs(token)
		expect(third.frames.at(-1)).toMatchObject({ type: "error", _tag: "TooManyConnections" })
		expect(await third.closed).toMatchObject({ code: 4429 })
		// Another user is not affected.
		const other = await openAs((await signInAs("other-user")).token)
		expect(other.frames.at(-1)).toMatchObject({ type: "authenticated" })
		// Once one closes, there is room again.
		await closeAll([first])
		expect(
			await waitFor(
				async () => {
					const again = await openAs(token)
					again.close()
					return again.frames.at(-1)?.type === "authenticated"
				},
				5_000,
				200,
			),
		).toBe(true)
		await closeAll([second, other])
	})

	it("a client address has at most REALTIME_MAX_CONNECTIONS_PER_IP connections (429 TooManyRequests)", async () => {
		// Earlier tests' sockets are released once their gateway side has finished: try until a whole batch fits.
		const open: Array<RealtimeClient> = []
		expect(
			await waitFor(
				async () => {
					const batch = await Promise.all(
						Array.from({ length: limits.perIp }, () => connect(platform.baseUrl, slug).catch(() => null)),
					)
					const opened = batch.filter((client): client is RealtimeClient => client !== null)
					opened.length === limits.perIp ? open.push(...opened) : await closeAll(opened)
					return opened.length === limits.perIp
				},
				10_000,
				100,
			),
		).toBe(true)
		await expect(connect(platform.baseUrl, slug)).rejects.toThrow(/429/)
		await closeAll(open.slice(0, 1))
		expect(
			await waitFor(
				async () => {
					const client = await connect(platform.baseUrl, slug).catch(() => null)
					client === null ? undefined : open.push(client)
					return client !== null
				},
				5_000,
				100,
			),
		).toBe(true)
		await closeAll(open.slice(1))
	})
})

describe("client address groups", () => {
	it("an IPv4 address is its own group; IPv6 addresses group by /64, however they are written", () => {
		expect(addressGroup("203.0.113.7")).toBe("203.0.113.7")
		expect(addressGroup("2001:db8:1:2:aaaa::1")).toBe("2001:db8:1:2::/64")
		expect(addressGroup("2001:0DB8:0001:0002:ffff:0:0:9")).toBe("2001:db8:1:2::/64")
		expect(addressGroup("2001:db8::1")).toBe("2001:db8:0:0::/64")
		expect(addressGroup("::1")).toBe("0:0:0:0::/64")
		expect(addressGroup("fe80::1%eth0")).toBe("fe80:0:0:0::/64")
		expect(addressGroup("2001:db8:1:3::1")).not.toBe(addressGroup("2001:db8:1:2::1"))
	})
})
