// The realtime `events` channel against the in-process platform: `subscribe {channel:"events", after}` replays the
// tenant's events after `after`, then goes live, in seq order with no gap and no duplicate; the gateway's LISTEN
// connection terminated mid-stream (pg_terminate_backend) loses nothing (it catches up from the table); a subscriber
// that disconnects and resumes with `after` sees every event once; nobody publishes on `events`; tenants are apart.
import { Schema } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { connectAs, type Frame, type RealtimeClient } from "../fixtures/RealtimeClient.ts"
import { adminCall, type SignedIn, setUpTenant, signIn } from "../fixtures/SignIn.ts"

// --- [CONSTANTS]

const encodeJson = Schema.encodeSync(Schema.parseJson())

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle
let tenantA = ""
let tenantB = ""
let tokenA = ""
let tokenB = ""
const clients: Array<RealtimeClient> = []

// --- [FUNCTIONS]

// A tenant with a signed-in user: its id and the user's session token.
const tenantWithUser = async (slug: string) => {
	const made = await setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug })
	expect(made.putStatus).toBe(200)
	idp.signInAs({ sub: `user-${slug}` })
	const done = await signIn(platform.baseUrl, slug)
	expect(done.status, done.text).toBe(200)
	return { id: made.tenant.id, token: (done.body as SignedIn).token }
}

// The tenant's last seq, as replay tells it.
const head = async (tenant: string) => {
	const response = await fetch(`${platform.baseUrl}/v1/events?limit=100`, {
		headers: { authorization: `Bearer ${platform.adminToken}`, "x-app-id": tenant },
	})
	const body = (await response.json()) as { items: ReadonlyArray<{ seq: number }> }
	return body.items.at(-1)?.seq ?? 0
}

// One audited change of the tenant: one `tenant.updated` event.
const change = async (tenant: string, index: number) => {
	const response = await adminCall(
		platform.baseUrl,
		platform.adminToken,
		"PATCH",
		`/tenants/${tenant}`,
		encodeJson({ name: `name ${index}` }),
	)
	expect(response.status).toBe(200)
}

const subscriber = async (tenant: string) => {
	const client = await connectAs(platform.baseUrl, tenant, tenant === tenantA ? tokenA : tokenB)
	clients.push(client)
	return client
}

const eventFrames = (frames: ReadonlyArray<Frame>) =>
	frames.filter((frame) => frame.type === "message" && frame.channel === "events")

const seqs = (frames: ReadonlyArray<Frame>) => eventFrames(frames).map((frame) => Number(frame.seq))

const range = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, index) => from + index)

// Until the client has been sent every event up to `last`.
const until = (client: RealtimeClient, last: number) => client.until((frames) => seqs(frames).includes(last), 30_000)

// --- [TESTS]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform()
	const suffix = Math.random().toString(36).slice(2, 8)
	const [first, second] = await Promise.all([tenantWithUser(`rte-a-${suffix}`), tenantWithUser(`rte-b-${suffix}`)])
	tenantA = first.id
	tokenA = first.token
	tenantB = second.id
	tokenB = second.token
}, 120_000)

afterAll(async () => {
	clients.forEach((client) => client.close())
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("realtime events channel", () => {
	it("replays after `after`, goes live, survives a killed LISTEN connection, resumes without gap or duplicate", async () => {
		// The set-up's events (tenant, provider, user, session), then five edits.
		const base = await head(tenantA)
		expect(base).toBeGreaterThanOrEqual(4)
		for (const index of range(1, 5)) await change(tenantA, index)
		const first = await subscriber(tenantA)
		first.send({ type: "subscribe", channel: "events", after: 1, ref: "sub-1" })
		await until(first, base + 5)
		expect(first.frames.find((frame) => frame.type === "subscribed")).toMatchObject({
			channel: "events",
			seq: 1,
			ref: "sub-1",
		})
		// `subscribed` comes before the first event.
		expect(first.frames.findIndex((frame) => frame.type === "subscribed")).toBeLessThan(
			first.frames.findIndex((frame) => frame.type === "message"),
		)
		expect(eventFrames(first.frames)[0]).toMatchObject({
			seq: 2,
			from: { type: "service" },
			payload: { seq: 2, type: "tenant.activated", subject: tenantA },
		})
		expect(eventFrames(first.frames).at(-1)).toMatchObject({
			payload: { seq: base + 5, type: "tenant.updated", subject: tenantA },
		})

		// Live, with concurrent changes.
		const other = await subscriber(tenantB)
		other.send({ type: "subscribe", channel: "events" })
		await other.next((frame) => frame.type === "subscribed")
		const late = await subscriber(tenantA)
		late.send({ type: "subscribe", channel: "events" })
		expect(await late.next((frame) => frame.type === "subscribed")).toMatchObject({ seq: base + 5 })
		await Promise.all(range(6, 15).map((index) => change(tenantA, index)))
		await until(first, base + 15)

		// The gateway's LISTEN connection dies; changes made meanwhile still arrive, once.
		const admin = new pg.Client({ connectionString: platform.databaseUrl })
		await admin.connect()
		const killed = await admin.query(
			"SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity WHERE application_name = 'listen:events' AND datname = current_database()",
		)
		await admin.end()
		expect(killed.rows.map((row: { done: boolean }) => row.done)).toEqual([true])
		await Promise.all(range(16, 25).map((index) => change(tenantA, index)))
		await until(first, base + 25)
		await until(late, base + 25)
		expect(seqs(first.frames)).toEqual(range(2, base + 25))
		expect(seqs(late.frames)).toEqual(range(base + 6, base + 25))
		expect(eventFrames(first.frames).map((frame) => (frame.payload as { seq: number }).seq)).toEqual(
			range(2, base + 25),
		)

		// Disconnect mid-stream and resume from the last seq seen: every event once, in order.
		first.close()
		const seen = seqs(first.frames)
		await Promise.all(range(26, 30).map((index) => change(tenantA, index)))
		const resumed = await subscriber(tenantA)
		resumed.send({ type: "subscribe", channel: "events", after: seen.at(-1) })
		await until(resumed, base + 30)
		expect([...seen, ...seqs(resumed.frames)]).toEqual(range(2, base + 30))

		// The other tenant saw none of it.
		expect(seqs(other.frames)).toEqual([])
	}, 120_000)

	it("nobody publishes on `events`; unsubscribe stops delivery", async () => {
		const client = await subscriber(tenantB)
		client.send({ type: "publish", channel: "events", payload: { forged: true }, ref: "pub" })
		expect(await client.next((frame) => frame.type === "error" && frame.ref === "pub")).toMatchObject({
			_tag: "ChannelNotAllowed",
		})
		const broadcast = await fetch(`${platform.baseUrl}/v1/channels/events/broadcast`, {
			method: "POST",
			headers: {
				authorization: `Bearer ${platform.adminToken}`,
				"x-app-id": tenantB,
				"content-type": "application/json",
			},
			body: encodeJson({ payload: { forged: true } }),
		})
		expect(broadcast.status).toBe(403)
		const last = await head(tenantB)
		client.send({ type: "subscribe", channel: "events", after: 0 })
		await until(client, last)
		expect(seqs(client.frames)).toEqual(range(1, last))
		client.send({ type: "unsubscribe", channel: "events", ref: "unsub" })
		await client.next((frame) => frame.type === "unsubscribed" && frame.ref === "unsub")
		const before = client.frames.length
		await change(tenantB, 1)
		client.send({ type: "ping", ref: "after-change" })
		await client.next((frame) => frame.type === "pong" && frame.ref === "after-change")
		expect(seqs(client.frames.slice(before))).toEqual([])
	}, 60_000)
})
