// /v1/jobs against the in-process platform and a local HTTP receiver on 127.0.0.1 whose behaviour is chosen by path:
// `/ok` → 200, `/flaky` → 503 (the first time with `Retry-After: 1`) `fails` times per idempotency key then 200,
// `/gone` → 410, `/hang` → never answers, `/endless` → 200 with a body that never ends (64 KiB every 5 ms until the
// client goes away; `endlessClosed` counts the clients that did). The receiver records every request's method, path, `tag` query parameter,
// `Idempotency-Key` and `X-Request-Id`, so each test reads only the deliveries of its own jobs (by tag).
import { Schema } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { freePort, sleep, waitFor } from "../fixtures/Processes.ts"
import { adminCall, authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"

// --- [CONSTANTS]

const maxAttempts = 4
const flakyFailures = 2
const Final = ["succeeded", "dead_lettered", "cancelled"]
const Json = Schema.parseJson()
const encodeJson = Schema.encodeSync(Json)

// --- [TYPES]

type JobBody = {
	readonly id: string
	readonly type: string
	readonly status: string
	readonly executionId: string | null
	readonly attempts: number
	readonly dedupeKey: string | null
	readonly owner: string
	readonly ownerKeyId: string | null
	readonly lastError: string | null
	readonly result: unknown
	readonly attemptLog: ReadonlyArray<{
		readonly run: number
		readonly attempt: number
		readonly at: string
		readonly error: string | null
	}>
	readonly requestId: string | null
	readonly createdAt: string
	readonly updatedAt: string
	readonly finishedAt: string | null
}

type ErrorBody = {
	readonly _tag: string
	readonly message: string
	readonly issues?: ReadonlyArray<{ readonly path: ReadonlyArray<string | number>; readonly message: string }>
}

type Delivery = {
	readonly method: string
	readonly path: string
	readonly tag: string
	readonly idempotencyKey: string | undefined
	readonly requestId: string | undefined
}

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let receiver: Server
let receiverUrl = ""
let receiverPort = 0
let tenantA = ""
let tenantB = ""
const deliveries: Array<Delivery> = []
let endlessClosed = 0
const flakyCounts = new Map<string, number>()

// --- [FUNCTIONS]

const header = (request: IncomingMessage, name: string) => {
	const value = request.headers[name]
	return Array.isArray(value) ? value.join(",") : value
}

const respond = (response: ServerResponse, status: number, headers: Record<string, string> = {}) =>
	response.writeHead(status, { "content-type": "text/plain", ...headers }).end(String(status))

// The receiver: records, then answers according to the path. `/hang` keeps the request open forever.
const handle = (request: IncomingMessage, response: ServerResponse) => {
	const url = new URL(request.url ?? "/", "http://receiver")
	const delivery: Delivery = {
		method: request.method ?? "",
		path: url.pathname,
		tag: url.searchParams.get("tag") ?? "",
		idempotencyKey: header(request, "idempotency-key"),
		requestId: header(request, "x-request-id"),
	}
	deliveries.push(delivery)
	request.resume()
	const failures = Number(url.searchParams.get("fails") ?? flakyFailures)
	const key = `${delivery.tag}/${delivery.idempotencyKey ?? ""}`
	const seen = flakyCounts.get(key) ?? 0
	flakyCounts.set(key, seen + 1)
	const chunk = Buffer.alloc(64 * 1024, 120)
	const stream = (left: number): void =>
		left <= 0 || response.destroyed
			? void response.end()
			: (response.write(chunk), void setTimeout(() => stream(left - 1), 5))
	return url.pathname === "/endless"
		? (response.on("close", () => (endlessClosed += 1)), response.writeHead(200), stream(4096))
		: url.pathname === "/ok"
			? respond(response, 200)
			: url.pathname === "/gone"
				? respond(response, 410)
				: url.pathname === "/hang"
					? undefined
					: url.pathname === "/flaky"
						? seen < failures
							? respond(response, 503, seen === 0 ? { "retry-after": "1" } : {})
							: respond(response, 200)
						: respond(response, 404)
}

const deliveriesOf = (tag: string) => deliveries.filter((delivery) => delivery.tag === tag)

const target = (path: string, tag: string) => `${receiverUrl}${path}?tag=${tag}`

const httpCall = (url: string, extra: Record<string, unknown> = {}) => ({
	type: "http.call",
	payload: { url },
	...extra,
})

const jobsRequest = (
	path: string,
	options: {
		readonly method?: string
		readonly body?: unknown
		readonly appId?: string
		readonly headers?: Record<string, string>
	} = {},
) =>
	fetch(`${platform.baseUrl}/v1${path}`, {
		method: options.method ?? (options.body === undefined ? "GET" : "POST"),
		headers: {
			authorization: `Bearer ${platform.adminToken}`,
			"x-app-id": options.appId ?? tenantA,
			"content-type": "application/json",
			...options.headers,
		},
		...(options.body === undefined ? {} : { body: encodeJson(options.body) }),
	})

const submit = async (body: unknown, headers: Record<string, string> = {}, appId = tenantA) => {
	const response = await jobsRequest("/jobs", { body, headers, appId })
	return { status: response.status, headers: response.headers, body: (await response.json()) as unknown }
}

const submitOne = async (body: unknown, headers: Record<string, string> = {}, appId = tenantA) => {
	const submitted = await submit(body, headers, appId)
	expect(submitted.status, String(encodeJson(submitted.body))).toBe(202)
	return { ...submitted, body: submitted.body as JobBody }
}

const getJob = async (id: string, appId = tenantA) => {
	const response = await jobsRequest(`/jobs/${id}`, { appId })
	return { status: response.status, body: (await response.json()) as JobBody & ErrorBody }
}

// Polls the job until it reaches a final status (succeeded, dead_lettered, cancelled) or the deadline passes.
const settle = async (id: string, timeoutMs = 45_000) => {
	const deadline = Date.now() + timeoutMs
	let job = (await getJob(id)).body
	while (!Final.includes(job.status) && Date.now() < deadline) {
		await sleep(200)
		job = (await getJob(id)).body
	}
	return job
}

const query = async <A>(text: string, params: Array<unknown> = []) => {
	const client = new pg.Client({ connectionString: platform.databaseUrl })
	await client.connect()
	return client
		.query(text, params)
		.then((result) => result.rows as Array<A>)
		.finally(() => client.end())
}

const dlqRows = (jobId: string) =>
	query<{ error_reason: string; request_id: string | null; job_id: string; type: string }>(
		"SELECT error_reason, request_id, job_id, type FROM job_dlq WHERE job_id = $1",
		[jobId],
	)

const createTenant = async (slug: string) => {
	const response = await fetch(`${platform.baseUrl}/admin/v1/tenants`, {
		method: "POST",
		headers: { authorization: `Bearer ${platform.adminToken}`, "content-type": "application/json" },
		body: encodeJson({ slug, name: slug }),
	})
	expect(response.status).toBe(201)
	return ((await response.json()) as { id: string }).id
}

// Every page of a list, following nextCursor (at most `maxPages`).
const listAll = async (search: string, appId = tenantA, maxPages = 30) => {
	const items: Array<JobBody> = []
	let cursor: string | null = ""
	let pages = 0
	while (cursor !== null && pages < maxPages) {
		const response = await jobsRequest(
			`/jobs?${search}&limit=100${cursor === "" ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
			{ appId },
		)
		expect(response.status).toBe(200)
		const page = (await response.json()) as { items: Array<JobBody>; nextCursor: string | null }
		items.push(...page.items)
		cursor = page.nextCursor
		pages += 1
	}
	return items
}

// --- [SUITE]

beforeAll(async () => {
	receiver = createServer(handle)
	await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", () => resolve()))
	const address = receiver.address()
	receiverPort = typeof address === "object" && address !== null ? address.port : 0
	receiverUrl = `http://127.0.0.1:${receiverPort}`
	platform = await startPlatform({
		JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1",
		JOBS_HTTP_BACKOFF_BASE: "100 millis",
		JOBS_HTTP_BACKOFF_CAP: "1 second",
		JOBS_HTTP_TIMEOUT: "1 second",
		JOBS_HTTP_MAX_ATTEMPTS: String(maxAttempts),
		// One request submits 1000 jobs here; on this loaded 2-core machine that can take longer than the default
		// request deadline (30 s), which has its own tests (EdgeErrors, RollingRestart).
		GATEWAY_REQUEST_TIMEOUT: "5 minutes",
	})
	expect(platform.ready).toBe(true)
	tenantA = await createTenant("jobs-a")
	tenantB = await createTenant("jobs-b")
}, 120_000)

afterAll(async () => {
	receiver?.closeAllConnections()
	await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())))
	await platform?.stop()
}, 60_000)

describe("jobs", () => {
	describe("delivery", () => {
		it("a flaky destination (503, once with Retry-After) succeeds after retries with one idempotency key", async () => {
			const submitted = await submitOne(httpCall(target("/flaky", "flaky")))
			expect(submitted.body).toMatchObject({ type: "http.call", attempts: 0, result: null, attemptLog: [] })
			expect(["queued", "running"]).toContain(submitted.body.status)
			const job = await settle(submitted.body.id)
			expect(job.status).toBe("succeeded")
			expect(job.attempts).toBeGreaterThanOrEqual(2)
			// Each attempt with what happened in it; the result is the destination's status.
			expect(job.attemptLog.map(({ run, attempt, error }) => [run, attempt, error])).toEqual([
				[0, 1, "503 from the destination"],
				[0, 2, "503 from the destination"],
				[0, 3, null],
			])
			expect(job.result).toEqual({ status: 200 })
			expect(job.finishedAt).not.toBeNull()
			const seen = deliveriesOf("flaky")
			expect(seen).toHaveLength(flakyFailures + 1)
			expect(seen.map((delivery) => delivery.idempotencyKey)).toEqual(
				Array.from({ length: flakyFailures + 1 }, () => submitted.body.id),
			)
			expect(seen.every((delivery) => delivery.method === "POST")).toBe(true)
			expect(await dlqRows(submitted.body.id)).toEqual([])
		}, 60_000)

		it("410 Gone → dead_lettered with a DLQ row (NonRetryable) after exactly one delivery", async () => {
			const submitted = await submitOne(httpCall(target("/gone", "gone")))
			const job = await settle(submitted.body.id)
			expect(job.status).toBe("dead_lettered")
			expect(job.lastError).toBe("410 Gone from the destination (not retried)")
			expect(job.result).toBeNull()
			expect(await dlqRows(submitted.body.id)).toEqual([
				expect.objectContaining({ error_reason: "NonRetryable", type: "http.call" }),
			])
			const rows = await query<{ status: string; attempts: number }>(
				"SELECT status, attempts FROM jobs WHERE id = $1",
				[submitted.body.id],
			)
			expect(rows).toEqual([{ status: "dead_lettered", attempts: 1 }])
			expect(deliveriesOf("gone")).toHaveLength(1)
		}, 60_000)

		it("a destination that never answers → every attempt times out → DLQ reason Timeout", async () => {
			const submitted = await submitOne(httpCall(target("/hang", "hang")))
			const job = await settle(submitted.body.id, 55_000)
			expect(job.status).toBe("dead_lettered")
			expect(await dlqRows(submitted.body.id)).toEqual([expect.objectContaining({ error_reason: "Timeout" })])
			expect(job.attemptLog.map((entry) => entry.error)).toEqual(
				Array.from({ length: maxAttempts }, () => "timed out after 1s"),
			)
			const seen = deliveriesOf("hang")
			expect(seen).toHaveLength(maxAttempts)
			expect(new Set(seen.map((delivery) => delivery.idempotencyKey))).toEqual(new Set([submitted.body.id]))
		}, 60_000)

		it("a destination that refuses connections → each attempt says `connection refused by host:port` → DLQ", async () => {
			const closedPort = await freePort()
			const submitted = await submitOne(httpCall(`http://127.0.0.1:${closedPort}/nothing`))
			const job = await settle(submitted.body.id)
			expect(job.status).toBe("dead_lettered")
			expect(job.attemptLog.map(({ attempt, error }) => [attempt, error])).toEqual(
				Array.from({ length: maxAttempts }, (_, index) => [
					index + 1,
					`connection refused by 127.0.0.1:${closedPort}`,
				]),
			)
			expect(job.lastError).toBe(`connection refused by 127.0.0.1:${closedPort}`)
			expect(await dlqRows(submitted.body.id)).toEqual([
				expect.objectContaining({ error_reason: "MaxAttemptsExceeded" }),
			])
		}, 60_000)

		it("X-Request-Id reaches the job, its row, the workflow's run message, the DLQ row and the destination", async () => {
			const submitted = await submitOne(httpCall(target("/gone", "correlated")), { "x-request-id": "abc" })
			expect(submitted.headers.get("x-request-id")).toBe("abc")
			expect(submitted.body.requestId).toBe("abc")
			const job = await settle(submitted.body.id)
			expect(job.status).toBe("dead_lettered")
			expect(job.requestId).toBe("abc")
			expect(
				await query("SELECT request_id FROM jobs WHERE id = $1", [submitted.body.id]).then((rows) => rows),
			).toEqual([{ request_id: "abc" }])
			const runs = await query<{ payload: string }>(
				"SELECT payload FROM cluster_messages WHERE entity_type = 'Workflow/HttpCall' AND tag = 'run' AND payload LIKE $1",
				[`%${submitted.body.id}%`],
			)
			expect(runs).toHaveLength(1)
			expect(runs[0]?.payload).toContain('"requestId":"abc"')
			expect(await dlqRows(submitted.body.id)).toEqual([
				expect.objectContaining({ error_reason: "NonRetryable", request_id: "abc" }),
			])
			const seen = deliveriesOf("correlated")
			expect(seen).toHaveLength(1)
			expect(seen[0]).toMatchObject({ requestId: "abc", idempotencyKey: submitted.body.id })
		}, 60_000)

		it("the same dedupeKey twice → the same job and a single delivery", async () => {
			const first = await submitOne(httpCall(target("/ok", "dedupe"), { dedupeKey: "dedupe-1" }))
			const second = await submitOne(httpCall(target("/ok", "dedupe"), { dedupeKey: "dedupe-1" }))
			expect(second.body.id).toBe(first.body.id)
			expect(second.body.executionId).toBe(first.body.executionId)
			expect(first.body.dedupeKey).toBe("dedupe-1")
			const job = await settle(first.body.id)
			expect(job.status).toBe("succeeded")
			const third = await submitOne(httpCall(target("/ok", "dedupe"), { dedupeKey: "dedupe-1" }))
			expect(third.body.id).toBe(first.body.id)
			// Give a wrongly started second execution time to show up before counting.
			await sleep(1_500)
			expect(deliveriesOf("dedupe")).toHaveLength(1)
			expect(
				await query("SELECT count(*)::int AS count FROM jobs WHERE dedupe_key = 'dedupe-1'").then(
					(rows) => rows,
				),
			).toEqual([{ count: 1 }])
		}, 60_000)

		it("a body that never ends: the attempt reads at most 1 MiB, records the status and the job succeeds", async () => {
			const closedBefore = endlessClosed
			const submitted = await submitOne(httpCall(target("/endless", "endless")))
			const job = await settle(submitted.body.id)
			expect(job.status).toBe("succeeded")
			expect(job.attempts).toBe(1)
			expect(job.lastError).toBeNull()
			expect(await waitFor(async () => endlessClosed > closedBefore, 10_000, 100)).toBe(true)
			expect(deliveriesOf("endless")).toHaveLength(1)
		}, 60_000)

		it("a repeated dedupeKey after the job finished answers with the job as it is now (succeeded)", async () => {
			const first = await submitOne(httpCall(target("/ok", "dedupe-late"), { dedupeKey: "dedupe-late" }))
			expect((await settle(first.body.id)).status).toBe("succeeded")
			const current = await getJob(first.body.id)
			const again = await submitOne(httpCall(target("/ok", "dedupe-late"), { dedupeKey: "dedupe-late" }))
			expect(again.body.id).toBe(first.body.id)
			expect(again.body).toEqual(current.body)
			expect(deliveriesOf("dedupe-late")).toHaveLength(1)
		}, 60_000)
	})

	describe("reading and cancelling", () => {
		it("GET /v1/jobs/{id} answers 200 with the job as submitted, and later as it ended", async () => {
			const submitted = await submitOne(httpCall(target("/ok", "get-ok")))
			expect((await settle(submitted.body.id)).status).toBe("succeeded")
			const fetched = await getJob(submitted.body.id)
			expect.soft(fetched.status).toBe(200)
			expect(fetched.body).toMatchObject({
				id: submitted.body.id,
				type: "http.call",
				status: "succeeded",
				executionId: submitted.body.executionId,
				attempts: 1,
				dedupeKey: null,
				lastError: null,
				result: { status: 200 },
				requestId: submitted.body.requestId,
				createdAt: submitted.body.createdAt,
			})
			expect(fetched.body.finishedAt).not.toBeNull()
			expect(fetched.body.attemptLog).toEqual([{ run: 0, attempt: 1, at: expect.any(String), error: null }])
			expect(Object.keys(fetched.body)).not.toContain("payload")
		}, 60_000)

		it("cancelling a succeeded job → 409 InvalidTransition; the job stays succeeded", async () => {
			const submitted = await submitOne(httpCall(target("/ok", "cancel-done")))
			expect((await settle(submitted.body.id)).status).toBe("succeeded")
			const cancel = await jobsRequest(`/jobs/${submitted.body.id}/cancel`, { method: "POST" })
			expect(cancel.status).toBe(409)
			expect(await cancel.json()).toMatchObject({ _tag: "InvalidTransition" })
			expect((await getJob(submitted.body.id)).body.status).toBe("succeeded")
		}, 60_000)

		it("cancelling a running job → cancelled; it stays cancelled, with no DLQ row and no further deliveries", async () => {
			const submitted = await submitOne(httpCall(target("/hang", "cancel-running")))
			const running = await waitFor(
				() => getJob(submitted.body.id).then((job) => job.body.status === "running"),
				30_000,
				100,
			)
			expect(running).toBe(true)
			const cancel = await jobsRequest(`/jobs/${submitted.body.id}/cancel`, { method: "POST" })
			expect(cancel.ok).toBe(true)
			expect(await cancel.json()).toMatchObject({ id: submitted.body.id, status: "cancelled" })
			const atCancel = deliveriesOf("cancel-running").length
			// Longer than the remaining attempts would have taken (maxAttempts × 1 s timeout plus backoff). At most one
			// attempt racing the cancel may still start; the rest must not.
			await sleep(maxAttempts * 1_000 + 2_000)
			expect.soft(deliveriesOf("cancel-running").length).toBeLessThanOrEqual(atCancel + 1)
			expect.soft(await dlqRows(submitted.body.id)).toEqual([])
			const job = await getJob(submitted.body.id)
			expect(job.body.status).toBe("cancelled")
			expect(job.body.finishedAt).not.toBeNull()
			const again = await jobsRequest(`/jobs/${submitted.body.id}/cancel`, { method: "POST" })
			expect(again.status).toBe(409)
			expect(await again.json()).toMatchObject({ _tag: "InvalidTransition" })
		}, 60_000)

		it("an unknown job id → 404 JobNotFound (also for cancel and for an id that is not a UUID)", async () => {
			const unknown = await getJob(crypto.randomUUID())
			expect(unknown.status).toBe(404)
			expect(unknown.body).toMatchObject({ _tag: "JobNotFound" })
			const notUuid = await getJob("not-a-uuid")
			expect(notUuid.status).toBe(404)
			expect(notUuid.body).toMatchObject({ _tag: "JobNotFound" })
			const cancel = await jobsRequest(`/jobs/${crypto.randomUUID()}/cancel`, { method: "POST" })
			expect(cancel.status).toBe(404)
			expect(await cancel.json()).toMatchObject({ _tag: "JobNotFound" })
		})

		it("?status=succeeded lists only succeeded jobs; ?status=dead_lettered only dead-lettered ones", async () => {
			const ok = await submitOne(httpCall(target("/ok", "list-ok")))
			const gone = await submitOne(httpCall(target("/gone", "list-gone")))
			expect((await settle(ok.body.id)).status).toBe("succeeded")
			expect((await settle(gone.body.id)).status).toBe("dead_lettered")
			const succeeded = await listAll("status=succeeded")
			expect(succeeded.every((job) => job.status === "succeeded")).toBe(true)
			expect(succeeded.map((job) => job.id)).toContain(ok.body.id)
			expect(succeeded.map((job) => job.id)).not.toContain(gone.body.id)
			const deadLettered = await listAll("status=dead_lettered")
			expect(deadLettered.every((job) => job.status === "dead_lettered")).toBe(true)
			expect(deadLettered.map((job) => job.id)).toContain(gone.body.id)
			expect(deadLettered.map((job) => job.id)).not.toContain(ok.body.id)
			const all = await listAll("type=http.call")
			expect(all.map((job) => job.id)).toEqual(expect.arrayContaining([ok.body.id, gone.body.id]))
			expect(new Set(all.map((job) => job.id)).size).toBe(all.length)
			const bad = await jobsRequest("/jobs?status=nope")
			expect(bad.status).toBe(400)
			expect(await bad.json()).toMatchObject({ _tag: "ValidationError" })
		}, 60_000)

		it("tenant isolation: tenant A's job is 404 JobNotFound for tenant B and absent from B's list", async () => {
			const submitted = await submitOne(httpCall(target("/ok", "isolated")))
			expect((await settle(submitted.body.id)).status).toBe("succeeded")
			const asB = await getJob(submitted.body.id, tenantB)
			expect(asB.status).toBe(404)
			expect(asB.body).toMatchObject({ _tag: "JobNotFound" })
			const cancelAsB = await jobsRequest(`/jobs/${submitted.body.id}/cancel`, { method: "POST", appId: tenantB })
			expect(cancelAsB.status).toBe(404)
			expect(await cancelAsB.json()).toMatchObject({ _tag: "JobNotFound" })
			const listB = await listAll("type=http.call", tenantB)
			expect(listB.map((job) => job.id)).not.toContain(submitted.body.id)
			const listBySlug = await listAll("status=succeeded", "jobs-b")
			expect(listBySlug.map((job) => job.id)).not.toContain(submitted.body.id)
			expect((await getJob(submitted.body.id, "jobs-a")).body.status).toBe("succeeded")
		}, 60_000)
	})

	describe("bad input", () => {
		it("a missing or wrong bearer → 401 Unauthorized", async () => {
			const missing = await fetch(`${platform.baseUrl}/v1/jobs`, {
				method: "POST",
				headers: { "x-app-id": tenantA, "content-type": "application/json" },
				body: encodeJson(httpCall(target("/ok", "unauthorized"))),
			})
			const wrong = await jobsRequest("/jobs", { headers: { authorization: "Bearer nope" } })
			const listMissing = await fetch(`${platform.baseUrl}/v1/jobs`, { headers: { "x-app-id": tenantA } })
			for (const response of [missing, wrong, listMissing]) {
				expect(response.status).toBe(401)
				expect(await response.json()).toMatchObject({ _tag: "Unauthorized" })
			}
			expect(deliveriesOf("unauthorized")).toEqual([])
		})

		it("an unknown type → 400 UnknownJobType", async () => {
			const single = await submit({ type: "smtp.send", payload: { url: target("/ok", "unknown-type") } })
			expect(single.status).toBe(400)
			expect(single.body).toMatchObject({ _tag: "UnknownJobType" })
			const inArray = await submit([
				httpCall(target("/ok", "unknown-type")),
				{ type: "nope", payload: { url: target("/ok", "unknown-type") } },
			])
			expect(inArray.status).toBe(400)
			expect(inArray.body).toMatchObject({ _tag: "UnknownJobType" })
			await sleep(500)
			expect(deliveriesOf("unknown-type")).toEqual([])
		})

		it("a payload url that is not a string → 400 ValidationError naming payload.url", async () => {
			const response = await submit({ type: "http.call", payload: { url: 5 } })
			const body = response.body as ErrorBody
			expect(response.status).toBe(400)
			expect(body._tag).toBe("ValidationError")
			expect(body.message).toContain("payload.url")
			expect(body.issues?.map((issue) => issue.path)).toContainEqual(["payload", "url"])
		})

		it("private and non-allow-listed destinations → 400 DestinationNotAllowed; nothing reaches the receiver", async () => {
			const before = deliveries.length
			const cases = [
				"http://10.0.0.1/ok?tag=denied",
				`http://localhost:${receiverPort}/ok?tag=denied`,
				`http://[::1]:${receiverPort}/ok?tag=denied`,
			]
			for (const url of cases) {
				const response = await submit(httpCall(url))
				expect(response.status, url).toBe(400)
				expect(response.body, url).toMatchObject({ _tag: "DestinationNotAllowed" })
				// It tells the operator which setting lets a non-public host through.
				expect((response.body as ErrorBody).message, url).toContain("JOBS_HTTP_ALLOWED_HOSTS")
			}
			await sleep(1_000)
			expect(deliveriesOf("denied")).toEqual([])
			expect(deliveries.slice(before).filter((delivery) => delivery.tag === "denied")).toEqual([])
		})

		it("an array of 1000 valid jobs → 202 with 1000 distinct jobs, all delivered", async () => {
			const jobs = Array.from({ length: 1000 }, (_, index) => httpCall(target("/ok", `bulk-${index}`)))
			const response = await submit(jobs, { "x-request-id": "bulk-ok" })
			expect(response.status, String(encodeJson(response.body)).slice(0, 500)).toBe(202)
			const items = response.body as Array<JobBody>
			expect(items).toHaveLength(1000)
			expect(new Set(items.map((item) => item.id)).size).toBe(1000)
			expect(items.every((item) => item.requestId === "bulk-ok" && item.type === "http.call")).toBe(true)
			const count = (status: string) =>
				query<{ count: number }>(
					"SELECT count(*)::int AS count FROM jobs WHERE request_id = 'bulk-ok' AND status = $1",
					[status],
				).then((rows) => rows[0]?.count ?? 0)
			// Let the batch drain so later tests do not compete with it; then every job has succeeded.
			const drained = await waitFor(() => count("succeeded").then((n) => n === 1000), 240_000, 1_000)
			expect(drained, `${await count("succeeded")} of 1000 succeeded`).toBe(true)
			const bulkKeys = new Set(
				deliveries.filter((delivery) => delivery.tag.startsWith("bulk-")).map((d) => d.idempotencyKey),
			)
			expect(bulkKeys).toEqual(new Set(items.map((item) => item.id)))
		}, 300_000)

		it("an array of 1000 whose item 999 is invalid → 400 naming index 999; no job row was created", async () => {
			const jobs = [
				...Array.from({ length: 999 }, (_, index) => httpCall(target("/ok", `bulk-bad-${index}`))),
				{ type: "http.call", payload: { url: 5 } },
			]
			const response = await submit(jobs, { "x-request-id": "bulk-bad" })
			const body = response.body as ErrorBody
			expect(response.status).toBe(400)
			expect(body._tag).toBe("ValidationError")
			expect(body.message).toContain("999")
			expect(body.issues?.map((issue) => issue.path.map(String))).toContainEqual(["999", "payload", "url"])
			const rows = await query<{ count: number }>(
				"SELECT count(*)::int AS count FROM jobs WHERE request_id = 'bulk-bad'",
			)
			expect(rows).toEqual([{ count: 0 }])
			await sleep(500)
			expect(deliveries.filter((delivery) => delivery.tag.startsWith("bulk-bad-"))).toEqual([])
		}, 120_000)
	})
	// Two users of one tenant (each with a session and an API key) and the tenant's service principal (ADMIN_TOKEN).
	describe("ownership", () => {
		let idp: OidcProviderHandle
		let slug = ""
		let tenantId = ""
		const users: Record<"alice" | "bob", { id: string; session: string; key: string; keyId: string }> = {
			alice: { id: "", session: "", key: "", keyId: "" },
			bob: { id: "", session: "", key: "", keyId: "" },
		}

		const as = (credential: string, path: string, body?: unknown, method?: string) =>
			authed(platform.baseUrl, slug, credential, path, {
				method: method ?? (body === undefined ? "GET" : "POST"),
				...(body === undefined ? {} : { body: String(encodeJson(body)) }),
			}).then(async (response) => ({
				status: response.status,
				body: (await response.json()) as JobBody & ErrorBody,
			}))

		const listAs = async (credential: string) => {
			const response = await as(credential, "/jobs?type=http.call&limit=100")
			expect(response.status).toBe(200)
			return (response.body as unknown as { items: Array<JobBody> }).items.map((job) => job.id)
		}

		beforeAll(async () => {
			idp = await startOidcProvider({ clients: [] })
			const made = await setUpTenant({
				baseUrl: platform.baseUrl,
				adminToken: platform.adminToken,
				idp,
				slug: "jobs-owners",
			})
			expect(made.putStatus).toBe(200)
			slug = made.tenant.slug
			tenantId = made.tenant.id
			for (const name of ["alice", "bob"] as const) {
				idp.signInAs({ sub: `${name}-sub`, email: `${name}@example.com`, name })
				const signedIn = await signIn(platform.baseUrl, slug)
				expect(signedIn.status, signedIn.text).toBe(200)
				const session = signedIn.body?.token ?? ""
				const created = await authed(platform.baseUrl, slug, session, "/api-keys", {
					method: "POST",
					body: `{"name":"${name}-key"}`,
				})
				expect(created.status).toBe(201)
				const key = (await created.json()) as { id: string; key: string }
				users[name] = { id: signedIn.body?.user.id ?? "", session, key: key.key, keyId: key.id }
			}
		}, 120_000)

		afterAll(async () => {
			await idp?.stop()
		})

		it("a user sees and cancels only their own jobs (another's is 404 like an unknown id); the service principal sees all", async () => {
			const { alice, bob } = users
			const aliceJob = await as(alice.key, "/jobs", httpCall(target("/hang", "own-alice")))
			expect(aliceJob.status).toBe(202)
			expect(aliceJob.body).toMatchObject({ owner: `user:${alice.id}`, ownerKeyId: alice.keyId })
			const bobJob = await as(bob.key, "/jobs", httpCall(target("/ok", "own-bob")))
			expect(bobJob.status).toBe(202)
			expect(bobJob.body).toMatchObject({ owner: `user:${bob.id}`, ownerKeyId: bob.keyId })
			const serviceJob = await as(platform.adminToken, "/jobs", httpCall(target("/ok", "own-service")))
			expect(serviceJob.status).toBe(202)
			expect(serviceJob.body).toMatchObject({ owner: "service", ownerKeyId: null })

			const unknown = await as(bob.key, `/jobs/${crypto.randomUUID()}`)
			expect(unknown.status).toBe(404)
			for (const credential of [bob.key, bob.session]) {
				const read = await as(credential, `/jobs/${aliceJob.body.id}`)
				expect(read).toEqual(unknown)
				const cancel = await as(credential, `/jobs/${aliceJob.body.id}/cancel`, undefined, "POST")
				expect(cancel).toEqual(unknown)
				expect(await as(credential, `/jobs/${serviceJob.body.id}`)).toEqual(unknown)
			}
			expect(["queued", "running"]).toContain((await as(alice.key, `/jobs/${aliceJob.body.id}`)).body.status)

			// The same user through another credential (the session behind the key) sees the job.
			expect((await as(alice.session, `/jobs/${aliceJob.body.id}`)).status).toBe(200)
			const aliceList = await listAs(alice.session)
			expect(aliceList).toContain(aliceJob.body.id)
			expect(aliceList).not.toContain(bobJob.body.id)
			expect(aliceList).not.toContain(serviceJob.body.id)
			const bobList = await listAs(bob.key)
			expect(bobList).toEqual([bobJob.body.id])

			const serviceList = await listAs(platform.adminToken)
			expect(serviceList).toEqual(expect.arrayContaining([aliceJob.body.id, bobJob.body.id, serviceJob.body.id]))
			expect((await as(platform.adminToken, `/jobs/${bobJob.body.id}`)).status).toBe(200)

			const cancelled = await as(alice.session, `/jobs/${aliceJob.body.id}/cancel`, undefined, "POST")
			expect(cancelled.status).toBe(200)
			expect(cancelled.body.status).toBe("cancelled")
			const rows = await query<{ id: string; owner: string; owner_key_id: string | null }>(
				"SELECT id, owner, owner_key_id FROM jobs WHERE app_id = $1 ORDER BY created_at",
				[tenantId],
			)
			expect(rows).toEqual(
				expect.arrayContaining([
					{ id: aliceJob.body.id, owner: `user:${alice.id}`, owner_key_id: alice.keyId },
					{ id: bobJob.body.id, owner: `user:${bob.id}`, owner_key_id: bob.keyId },
					{ id: serviceJob.body.id, owner: "service", owner_key_id: null },
				]),
			)
		}, 60_000)

		it("dedupe keys are per owner: the same key from another owner is another job", async () => {
			const { alice, bob } = users
			const submitWith = (credential: string) =>
				as(credential, "/jobs", httpCall(target("/ok", "own-dedupe"), { dedupeKey: "shared-key" }))
			const aliceFirst = await submitWith(alice.key)
			const bobFirst = await submitWith(bob.key)
			const serviceFirst = await submitWith(platform.adminToken)
			for (const submitted of [aliceFirst, bobFirst, serviceFirst]) expect(submitted.status).toBe(202)
			expect(new Set([aliceFirst.body.id, bobFirst.body.id, serviceFirst.body.id]).size).toBe(3)
			expect(bobFirst.body.owner).toBe(`user:${bob.id}`)
			expect(serviceFirst.body.owner).toBe("service")
			expect((await submitWith(alice.key)).body.id).toBe(aliceFirst.body.id)
			expect((await submitWith(bob.key)).body.id).toBe(bobFirst.body.id)
			expect((await submitWith(platform.adminToken)).body.id).toBe(serviceFirst.body.id)
			expect(
				await query("SELECT count(*)::int AS count FROM jobs WHERE app_id = $1 AND dedupe_key = 'shared-key'", [
					tenantId,
				]),
			).toEqual([{ count: 3 }])
		}, 60_000)

		it("http.call with a plain user session → 403 Forbidden, nothing created; allowed once the tenant sets allowUserHttpCalls", async () => {
			const { alice } = users
			const refused = await as(alice.session, "/jobs", httpCall(target("/ok", "own-session")))
			expect(refused.status).toBe(403)
			expect(refused.body).toMatchObject({ _tag: "Forbidden" })
			const refusedMany = await as(alice.session, "/jobs", [httpCall(target("/ok", "own-session"))])
			expect(refusedMany.status).toBe(403)
			const patched = await adminCall(
				platform.baseUrl,
				platform.adminToken,
				"PATCH",
				`/tenants/${tenantId}`,
				'{"settings":{"allowUserHttpCalls":true}}',
			)
			expect(patched.status).toBe(200)
			const allowed = await as(alice.session, "/jobs", httpCall(target("/ok", "own-session")))
			expect(allowed.status).toBe(202)
			expect(allowed.body).toMatchObject({ owner: `user:${alice.id}`, ownerKeyId: null })
			expect(
				await query(
					"SELECT count(*)::int AS count FROM jobs WHERE app_id = $1 AND owner_key_id IS NULL AND owner = $2",
					[tenantId, `user:${alice.id}`],
				),
			).toEqual([{ count: 1 }])
			const off = await adminCall(
				platform.baseUrl,
				platform.adminToken,
				"PATCH",
				`/tenants/${tenantId}`,
				'{"settings":{"allowUserHttpCalls":false}}',
			)
			expect(off.status).toBe(200)
			expect((await as(alice.session, "/jobs", httpCall(target("/ok", "own-session")))).status).toBe(403)
		}, 60_000)
	})
})
