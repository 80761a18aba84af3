// Realtime across real processes: one runner and two gateways. A publish on one gateway reaches subscribers on both
// (not the publisher itself, which is acknowledged with `published`), in order, with consecutive `seq`; a subscriber of another tenant with the same channel name gets nothing; a
// session revoked over HTTP on gateway A closes its socket on gateway B; and when a gateway dies with `kill -9`, its
// sockets leave presence within the presence TTL.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { stop, stopAll, waitFor } from "../fixtures/Processes.ts"
import { connectAs, type RealtimeClient } from "../fixtures/RealtimeClient.ts"
import { authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"
import { startStack } from "../fixtures/Stack.ts"

// --- [CONSTANTS]

const presenceTtlMs = 3_000

// --- [STATE]

let stack: Awaited<ReturnType<typeof startStack>> | undefined
let idp: OidcProviderHandle
let gatewayA = ""
let gatewayB = ""

// --- [FUNCTIONS]

const signedInClient = async (gateway: string, tenant: string, sub: string) => {
	idp.signInAs({ sub })
	const token = (await signIn(gateway, tenant)).body?.token ?? ""
	return { client: await connectAs(gateway, tenant, token), token }
}

const subscribe = async (client: RealtimeClient, channel: string) => {
	client.send({ type: "subscribe", channel })
	return client.next((frame) => frame.type === "subscribed" && frame.channel === channel)
}

const messages = (client: RealtimeClient) => client.frames.filter((frame) => frame.type === "message")

// --- [SUITE]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	stack = await startStack({
		name: "realtime",
		gateways: 2,
		gatewayEnv: { REALTIME_PRESENCE_TTL: `${presenceTtlMs} millis` },
	})
	expect(stack.ready, stack.output()).toBe(true)
	gatewayA = stack.gateways[0]?.url ?? ""
	gatewayB = stack.gateways[1]?.url ?? ""
}, 180_000)

afterAll(async () => {
	await stopAll()
	await idp?.stop()
	await stack?.database.drop()
}, 60_000)

describe("realtime across two gateways", () => {
	it("a publish on one gateway reaches the other subscribers on both in order with consecutive seq (the publisher gets `published` acks), and never another tenant", async () => {
		const urls = [gatewayA, gatewayB]
		const { tenant } = await setUpTenant({
			baseUrl: gatewayA,
			adminToken: stack?.adminToken ?? "",
			idp,
			slug: "rt-a",
			gatewayUrls: urls,
		})
		const { tenant: other } = await setUpTenant({
			baseUrl: gatewayA,
			adminToken: stack?.adminToken ?? "",
			idp,
			slug: "rt-b",
			gatewayUrls: urls,
		})
		const onA = await signedInClient(gatewayA, tenant.slug, "alice")
		const nearA = await signedInClient(gatewayA, tenant.slug, "erin")
		const onB = await signedInClient(gatewayB, tenant.slug, "bob")
		const stranger = await signedInClient(gatewayB, other.slug, "mallory")
		await Promise.all([
			subscribe(onA.client, "room"),
			subscribe(nearA.client, "room"),
			subscribe(onB.client, "room"),
			subscribe(stranger.client, "room"),
		])
		for (const n of Array.from({ length: 20 }, (_, index) => index + 1)) {
			onA.client.send({ type: "publish", channel: "room", payload: { n }, ref: `p${n}` })
		}
		await Promise.all(
			[nearA.client, onB.client].map((client) =>
				client.next((frame) => frame.type === "message" && frame.seq === 20),
			),
		)
		const expected = Array.from({ length: 20 }, (_, index) => ({
			type: "message",
			channel: "room",
			payload: { n: index + 1 },
			from: expect.objectContaining({ type: "user" }),
			seq: index + 1,
		}))
		expect(messages(nearA.client)).toEqual(expected)
		expect(messages(onB.client)).toEqual(expected)
		// The publisher: one ack per publish, in order, and (once a later broadcast arrived) none of its own messages.
		await onA.client.until((frames) => frames.filter((frame) => frame.type === "published").length >= 20)
		expect(onA.client.frames.filter((frame) => frame.type === "published")).toEqual(
			Array.from({ length: 20 }, (_, index) => ({
				type: "published",
				channel: "room",
				seq: index + 1,
				ref: `p${index + 1}`,
			})),
		)
		const after = await authed(gatewayB, tenant.slug, onB.token, "/channels/room/broadcast", {
			method: "POST",
			body: '{"payload":"after"}',
		})
		expect(after.status).toBe(202)
		await onA.client.next((frame) => frame.type === "message" && frame.seq === 21)
		expect(messages(onA.client).map((frame) => frame.seq)).toEqual([21])
		// The other tenant's socket works (it gets its own tenant's broadcast) and got nothing else.
		const broadcast = await authed(gatewayA, other.slug, stranger.token, "/channels/room/broadcast", {
			method: "POST",
			body: '{"payload":"own tenant"}',
		})
		expect(broadcast.status).toBe(202)
		await stranger.client.next((frame) => frame.type === "message")
		expect(messages(stranger.client)).toEqual([
			{ type: "message", channel: "room", payload: "own tenant", from: expect.any(Object), seq: 1 },
		])
		for (const client of [onA.client, nearA.client, onB.client, stranger.client]) client.close()
	}, 60_000)

	it("the `events` channel: changes made through either gateway reach subscribers on both, in seq order, each once", async () => {
		const urls = [gatewayA, gatewayB]
		const adminToken = stack?.adminToken ?? ""
		const { tenant } = await setUpTenant({ baseUrl: gatewayA, adminToken, idp, slug: "rt-ev", gatewayUrls: urls })
		const onA = await signedInClient(gatewayA, tenant.slug, "ev-alice")
		const onB = await signedInClient(gatewayB, tenant.slug, "ev-bob")
		for (const client of [onA.client, onB.client]) {
			client.send({ type: "subscribe", channel: "events", after: 0 })
		}
		// 20 tenant edits, alternating between the gateways, two at a time.
		for (const round of Array.from({ length: 10 }, (_, index) => index)) {
			await Promise.all(
				urls.map((url, side) =>
					fetch(`${url}/admin/v1/tenants/${tenant.id}`, {
						method: "PATCH",
						headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
						body: `{"name":"edit ${round}-${side}"}`,
					}).then((response) => expect(response.status).toBe(200)),
				),
			)
		}
		const page = (await (
			await fetch(`${gatewayB}/v1/events?limit=100`, {
				headers: { authorization: `Bearer ${adminToken}`, "x-app-id": tenant.id },
			})
		).json()) as { items: ReadonlyArray<{ seq: number; type: string }> }
		const last = page.items.at(-1)?.seq ?? 0
		expect(page.items.filter((event) => event.type === "tenant.updated")).toHaveLength(20)
		const seqs = (client: RealtimeClient) =>
			client.frames
				.filter((frame) => frame.type === "message" && frame.channel === "events")
				.map((frame) => frame.seq)
		await Promise.all(
			[onA.client, onB.client].map((client) => client.until(() => seqs(client).includes(last), 30_000)),
		)
		const all = Array.from({ length: last }, (_, index) => index + 1)
		expect(seqs(onA.client)).toEqual(all)
		expect(seqs(onB.client)).toEqual(all)
	}, 60_000)

	it("a session signed out on gateway A closes its socket on gateway B with session_revoked", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: gatewayA,
			adminToken: stack?.adminToken ?? "",
			idp,
			slug: "rt-revoke",
			gatewayUrls: [gatewayA, gatewayB],
		})
		const revoked = await signedInClient(gatewayB, tenant.slug, "carol")
		const bystander = await signedInClient(gatewayB, tenant.slug, "dave")
		const logout = await authed(gatewayA, tenant.slug, revoked.token, "/auth/session", { method: "DELETE" })
		expect(logout.status).toBe(200)
		await revoked.client.next((frame) => frame.type === "session_revoked")
		expect((await revoked.client.closed).code).toBe(4403)
		bystander.client.send({ type: "ping" })
		await bystander.client.next((frame) => frame.type === "pong")
		bystander.client.close()
	}, 60_000)

	it("when a gateway is killed, its sockets leave presence within the TTL", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: gatewayA,
			adminToken: stack?.adminToken ?? "",
			idp,
			slug: "rt-crash",
			gatewayUrls: [gatewayA, gatewayB],
		})
		const watcher = await signedInClient(gatewayA, tenant.slug, "erin")
		const doomed = await signedInClient(gatewayB, tenant.slug, "frank")
		await subscribe(watcher.client, "lobby")
		await subscribe(doomed.client, "lobby")
		doomed.client.send({ type: "presence", channel: "lobby", state: { status: "here" } })
		await watcher.client.next(
			(frame) => frame.type === "presence_diff" && Array.isArray(frame.joins) && frame.joins.length === 1,
		)
		const listed = async () =>
			(
				(await (await authed(gatewayA, tenant.slug, watcher.token, "/channels/lobby/presence")).json()) as {
					items: Array<unknown>
				}
			).items.length
		expect(await listed()).toBe(1)
		const mark = watcher.client.frames.length
		await stop(stack?.gateways[1]?.process ?? stack!.processes[0]!, "SIGKILL")
		const leave = await watcher.client.next(
			(frame) => frame.type === "presence_diff" && Array.isArray(frame.leaves) && frame.leaves.length === 1,
			presenceTtlMs * 4,
			mark,
		)
		expect(leave).toMatchObject({ channel: "lobby", leaves: [{ state: { status: "here" } }] })
		expect(await waitFor(async () => (await listed()) === 0, presenceTtlMs * 2)).toBe(true)
		watcher.client.close()
	}, 60_000)
})
