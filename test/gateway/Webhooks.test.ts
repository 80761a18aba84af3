// /v1/webhooks against the in-process platform and a real node:http receiver on 127.0.0.1 (let through by
// JOBS_HTTP_ALLOWED_HOSTS, as the http.call tests do). The receiver records every request and answers by path:
// `/echo…`, `/fail` and `/gone` echo the ownership challenge (any other path answers it 200 `{}`); deliveries get 200
// from `/echo`, 500 from `/fail`, 410 from `/gone`. Events are inserted into the log as the event log writes them. Every recorded request is verified with the
// `standardwebhooks` library and the secret the creation answered.
import { Either, Schema } from "effect"
import pg from "pg"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import { Webhook } from "standardwebhooks"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { freePort, waitFor } from "../fixtures/Processes.ts"
import { adminCall } from "../fixtures/SignIn.ts"

// --- [CONSTANTS]

const Json = Schema.parseJson()
const encodeJson = Schema.encodeSync(Json)
const decodeJson = Schema.decodeUnknownSync(Json)

// --- [TYPES]

type Received = {
	readonly path: string
	readonly headers: Record<string, string>
	readonly body: string
}

type WebhookBody = {
	readonly id: string
	readonly url: string
	readonly status: string
	readonly eventTypes: ReadonlyArray<string>
	readonly description: string | null
	readonly secret?: string
}

// --- [FUNCTIONS]

const receiver = (received: Array<Received>) =>
	createServer((request: IncomingMessage, response: ServerResponse) => {
		const parts: Array<Buffer> = []
		request.on("data", (part: Buffer) => parts.push(part))
		request.on("end", () => {
			const body = Buffer.concat(parts).toString("utf8")
			const headers = Object.fromEntries(
				Object.entries(request.headers).map(([name, value]) => [name, String(value)]),
			)
			const path = (request.url ?? "").split("?")[0] ?? ""
			received.push({ path, headers, body })
			const parsed = decodeJson(body) as { type: string; data: { challenge?: string } }
			const challenge = parsed.type === "webhook.verification"
			const echoes = path.startsWith("/echo") || path === "/fail" || path === "/gone"
			response.writeHead(challenge ? 200 : path === "/fail" ? 500 : path === "/gone" ? 410 : 200, {
				"content-type": "application/json",
			})
			response.end(challenge && echoes ? encodeJson({ challenge: parsed.data.challenge }) : "{}")
		})
	})

// Appends an event to the tenant's log as the event log does: the seq drawn from event_sequences, in one statement.
const appendEvent = async (databaseUrl: string, appId: string, type: string, data: unknown) => {
	const client = new pg.Client({ connectionString: databaseUrl })
	await client.connect()
	const result = await client.query<{ seq: string }>(
		`WITH next AS (
			INSERT INTO event_sequences (app_id, last_seq) VALUES ($1, 1)
			ON CONFLICT (app_id) DO UPDATE SET last_seq = event_sequences.last_seq + 1 RETURNING last_seq)
		INSERT INTO events (app_id, seq, type, subject, payload) SELECT $1, last_seq, $2, $1, $3::jsonb FROM next
		RETURNING seq`,
		[appId, type, encodeJson(data)],
	)
	await client.end()
	return Number(result.rows[0]!.seq)
}

// --- [TESTS]

describe("webhooks", () => {
	const received: Array<Received> = []
	let server: Server
	let receiverUrl = ""
	let platform: Awaited<ReturnType<typeof startPlatform>>
	let tenantId = ""

	const call = (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
		fetch(`${platform.baseUrl}/v1${path}`, {
			method,
			headers: {
				authorization: `Bearer ${platform.adminToken}`,
				"x-app-id": tenantId,
				"content-type": "application/json",
				...headers,
			},
			...(body === undefined ? {} : { body: encodeJson(body) }),
		})

	const statusOf = async (id: string) => ((await (await call("GET", `/webhooks/${id}`)).json()) as WebhookBody).status

	beforeAll(async () => {
		const port = await freePort()
		server = receiver(received)
		await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
		receiverUrl = `http://127.0.0.1:${port}`
		platform = await startPlatform({
			JOBS_HTTP_ALLOWED_HOSTS: `127.0.0.1:${port}`,
			WEBHOOKS_RETRY_SCHEDULE: "0s,100ms,100ms",
			WEBHOOKS_DISPATCH_INTERVAL: "200 millis",
			WEBHOOKS_CIRCUIT_THRESHOLD: "3",
			WEBHOOKS_CIRCUIT_COOLDOWN: "1 hour",
		})
		const created = await adminCall(
			platform.baseUrl,
			platform.adminToken,
			"POST",
			"/tenants",
			encodeJson({ slug: `wh-${crypto.randomUUID().slice(0, 8)}`, name: "webhooks" }),
		)
		tenantId = ((await created.json()) as { id: string }).id
	}, 120_000)

	afterAll(async () => {
		await platform?.stop()
		await new Promise<void>((resolve) => server?.close(() => resolve()))
	})

	it("an endpoint that echoes the signed challenge becomes active; one that does not stays unverified", async () => {
		const echo = await call("POST", "/webhooks", { url: `${receiverUrl}/echo`, eventTypes: ["user.*"] })
		expect(echo.status).toBe(201)
		const echoBody = (await echo.json()) as WebhookBody
		expect(echoBody.status).toBe("pending_verification")
		expect(echoBody.secret).toMatch(/^whsec_[A-Za-z0-9+/=]+$/)
		const silent = await call("POST", "/webhooks", {
			url: `${receiverUrl}/silent`,
			eventTypes: ["*"],
			description: "never echoes",
		})
		expect(silent.status).toBe(201)
		const silentBody = (await silent.json()) as WebhookBody

		expect(await waitFor(async () => (await statusOf(echoBody.id)) === "active", 30_000)).toBe(true)
		expect(await waitFor(async () => received.some((request) => request.path === "/silent"), 30_000)).toBe(true)
		expect(await statusOf(silentBody.id)).toBe("pending_verification")

		// Every request was a signed challenge, verifiable with the secret shown at creation.
		const secrets: Record<string, string> = { "/echo": echoBody.secret!, "/silent": silentBody.secret! }
		for (const request of received) {
			const payload = new Webhook(secrets[request.path]!).verify(request.body, request.headers) as {
				type: string
				data: { challenge: string }
			}
			expect(payload.type).toBe("webhook.verification")
			expect(payload.data.challenge.length).toBeGreaterThan(16)
		}
		// The secret is never shown again.
		const read = (await (await call("GET", `/webhooks/${echoBody.id}`)).json()) as WebhookBody
		expect(read.secret).toBeUndefined()

		// A re-sent challenge reaches the unverified endpoint once more; the active one cannot be re-verified.
		const before = received.filter((request) => request.path === "/silent").length
		expect((await call("POST", `/webhooks/${silentBody.id}/verify`)).status).toBe(200)
		expect(
			await waitFor(async () => received.filter((request) => request.path === "/silent").length > before, 30_000),
		).toBe(true)
		expect((await call("POST", `/webhooks/${echoBody.id}/verify`)).status).toBe(409)

		const attempts = (await (await call("GET", `/webhooks/${silentBody.id}/attempts`)).json()) as {
			items: ReadonlyArray<{ eventType: string; statusCode: number | null; error: string | null }>
		}
		expect(attempts.items.length).toBeGreaterThanOrEqual(2)
		expect(attempts.items[0]).toMatchObject({ eventType: "webhook.verification", statusCode: 200 })
		expect(attempts.items[0]!.error).toContain("echo")

		const list = (await (await call("GET", "/webhooks")).json()) as { items: ReadonlyArray<WebhookBody> }
		expect(list.items.map((item) => item.id).sort()).toEqual([echoBody.id, silentBody.id].sort())
	}, 90_000)

	it("disable, enable, patch and delete follow the lifecycle", async () => {
		const created = (await (
			await call("POST", "/webhooks", { url: `${receiverUrl}/echo`, eventTypes: ["job.succeeded"] })
		).json()) as WebhookBody
		expect(await waitFor(async () => (await statusOf(created.id)) === "active", 30_000)).toBe(true)
		expect(((await (await call("POST", `/webhooks/${created.id}/disable`)).json()) as WebhookBody).status).toBe(
			"disabled",
		)
		expect((await call("POST", `/webhooks/${created.id}/disable`)).status).toBe(409)
		expect(((await (await call("POST", `/webhooks/${created.id}/enable`)).json()) as WebhookBody).status).toBe(
			"active",
		)
		const patched = await call("PATCH", `/webhooks/${created.id}`, { eventTypes: ["job.*"], description: "jobs" })
		expect(patched.status).toBe(200)
		expect(await patched.json()).toMatchObject({ eventTypes: ["job.*"], description: "jobs", status: "active" })
		// A new URL, even on a disabled endpoint, must prove ownership again: enabling it before that is refused.
		expect((await call("POST", `/webhooks/${created.id}/disable`)).status).toBe(200)
		const moved = await call("PATCH", `/webhooks/${created.id}`, { url: `${receiverUrl}/quiet` })
		expect(await moved.json()).toMatchObject({ status: "pending_verification", url: `${receiverUrl}/quiet` })
		expect((await call("POST", `/webhooks/${created.id}/enable`)).status).toBe(409)
		expect(await waitFor(async () => received.some((request) => request.path === "/quiet"), 30_000)).toBe(true)
		expect(await statusOf(created.id)).toBe("pending_verification")
		expect((await call("DELETE", `/webhooks/${created.id}`)).status).toBe(200)
		expect((await call("GET", `/webhooks/${created.id}`)).status).toBe(404)
		expect((await call("GET", "/webhooks/not-a-uuid")).status).toBe(404)
		// Each change is audited with its event, in order, naming the endpoint; the request that asked is its
		// correlation (the verification is the platform's own).
		const events = (await (await call("GET", "/events?type=webhook.*&limit=100")).json()) as {
			items: Array<{ type: string; subject: string; correlationId: string }>
		}
		expect(events.items.filter((event) => event.subject === created.id).map((event) => event.type)).toEqual([
			"webhook.created",
			"webhook.activated",
			"webhook.disabled",
			"webhook.activated",
			"webhook.updated",
			"webhook.disabled",
			"webhook.updated",
			"webhook.deleted",
		])
	}, 60_000)

	it("a rotated secret signs with both secrets during the grace, and alone after a rotation without grace", async () => {
		const created = (await (
			await call("POST", "/webhooks", { url: `${receiverUrl}/rotating`, eventTypes: ["*"] })
		).json()) as WebhookBody
		const challenges = () => received.filter((request) => request.path === "/rotating")
		const latest = async (count: number) => {
			expect(await waitFor(async () => challenges().length > count, 30_000)).toBe(true)
			return challenges().at(-1)!
		}
		const verifies = (secret: string, request: Received) =>
			Either.isRight(Either.try(() => new Webhook(secret).verify(request.body, request.headers)))
		const rotate = async (gracePeriodSeconds: number) => {
			const response = await call("POST", `/webhooks/${created.id}/rotate-secret`, { gracePeriodSeconds })
			expect(response.status).toBe(201)
			return ((await response.json()) as WebhookBody).secret!
		}
		await latest(0)
		const second = await rotate(3600)
		expect(second).not.toBe(created.secret)
		const before = challenges().length
		expect((await call("POST", `/webhooks/${created.id}/verify`)).status).toBe(200)
		const duringGrace = await latest(before)
		expect(duringGrace.headers["webhook-signature"]!.split(" ")).toHaveLength(2)
		expect(verifies(created.secret!, duringGrace)).toBe(true)
		expect(verifies(second, duringGrace)).toBe(true)

		const third = await rotate(0)
		const count = challenges().length
		expect((await call("POST", `/webhooks/${created.id}/verify`)).status).toBe(200)
		const afterGrace = await latest(count)
		expect(afterGrace.headers["webhook-signature"]!.split(" ")).toHaveLength(1)
		expect(verifies(third, afterGrace)).toBe(true)
		expect(verifies(second, afterGrace)).toBe(false)
		expect(verifies(created.secret!, afterGrace)).toBe(false)
	}, 90_000)

	it("events reach the matching active endpoints, signed, once; failures retry with one webhook-id then dead-letter; 410 disables", async () => {
		const register = async (path: string, eventTypes: ReadonlyArray<string>) => {
			const created = (await (
				await call("POST", "/webhooks", { url: `${receiverUrl}${path}`, eventTypes })
			).json()) as WebhookBody
			expect(await waitFor(async () => (await statusOf(created.id)) === "active", 30_000)).toBe(true)
			return created
		}
		const ok = await register("/echo-events", ["user.*"])
		const failing = await register("/fail", ["user.created"])
		// Not `*`: the endpoint's own activation is a `webhook.activated` event, which it would be sent (and answer 410).
		const gone = await register("/gone", ["user.*", "job.*"])
		const deliveries = (path: string) =>
			received.filter((request) => request.path === path && !request.body.includes('"webhook.verification"'))
		const userEvent = await appendEvent(platform.databaseUrl, tenantId, "user.created", { userId: "u-1" })
		await appendEvent(platform.databaseUrl, tenantId, "job.succeeded", { jobId: "j-1" })

		expect(await waitFor(async () => deliveries("/echo-events").length >= 1, 30_000)).toBe(true)
		expect(await waitFor(async () => deliveries("/fail").length >= 3, 30_000)).toBe(true)
		expect(await waitFor(async () => (await statusOf(gone.id)) === "disabled", 30_000)).toBe(true)

		// /echo-events: exactly the user event, verified with its secret, body { type, timestamp, data }.
		const [delivered] = deliveries("/echo-events")
		expect(deliveries("/echo-events")).toHaveLength(1)
		expect(new Webhook(ok.secret!).verify(delivered!.body, delivered!.headers)).toMatchObject({
			type: "user.created",
			data: { userId: "u-1" },
		})
		// /fail: three attempts (the schedule's length), one webhook-id, then one DLQ entry of type webhook.deliver.
		const attempts = deliveries("/fail")
		expect(attempts).toHaveLength(3)
		expect(new Set(attempts.map((request) => request.headers["webhook-id"])).size).toBe(1)
		attempts.forEach((request) => new Webhook(failing.secret!).verify(request.body, request.headers))
		expect(await statusOf(failing.id)).toBe("failing")
		const dlq = async () =>
			(
				(await (
					await adminCall(platform.baseUrl, platform.adminToken, "GET", "/dlq?type=webhook.deliver")
				).json()) as { items: ReadonlyArray<{ type: string; reason: string; tenantId: string }> }
			).items
		expect(await waitFor(async () => (await dlq()).length >= 1, 30_000)).toBe(true)
		expect((await dlq()).map((entry) => [entry.type, entry.tenantId])).toContainEqual(["webhook.deliver", tenantId])
		const log = (await (await call("GET", `/webhooks/${failing.id}/attempts`)).json()) as {
			items: ReadonlyArray<{ eventSeq: number | null; statusCode: number | null; attempt: number }>
		}
		expect(
			log.items.filter((item) => item.eventSeq === userEvent).map((item) => [item.attempt, item.statusCode]),
		).toEqual([
			[3, 500],
			[2, 500],
			[1, 500],
		])
		// /gone: the first event it matched got 410 and disabled it; the next event was never sent to it.
		expect(deliveries("/gone")).toHaveLength(1)
		// A replay after the event before it delivers that event again (a new job), with its original webhook-id.
		const replay = await call("POST", `/webhooks/${ok.id}/replay`, { after: userEvent - 1 })
		expect(replay.status).toBe(202)
		expect(await waitFor(async () => deliveries("/echo-events").length >= 2, 30_000)).toBe(true)
		const [first, again] = deliveries("/echo-events")
		expect(again!.headers["webhook-id"]).toBe(first!.headers["webhook-id"])
		expect(new Webhook(ok.secret!).verify(again!.body, again!.headers)).toMatchObject({ type: "user.created" })
		expect((await call("POST", `/webhooks/${ok.id}/replay`, { since: "not a time" })).status).toBe(400)
		// /fail's circuit is open after its three failures: the next event's attempts are logged, never sent.
		const nextEvent = await appendEvent(platform.databaseUrl, tenantId, "user.created", { userId: "u-2" })
		const refusedLog = async () =>
			(
				(await (await call("GET", `/webhooks/${failing.id}/attempts`)).json()) as {
					items: ReadonlyArray<{ eventSeq: number | null; statusCode: number | null; error: string | null }>
				}
			).items.filter((item) => item.eventSeq === nextEvent)
		expect(await waitFor(async () => (await refusedLog()).length === 3, 30_000)).toBe(true)
		expect(
			(await refusedLog()).every((item) => item.statusCode === null && item.error!.includes("circuit open")),
		).toBe(true)
		expect(deliveries("/fail")).toHaveLength(3)
		// Endpoints that never echoed a challenge received nothing but challenges.
		expect(deliveries("/silent")).toEqual([])
		expect(deliveries("/rotating")).toEqual([])
	}, 120_000)

	it("bad input is a tagged 400: private or loopback URL, other schemes, unknown event types, long descriptions", async () => {
		const tagOf = async (body: unknown) => {
			const response = await call("POST", "/webhooks", body)
			return [response.status, ((await response.json()) as { _tag: string })._tag]
		}
		expect(await tagOf({ url: "http://10.0.0.7/hook", eventTypes: ["*"] })).toEqual([400, "DestinationNotAllowed"])
		expect(await tagOf({ url: "http://127.0.0.1:1/hook", eventTypes: ["*"] })).toEqual([
			400,
			"DestinationNotAllowed",
		])
		expect(await tagOf({ url: "ftp://example.com/hook", eventTypes: ["*"] })).toEqual([
			400,
			"DestinationNotAllowed",
		])
		expect(await tagOf({ url: `${receiverUrl}/echo`, eventTypes: ["nonsense.*"] })).toEqual([
			400,
			"ValidationError",
		])
		expect(await tagOf({ url: `${receiverUrl}/echo`, eventTypes: [] })).toEqual([400, "ValidationError"])
		expect(await tagOf({ url: `${receiverUrl}/echo`, eventTypes: ["*"], description: "x".repeat(501) })).toEqual([
			400,
			"ValidationError",
		])
	}, 30_000)
})

describe("webhooks: auto-disable", () => {
	const received: Array<Received> = []
	let server: Server
	let receiverUrl = ""
	let platform: Awaited<ReturnType<typeof startPlatform>>
	let tenantId = ""

	beforeAll(async () => {
		const port = await freePort()
		server = receiver(received)
		await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
		receiverUrl = `http://127.0.0.1:${port}`
		platform = await startPlatform({
			JOBS_HTTP_ALLOWED_HOSTS: `127.0.0.1:${port}`,
			WEBHOOKS_RETRY_SCHEDULE: "0s",
			WEBHOOKS_DISPATCH_INTERVAL: "200 millis",
			WEBHOOKS_DISABLE_AFTER: "0 millis",
		})
		const created = await adminCall(
			platform.baseUrl,
			platform.adminToken,
			"POST",
			"/tenants",
			encodeJson({ slug: `wd-${crypto.randomUUID().slice(0, 8)}`, name: "webhooks" }),
		)
		tenantId = ((await created.json()) as { id: string }).id
	}, 120_000)

	afterAll(async () => {
		await platform?.stop()
		await new Promise<void>((resolve) => server?.close(() => resolve()))
	})

	it("an endpoint failing for WEBHOOKS_DISABLE_AFTER is disabled; enabled again, it receives the events it missed", async () => {
		const call = (method: string, path: string, body?: unknown) =>
			fetch(`${platform.baseUrl}/v1${path}`, {
				method,
				headers: {
					authorization: `Bearer ${platform.adminToken}`,
					"x-app-id": tenantId,
					"content-type": "application/json",
				},
				...(body === undefined ? {} : { body: encodeJson(body) }),
			})
		const statusOf = async (id: string) =>
			((await (await call("GET", `/webhooks/${id}`)).json()) as WebhookBody).status
		const created = (await (
			await call("POST", "/webhooks", { url: `${receiverUrl}/fail`, eventTypes: ["user.*"] })
		).json()) as WebhookBody
		expect(await waitFor(async () => (await statusOf(created.id)) === "active", 30_000)).toBe(true)
		await appendEvent(platform.databaseUrl, tenantId, "user.created", { userId: "u-1" })
		expect(await waitFor(async () => (await statusOf(created.id)) === "disabled", 30_000)).toBe(true)
		const deliveries = () => received.filter((request) => !request.body.includes('"webhook.verification"'))
		expect(deliveries()).toHaveLength(1)
		expect(deliveries()[0]!.headers["webhook-signature"]).toMatch(/^v1,/)
		// A later event waits behind the disabled endpoint's cursor.
		const later = await appendEvent(platform.databaseUrl, tenantId, "user.updated", { userId: "u-1" })
		const reenabled = await call("POST", `/webhooks/${created.id}/enable`)
		expect(reenabled.status).toBe(200)
		expect(await waitFor(async () => deliveries().length === 2, 30_000)).toBe(true)
		// Enabled again, it receives the events after its cursor: the later one.
		expect(new Webhook(created.secret!).verify(deliveries()[1]!.body, deliveries()[1]!.headers)).toMatchObject({
			type: "user.updated",
		})
		expect(later).toBeGreaterThan(1)
	}, 90_000)
})
