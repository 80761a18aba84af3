// /v1/events against the in-process platform: real changes (tenant creation and edits through the admin API, an
// http.call job to a local receiver) append events numbered 1..N per tenant, in seq order, correlated with the
// request that caused them; replay by `after`, `since`, `type` (exact or prefix) and by page; one tenant never sees
// another's events; bad parameters are 400, never 500.
import { Schema } from "effect"
import { createServer, type Server } from "node:http"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { freePort, waitFor } from "../fixtures/Processes.ts"
import { adminCall } from "../fixtures/SignIn.ts"

// --- [CONSTANTS]

const encodeJson = Schema.encodeSync(Schema.parseJson())

// --- [TYPES]

type EventBody = {
	readonly id: string
	readonly seq: number
	readonly type: string
	readonly subject: string | null
	readonly data: Record<string, unknown>
	readonly correlationId: string | null
	readonly requestId: string | null
	readonly occurredAt: string
}

type EventList = { readonly items: ReadonlyArray<EventBody>; readonly nextCursor: string | null }

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let receiver: Server
let receiverPort = 0
let tenantA = ""
let tenantB = ""

// --- [FUNCTIONS]

const asService = (tenant: string, path: string, init: RequestInit = {}) =>
	fetch(`${platform.baseUrl}/v1${path}`, {
		...init,
		headers: {
			authorization: `Bearer ${platform.adminToken}`,
			"x-app-id": tenant,
			"content-type": "application/json",
			...(init.headers as Record<string, string> | undefined),
		},
	})

const events = async (tenant: string, query = "") => {
	const response = await asService(tenant, `/events${query}`)
	expect(response.status, await response.clone().text()).toBe(200)
	return (await response.json()) as EventList
}

const createTenant = async (slug: string) => {
	const response = await adminCall(
		platform.baseUrl,
		platform.adminToken,
		"POST",
		"/tenants",
		encodeJson({ slug, name: slug }),
	)
	expect(response.status).toBe(201)
	return ((await response.json()) as { id: string }).id
}

// --- [TESTS]

beforeAll(async () => {
	receiverPort = await freePort()
	// `/hang` never answers (a job that stays running until cancelled); anything else is 200.
	receiver = createServer((request, response) => {
		request.resume()
		request.on("end", () =>
			request.url?.startsWith("/hang") === true
				? undefined
				: response.writeHead(200, { "content-type": "application/json" }).end("{}"),
		)
	})
	await new Promise<void>((resolve) => receiver.listen(receiverPort, "127.0.0.1", resolve))
	platform = await startPlatform({ JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1" })
	const suffix = Math.random().toString(36).slice(2, 8)
	tenantA = await createTenant(`ev-a-${suffix}`)
	tenantB = await createTenant(`ev-b-${suffix}`)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	receiver?.closeAllConnections()
	await new Promise((resolve) => receiver?.close(resolve))
})

describe("Events", () => {
	it("changes append events numbered from 1 in order, correlated with their request; replay filters", async () => {
		const patched = await fetch(`${platform.baseUrl}/admin/v1/tenants/${tenantA}`, {
			method: "PATCH",
			headers: {
				authorization: `Bearer ${platform.adminToken}`,
				"content-type": "application/json",
				"x-request-id": "req-patch-1",
			},
			body: encodeJson({ name: "Renamed" }),
		})
		expect(patched.status).toBe(200)
		const submitted = await asService(tenantA, "/jobs", {
			method: "POST",
			headers: { "x-request-id": "req-job-1" },
			body: encodeJson({
				type: "http.call",
				payload: { url: `http://127.0.0.1:${receiverPort}/ok`, method: "POST" },
			}),
		})
		expect(submitted.status).toBe(202)
		const job = (await submitted.json()) as { id: string }
		const done = await waitFor(
			async () => (await events(tenantA, "?limit=100")).items.some((event) => event.type === "job.succeeded"),
			60_000,
		)
		expect(done).toBe(true)
		const all = await events(tenantA, "?limit=100")

		expect(all.items.map((event) => event.seq)).toEqual(all.items.map((_, index) => index + 1))
		expect(all.items.map((event) => event.type)).toEqual([
			"tenant.created",
			"tenant.activated",
			"tenant.updated",
			"job.created",
			"job.succeeded",
		])
		expect(all.items.find((event) => event.type === "tenant.updated")).toMatchObject({
			subject: tenantA,
			requestId: "req-patch-1",
			correlationId: "req-patch-1",
		})
		// The job's events carry the request that submitted it, also the one its workflow reported.
		const jobEvents = all.items.filter((event) => event.type.startsWith("job."))
		expect(jobEvents.every((event) => event.subject === job.id && event.correlationId === "req-job-1")).toBe(true)
		expect(jobEvents[0]).toMatchObject({ type: "job.created", requestId: "req-job-1" })
		expect(all.items.every((event) => !Number.isNaN(Date.parse(event.occurredAt)))).toBe(true)

		// Prefix and exact type, after, since, pages.
		expect((await events(tenantA, "?type=job.*")).items.map((event) => event.type)).toEqual([
			"job.created",
			"job.succeeded",
		])
		expect((await events(tenantA, "?type=tenant.updated")).items.map((event) => event.seq)).toEqual([3])
		expect((await events(tenantA, "?after=3")).items.map((event) => event.seq)).toEqual([4, 5])
		const future = new Date(Date.now() + 3_600_000).toISOString()
		expect((await events(tenantA, `?since=${encodeURIComponent(future)}`)).items).toEqual([])
		const seen: Array<number> = []
		const walk = async (cursor: string | null): Promise<void> => {
			const page = await events(tenantA, `?limit=2&after=1${cursor === null ? "" : `&cursor=${cursor}`}`)
			seen.push(...page.items.map((event) => event.seq))
			return page.nextCursor === null ? undefined : walk(page.nextCursor)
		}
		await walk(null)
		expect(seen).toEqual([2, 3, 4, 5])
	}, 90_000)

	it("a job's later events name the request that moved it and correlate with the one that submitted it", async () => {
		const submitted = await asService(tenantA, "/jobs", {
			method: "POST",
			headers: { "x-request-id": "req-job-2" },
			body: encodeJson({ type: "http.call", payload: { url: `http://127.0.0.1:${receiverPort}/hang` } }),
		})
		expect(submitted.status).toBe(202)
		const job = (await submitted.json()) as { id: string }
		const cancelled = await asService(tenantA, `/jobs/${job.id}/cancel`, {
			method: "POST",
			headers: { "x-request-id": "req-cancel-2" },
		})
		expect(cancelled.status).toBe(200)
		const mine = (await events(tenantA, "?type=job.*&limit=100")).items.filter((event) => event.subject === job.id)
		expect(mine.map((event) => [event.type, event.requestId, event.correlationId])).toEqual([
			["job.created", "req-job-2", "req-job-2"],
			["job.cancelled", "req-cancel-2", "req-job-2"],
		])
	}, 60_000)

	it("a tenant sees only its own events, numbered apart", async () => {
		const theirs = await events(tenantB)
		expect(theirs.items.map((event) => [event.seq, event.type, event.subject])).toEqual([
			[1, "tenant.created", tenantB],
			[2, "tenant.activated", tenantB],
		])
	})

	it("bad parameters are 400 with a tag; no credential is 401", async () => {
		for (const query of ["?type=Job", "?type=job.*.x", "?after=-1", "?after=x", "?since=yesterday", "?limit=0"]) {
			const response = await asService(tenantA, `/events${query}`)
			expect(response.status, query).toBe(400)
			expect(((await response.json()) as { _tag: string })._tag, query).toBeTypeOf("string")
		}
		const anonymous = await fetch(`${platform.baseUrl}/v1/events`, { headers: { "x-app-id": tenantA } })
		expect(anonymous.status).toBe(401)
	})
})
