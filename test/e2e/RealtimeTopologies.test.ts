// Realtime end to end over a Redis Cluster and behind Redis Sentinel: an in-process platform (REDIS_MODE/REDIS_NODES)
// on a private topology, a signed-in WebSocket client, broadcasts over HTTP numbered by seq, presence visible over
// HTTP. Behind Sentinel the master is killed while broadcasts stream in: the platform recovers on the promoted
// replica, and the client can tell from seq alone where messages were lost.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { sleep } from "../fixtures/Processes.ts"
import { connect, type Frame, type RealtimeClient } from "../fixtures/RealtimeClient.ts"
import { startRedisCluster, startRedisSentinel } from "../fixtures/RedisTopologies.ts"
import { authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"

// --- [TYPES]

type Platform = Awaited<ReturnType<typeof startPlatform>>

// One HTTP broadcast: its payload index, when it was sent and answered, its status (0: no answer in 10 s) and the
// seq it was given.
type Attempt = {
	readonly index: number
	readonly sentAt: number
	readonly doneAt: number
	readonly status: number
	readonly seq: number | null
}

// --- [STATE]

let idp: OidcProviderHandle

// --- [FUNCTIONS]

// A signed-in user of a fresh tenant with a client authenticated and subscribed to `channel`.
const subscriber = async (platform: Platform, slug: string, channel: string) => {
	const { tenant } = await setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug })
	idp.signInAs({ sub: `${slug}-user` })
	const signedIn = await signIn(platform.baseUrl, tenant.slug)
	expect(signedIn.status).toBe(200)
	const token = signedIn.body?.token ?? ""
	const client = await connect(platform.baseUrl, tenant.slug)
	client.send({ type: "auth", token })
	const authenticated = await client.next((frame) => frame.type === "authenticated")
	client.send({ type: "subscribe", channel })
	expect(await client.next((frame) => frame.type === "subscribed")).toMatchObject({ channel, seq: 0 })
	return {
		tenant: tenant.slug,
		token,
		client,
		connectionId: String(authenticated.connectionId),
		userId: authenticated.userId,
	}
}

const broadcast = async (platform: Platform, tenant: string, token: string, channel: string, index: number) => {
	const sentAt = Date.now()
	const response = await authed(platform.baseUrl, tenant, token, `/channels/${channel}/broadcast`, {
		method: "POST",
		body: `{"payload":{"i":${index}}}`,
		signal: AbortSignal.timeout(10_000),
	}).catch(() => null)
	const body = response === null ? null : ((await response.json().catch(() => null)) as { seq?: number } | null)
	return {
		index,
		sentAt,
		doneAt: Date.now(),
		status: response?.status ?? 0,
		seq: body?.seq ?? null,
	} satisfies Attempt
}

const messagesOf = (client: RealtimeClient, channel: string) =>
	client.frames
		.filter((frame: Frame) => frame.type === "message" && frame.channel === channel)
		.map((frame) => ({ seq: Number(frame.seq), index: Number((frame.payload as { i: number }).i) }))

// Three broadcasts arrive numbered 1..3; a presence announced over the socket is a diff to subscribers and is
// listed by GET presence.
const broadcastAndPresence = async (platform: Platform, slug: string) => {
	const channel = "news"
	const user = await subscriber(platform, slug, channel)
	const sent = await Promise.all(
		[1, 2, 3].map((index) => broadcast(platform, user.tenant, user.token, channel, index)),
	)
	expect(sent.map((attempt) => attempt.status)).toEqual([202, 202, 202])
	expect(sent.map((attempt) => attempt.seq).sort()).toEqual([1, 2, 3])
	await user.client.next((frame) => frame.type === "message" && frame.seq === 3)
	const messages = messagesOf(user.client, channel)
	expect(messages.map((message) => message.seq)).toEqual([1, 2, 3])
	expect(messages.map((message) => sent.find((attempt) => attempt.index === message.index)?.seq)).toEqual([1, 2, 3])

	user.client.send({ type: "presence", channel, state: { status: "online" } })
	const diff = await user.client.next((frame) => frame.type === "presence_diff")
	const member = { connectionId: user.connectionId, userId: user.userId, state: { status: "online" } }
	expect(diff).toMatchObject({ channel, joins: [member], leaves: [] })
	const presence = await authed(platform.baseUrl, user.tenant, user.token, `/channels/${channel}/presence`)
	expect(presence.status).toBe(200)
	expect(await presence.json()).toEqual({ items: [member], nextCursor: null })
	user.client.close()
}

// --- [SUITE]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
}, 30_000)

afterAll(async () => {
	await idp?.stop()
}, 30_000)

describe("realtime over a Redis Cluster", () => {
	let cluster: Awaited<ReturnType<typeof startRedisCluster>> | undefined
	let platform: Platform | undefined

	beforeAll(async () => {
		cluster = await startRedisCluster()
		platform = await startPlatform({ REDIS_MODE: "cluster", REDIS_NODES: cluster.nodes })
		expect(platform.ready).toBe(true)
	}, 90_000)

	afterAll(async () => {
		await platform?.stop()
		await cluster?.stop()
	}, 60_000)

	it("delivers broadcasts with seq and shows presence", async () => {
		await broadcastAndPresence(platform as Platform, "rt-cluster")
	}, 30_000)
})

describe("realtime behind Redis Sentinel", () => {
	let sentinel: Awaited<ReturnType<typeof startRedisSentinel>> | undefined
	let platform: Platform | undefined

	beforeAll(async () => {
		sentinel = await startRedisSentinel()
		platform = await startPlatform({ REDIS_MODE: "sentinel", REDIS_NODES: sentinel.sentinels })
		expect(platform.ready).toBe(true)
	}, 90_000)

	afterAll(async () => {
		await platform?.stop()
		await sentinel?.stop()
	}, 60_000)

	it("delivers broadcasts with seq and shows presence", async () => {
		await broadcastAndPresence(platform as Platform, "rt-sentinel")
	}, 30_000)

	it("recovers after the master dies mid-stream, and the client sees by seq where messages were lost", async () => {
		const running = platform as Platform
		const topology = sentinel as NonNullable<typeof sentinel>
		const channel = "ticker"
		const user = await subscriber(running, "rt-failover", channel)
		const attempts: Array<Attempt> = []
		let killStartedAt = 0
		let killedAt = 0
		const killing = sleep(1_000)
			.then(() => {
				killStartedAt = Date.now()
				return topology.killMaster()
			})
			.then(() => {
				killedAt = Date.now()
			})
		const recoveredAfterKill = () =>
			attempts.filter((attempt) => killedAt > 0 && attempt.sentAt > killedAt && attempt.status === 202).length
		let index = 0
		while (recoveredAfterKill() < 20 && (killedAt === 0 || Date.now() - killedAt < 30_000)) {
			index += 1
			attempts.push(await broadcast(running, user.tenant, user.token, channel, index))
			await sleep(50)
		}
		await killing
		const acknowledged = attempts.filter((attempt) => attempt.status === 202)
		const failed = attempts.filter((attempt) => attempt.status !== 202)
		const last = acknowledged.at(-1)
		await user.client.next((frame) => frame.type === "message" && frame.seq === last?.seq, 10_000).catch(() => null)

		const messages = messagesOf(user.client, channel)
		const seqs = messages.map((message) => message.seq)
		const steps = seqs.slice(1).map((seq, position) => ({ from: seqs[position] ?? 0, to: seq }))
		// Answered before the kill began; after it ended. A broadcast in flight across the kill is in neither.
		const beforeKill = acknowledged.filter((attempt) => attempt.doneAt < killStartedAt)
		const afterKill = acknowledged.filter((attempt) => attempt.sentAt > killedAt)
		const highestBeforeKill = Math.max(0, ...beforeKill.map((attempt) => attempt.seq ?? 0))
		const counterWentBack = afterKill.some((attempt) => (attempt.seq ?? 0) <= highestBeforeKill)
		const received = new Set(seqs)
		const lost = acknowledged.filter((attempt) => !received.has(attempt.seq ?? 0))
		const deliveredDespiteFailure = messages.filter((message) =>
			failed.some((attempt) => attempt.index === message.index),
		)
		const firstRecovered = afterKill[0]
		const unacknowledgedGaps = steps.flatMap((step) =>
			Array.from({ length: Math.max(0, step.to - step.from - 1) }, (_, offset) => step.from + offset + 1).filter(
				(seq) => !acknowledged.some((attempt) => attempt.seq === seq),
			),
		)
		const statuses = failed.map((attempt) => attempt.status)
		console.log("[failover]", {
			sent: attempts.length,
			accepted: acknowledged.length,
			failed: [...new Set(statuses)].map(
				(status) => `${status}×${statuses.filter((other) => other === status).length}`,
			),
			failedTookMs: failed.map((attempt) => attempt.doneAt - attempt.sentAt),
			firstAcceptedAfterKillMs: firstRecovered === undefined ? null : firstRecovered.sentAt - killedAt,
			masterNow: await topology.currentMasterPort(),
			replicaPort: topology.replicaPort,
			highestSeqBeforeKill: highestBeforeKill,
			firstSeqAfterKill: firstRecovered?.seq ?? null,
			counterWentBack,
			received: `${seqs.length} (${seqs[0] ?? "-"}..${seqs.at(-1) ?? "-"})`,
			acceptedButLost: lost.map((attempt) => attempt.seq),
			deliveredAlthoughFailed: deliveredDespiteFailure.map((message) => message.seq),
			unacknowledgedSeqsSkipped: unacknowledgedGaps,
			jumps: steps.filter((step) => step.to !== step.from + 1).map((step) => `${step.from}→${step.to}`),
		})

		// The platform recovered: broadcasts are accepted again within 30 s of the kill and reach the subscriber.
		expect(killedAt).toBeGreaterThan(0)
		expect(beforeKill.length).toBeGreaterThan(5)
		expect(afterKill.length).toBeGreaterThanOrEqual(20)
		expect((firstRecovered?.sentAt ?? Infinity) - killedAt).toBeLessThan(30_000)
		expect(failed.every((attempt) => attempt.status === 503)).toBe(true)
		expect(seqs).toContain(last?.seq)
		expect(
			messages.filter((message) => message.index > (firstRecovered?.index ?? Infinity)).length,
		).toBeGreaterThan(10)
		// Every message received carries the seq its broadcast was acknowledged with.
		expect(
			messages.every((message) => {
				const attempt = attempts.find((candidate) => candidate.index === message.index)
				return attempt?.status !== 202 || attempt.seq === message.seq
			}),
		).toBe(true)
		// Before the kill nothing was lost: 1, 2, 3, … without a hole.
		expect(seqs.slice(0, beforeKill.length)).toEqual(beforeKill.map((_, position) => position + 1))
		// Either the counter went on where it was (the replica had it): the client sees strictly increasing seqs, every
		// acknowledged message it missed sits inside a jump between two consecutive seqs it got, and every other seq it
		// never saw was consumed by a broadcast that failed. Or the promoted replica lagged and the counter went back:
		// then the client sees a seq that is not greater than the one before.
		expect(
			counterWentBack ? steps.some((step) => step.to <= step.from) : steps.every((step) => step.to > step.from),
		).toBe(true)
		expect(
			counterWentBack ||
				lost.every((attempt) =>
					steps.some((step) => step.from < (attempt.seq ?? 0) && (attempt.seq ?? 0) < step.to),
				),
		).toBe(true)
		expect(
			counterWentBack || new Set(acknowledged.map((attempt) => attempt.seq)).size === acknowledged.length,
		).toBe(true)
		expect(unacknowledgedGaps.length).toBeLessThanOrEqual(failed.length)
		user.client.close()
	}, 90_000)
})
