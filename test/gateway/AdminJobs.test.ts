// /admin/v1/dlq and /admin/v1/workflows against the in-process platform and a local HTTP receiver on 127.0.0.1 whose
// behaviour is chosen by path: `/ok` → 200, `/fail` → 503, `/gone` → 410, `/hang` → never answers (until the test
// sets an answer for its tag), and `/switch?tag=…` → whatever the test set for that tag (503 until switched), so a
// dead-lettered job can be retried against a destination that has recovered. The DLQ watcher's cron is set to a date
// that never comes, so every retry seen here is the one the test asked for.
import { Schema } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { sleep, waitFor } from "../fixtures/Processes.ts"

// --- [CONSTANTS]

const Final = ["succeeded", "dead_lettered", "cancelled"]
const encodeJson = Schema.encodeSync(Schema.parseJson())
const secret = "secret-value"

// --- [TYPES]

type JobBody = {
	readonly id: string
	readonly type: string
	readonly status: string
	readonly executionId: string | null
	readonly attempts: number
	readonly finishedAt: string | null
	readonly result: unknown
	readonly attemptLog: ReadonlyArray<{
		readonly run: number
		readonly attempt: number
		readonly at: string
		readonly error: string | null
	}>
}

type DlqEntry = {
	readonly id: string
	readonly tenantId: string
	readonly jobId: string
	readonly type: string
	readonly reason: string
	readonly status: string
	readonly failures: number
	readonly failedAt: string
	readonly resolvedAt: string | null
	readonly lastError: string | null
	readonly executionId: string | null
	readonly retries: number
	readonly retriedAt: string | null
	readonly requestId: string | null
	readonly createdAt: string
}

type Execution = {
	readonly executionId: string
	readonly workflow: string
	readonly status: string
	readonly tenantId: string | null
	readonly jobId: string | null
	readonly requestId: string | null
	readonly startedAt: string
	readonly finishedAt: string | null
}

type Attempt = {
	readonly attempt: number
	readonly status: string
	readonly error: unknown
	readonly message: string | null
	readonly startedAt: string
	readonly finishedAt: string | null
}

type ExecutionDetail = Execution & {
	readonly payload: unknown
	readonly result: unknown
	readonly failure: string | null
	readonly activities: ReadonlyArray<{
		readonly name: string
		readonly compensation: boolean
		readonly attempts: ReadonlyArray<Attempt>
	}>
	readonly job: Record<string, unknown> | null
	readonly deadLetters: ReadonlyArray<DlqEntry>
}

type Page<A> = { readonly items: ReadonlyArray<A>; readonly nextCursor: string | null }

type ErrorBody = { readonly _tag: string; readonly message: string }

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let receiver: Server
let receiverUrl = ""
let tenantA = ""
let tenantB = ""
// Jobs dead-lettered in beforeAll: A → 503 on a switchable destination (with a secret header) and 410; B → 503.
let switchable: JobBody
let goneA: JobBody
let failingB: JobBody
const modes = new Map<string, number>()
// Responses of `/hang` requests, held open until a test releases them.
const hung: Array<ServerResponse> = []
const deliveries: Array<{ readonly path: string; readonly tag: string; readonly authorization: string | undefined }> =
	[]

// --- [FUNCTIONS]

const respond = (response: ServerResponse, status: number) =>
	response.writeHead(status, { "content-type": "text/plain" }).end(String(status))

const handle = (request: IncomingMessage, response: ServerResponse) => {
	const url = new URL(request.url ?? "/", "http://receiver")
	const tag = url.searchParams.get("tag") ?? ""
	deliveries.push({ path: url.pathname, tag, authorization: request.headers.authorization })
	request.resume()
	return url.pathname === "/ok"
		? respond(response, 200)
		: url.pathname === "/fail"
			? respond(response, 503)
			: url.pathname === "/gone"
				? respond(response, 410)
				: url.pathname === "/hang"
					? modes.has(tag)
						? respond(response, modes.get(tag) ?? 503)
						: hung.push(response)
					: url.pathname === "/switch"
						? respond(response, modes.get(tag) ?? 503)
						: respond(response, 404)
}

const target = (path: string, tag: string) => `${receiverUrl}${path}?tag=${tag}`

const admin = (path: string, init: RequestInit = {}) =>
	fetch(`${platform.baseUrl}/admin/v1${path}`, {
		...init,
		headers: {
			authorization: `Bearer ${platform.adminToken}`,
			"content-type": "application/json",
			...init.headers,
		},
	})

const adminJson = async <A>(path: string, init: RequestInit = {}) => {
	const response = await admin(path, init)
	return { status: response.status, body: (await response.json()) as A }
}

const submit = async (appId: string, payload: Record<string, unknown>) => {
	const response = await fetch(`${platform.baseUrl}/v1/jobs`, {
		method: "POST",
		headers: {
			authorization: `Bearer ${platform.adminToken}`,
			"x-app-id": appId,
			"content-type": "application/json",
		},
		body: encodeJson({ type: "http.call", payload }),
	})
	const body = (await response.json()) as JobBody
	expect(response.status, String(encodeJson(body))).toBe(202)
	return body
}

const getJob = async (appId: string, id: string) => {
	const response = await fetch(`${platform.baseUrl}/v1/jobs/${id}`, {
		headers: { authorization: `Bearer ${platform.adminToken}`, "x-app-id": appId },
	})
	return (await response.json()) as JobBody
}

// Polls the job until it reaches a final status or the deadline passes.
const settle = async (appId: string, id: string, timeoutMs = 45_000) => {
	const deadline = Date.now() + timeoutMs
	let job = await getJob(appId, id)
	while (!Final.includes(job.status) && Date.now() < deadline) {
		await sleep(200)
		job = await getJob(appId, id)
	}
	return job
}

const createTenant = async (slug: string) => {
	const created = await adminJson<{ id: string }>("/tenants", {
		method: "POST",
		body: encodeJson({ slug, name: slug }),
	})
	expect(created.status).toBe(201)
	return created.body.id
}

const query = async <A>(text: string, params: Array<unknown> = []) => {
	const client = new pg.Client({ connectionString: platform.databaseUrl })
	await client.connect()
	return client
		.query(text, params)
		.then((result) => result.rows as Array<A>)
		.finally(() => client.end())
}

// Every page of an admin list, following nextCursor (at most `maxPages`); also answers how many pages it took.
const listAll = async <A>(path: string, search: string, limit = 100, maxPages = 50) => {
	const items: Array<A> = []
	let cursor: string | null = ""
	let pages = 0
	while (cursor !== null && pages < maxPages) {
		const page: { status: number; body: Page<A> } = await adminJson<Page<A>>(
			`${path}?${search}&limit=${limit}${cursor === "" ? "" : `&cursor=${encodeURIComponent(cursor)}`}`,
		)
		expect(page.status, String(encodeJson(page.body))).toBe(200)
		expect(page.body.items.length).toBeLessThanOrEqual(limit)
		items.push(...page.body.items)
		cursor = page.body.nextCursor
		pages += 1
	}
	return { items, pages }
}

const dlqOf = async (search: string) => (await listAll<DlqEntry>("/dlq", search)).items

const entryOf = async (jobId: string, appId: string) => {
	const entries = (await dlqOf(`tenant=${appId}`)).filter((entry) => entry.jobId === jobId)
	expect(entries).toHaveLength(1)
	return entries[0] as DlqEntry
}

const executionsOf = async (search: string) => (await listAll<Execution>("/workflows", search)).items

const auditOf = (subjectId: string) =>
	query<{ operation: string; subject_type: string; app_id: string; actor: string; request_id: string | null }>(
		"SELECT operation, subject_type, app_id, actor, request_id FROM audit_logs WHERE subject_id = $1 ORDER BY id",
		[subjectId],
	)

// --- [SUITE]

beforeAll(async () => {
	receiver = createServer(handle)
	await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", () => resolve()))
	const address = receiver.address()
	receiverUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
	platform = await startPlatform({
		JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1",
		JOBS_HTTP_MAX_ATTEMPTS: "2",
		JOBS_HTTP_BACKOFF_BASE: "100 millis",
		// Long enough that a hanging destination keeps its execution running until the test interrupts it.
		JOBS_HTTP_TIMEOUT: "10 minutes",
		// Effectively never (midnight of January 1st), so the watcher does not retry entries behind the tests' backs.
		JOBS_DLQ_WATCH_CRON: "0 0 0 1 1 *",
	})
	expect(platform.ready).toBe(true)
	tenantA = await createTenant("admin-jobs-a")
	tenantB = await createTenant("admin-jobs-b")
	const submitted = await Promise.all([
		submit(tenantA, { url: target("/switch", "retry-me"), headers: { authorization: `Bearer ${secret}` } }),
		submit(tenantA, { url: target("/gone", "gone-a") }),
		submit(tenantB, { url: target("/fail", "fail-b") }),
	])
	const settled = await Promise.all([
		settle(tenantA, submitted[0].id),
		settle(tenantA, submitted[1].id),
		settle(tenantB, submitted[2].id),
	])
	expect(settled.map((job) => job.status)).toEqual(["dead_lettered", "dead_lettered", "dead_lettered"])
	switchable = settled[0] as JobBody
	goneA = settled[1] as JobBody
	failingB = settled[2] as JobBody
}, 180_000)

afterAll(async () => {
	receiver?.closeAllConnections()
	await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())))
	await platform?.stop()
}, 60_000)

describe("admin: dlq and workflows", () => {
	describe("dlq", () => {
		it("lists entries with the job's reason, error and execution; reason, tenant and type filters return only matching entries", async () => {
			const all = await dlqOf("type=http.call")
			expect(all.every((entry) => entry.type === "http.call")).toBe(true)
			const byJob = new Map(all.map((entry) => [entry.jobId, entry]))
			expect(byJob.get(switchable.id)).toMatchObject({
				tenantId: tenantA,
				type: "http.call",
				reason: "MaxAttemptsExceeded",
				status: "open",
				failures: 1,
				executionId: switchable.executionId,
				retries: 0,
				retriedAt: null,
				resolvedAt: null,
			})
			expect(byJob.get(switchable.id)?.lastError).toBe("503 from the destination")
			expect(byJob.get(goneA.id)).toMatchObject({ tenantId: tenantA, reason: "NonRetryable", retries: 0 })
			expect(byJob.get(failingB.id)).toMatchObject({ tenantId: tenantB, reason: "MaxAttemptsExceeded" })
			// One reason field, and the tenant as `tenantId`.
			expect(all.filter((entry) => "errorReason" in entry || "appId" in entry)).toEqual([])

			const nonRetryable = await dlqOf("reason=NonRetryable")
			expect(nonRetryable.every((entry) => entry.reason === "NonRetryable")).toBe(true)
			expect(nonRetryable.map((entry) => entry.jobId)).toContain(goneA.id)
			expect(nonRetryable.map((entry) => entry.jobId)).not.toContain(switchable.id)

			const ofB = await dlqOf(`tenant=${tenantB}`)
			expect(ofB.map((entry) => entry.jobId)).toEqual([failingB.id])
			expect(ofB.every((entry) => entry.tenantId === tenantB)).toBe(true)

			const ofA = await dlqOf(`tenant=${tenantA}&reason=MaxAttemptsExceeded`)
			expect(ofA.map((entry) => entry.jobId)).toEqual([switchable.id])

			expect(await dlqOf("type=tenant.delete")).toEqual([])
			// A tenant that does not exist is 404, never an empty list (CONTRACT: tenants named by id or slug).
			const unknownTenant = await adminJson<ErrorBody>(`/dlq?tenant=${crypto.randomUUID()}`)
			expect([unknownTenant.status, unknownTenant.body._tag]).toEqual([404, "TenantNotFound"])

			// One entry per page, in a stable order, without repeats.
			const paged = await listAll<DlqEntry>("/dlq", `tenant=${tenantA}`, 1)
			expect(paged.items.map((entry) => entry.jobId).sort()).toEqual([switchable.id, goneA.id].sort())
			expect(paged.pages).toBeGreaterThanOrEqual(2)

			const badReason = await adminJson<ErrorBody>("/dlq?reason=Nope")
			expect(badReason.status).toBe(400)
			const badTenant = await adminJson<ErrorBody>("/dlq?tenant=Not_A_Slug!")
			expect(badTenant.status).toBe(400)
		})

		it("retry requeues the job as a new execution that succeeds once the destination recovers; the entry counts the retry; an audit row records it", async () => {
			const entry = await entryOf(switchable.id, tenantA)
			modes.set("retry-me", 200)
			const retried = await adminJson<{ entry: DlqEntry; job: JobBody }>(`/dlq/${entry.id}/retry`, {
				method: "POST",
				headers: { "x-request-id": "dlq-retry-1" },
			})
			expect(retried.status, String(encodeJson(retried.body))).toBe(200)
			expect(retried.body.entry).toMatchObject({
				id: entry.id,
				tenantId: tenantA,
				jobId: switchable.id,
				retries: 1,
				status: "retrying",
			})
			expect(retried.body.entry.retriedAt).not.toBeNull()
			expect(retried.body.job).toMatchObject({ id: switchable.id, status: "queued" })
			expect(retried.body.job.executionId).not.toBeNull()
			expect(retried.body.job.executionId).not.toBe(switchable.executionId)

			const job = await settle(tenantA, switchable.id)
			expect(job.status).toBe("succeeded")
			expect(job.executionId).toBe(retried.body.job.executionId)
			// The destination's answer, and every attempt of both runs with what went wrong in it.
			expect(job.result).toEqual({ status: 200 })
			expect(job.attemptLog.map(({ run, attempt, error }) => [run, attempt, error])).toEqual([
				[0, 1, "503 from the destination"],
				[0, 2, "503 from the destination"],
				[1, 1, null],
			])
			expect(job.attemptLog.every((entry) => !Number.isNaN(Date.parse(entry.at)))).toBe(true)
			const deliveredOk = deliveries.filter((delivery) => delivery.tag === "retry-me")
			// Two failed attempts of the first run, then one delivery of the new run.
			expect(deliveredOk).toHaveLength(3)

			// The entry stays (it records the failed run) with retries 1, resolved by the retry's success; no new entry
			// appeared for the job.
			const resolved = await entryOf(switchable.id, tenantA)
			expect(resolved).toMatchObject({ id: entry.id, retries: 1, failures: 1, status: "resolved" })
			expect(resolved.resolvedAt).not.toBeNull()
			expect((await dlqOf(`tenant=${tenantA}&status=open`)).map((one) => one.jobId)).not.toContain(switchable.id)

			// The job is marked succeeded by the workflow's last activity, just before the execution itself completes.
			const executionsOfJob = async () =>
				(await executionsOf(`tenant=${tenantA}&name=HttpCall`)).filter(
					(execution) => execution.jobId === switchable.id,
				)
			await waitFor(
				async () => (await executionsOfJob()).every((execution) => execution.status !== "running"),
				30_000,
			)
			const executions = await executionsOfJob()
			expect(executions.map((execution) => execution.executionId).sort()).toEqual(
				[switchable.executionId, retried.body.job.executionId].sort(),
			)
			expect(
				Object.fromEntries(executions.map((execution) => [execution.executionId, execution.status])),
			).toEqual({
				[String(switchable.executionId)]: "failed",
				[String(retried.body.job.executionId)]: "succeeded",
			})

			expect(await auditOf(entry.id)).toEqual([
				{ operation: "retry", subject_type: "dlq", app_id: tenantA, actor: "admin", request_id: "dlq-retry-1" },
			])
		}, 90_000)

		it("drop deletes the entry (then 404 DlqEntryNotFound for drop and retry); an audit row records it", async () => {
			const entry = await entryOf(goneA.id, tenantA)
			const dropped = await adminJson<DlqEntry>(`/dlq/${entry.id}`, { method: "DELETE" })
			expect(dropped.status).toBe(200)
			expect(dropped.body).toMatchObject({
				id: entry.id,
				tenantId: tenantA,
				jobId: goneA.id,
				reason: "NonRetryable",
			})
			const again = await adminJson<ErrorBody>(`/dlq/${entry.id}`, { method: "DELETE" })
			expect(again.status).toBe(404)
			expect(again.body).toMatchObject({ _tag: "DlqEntryNotFound" })
			const retry = await adminJson<ErrorBody>(`/dlq/${entry.id}/retry`, { method: "POST" })
			expect(retry.status).toBe(404)
			expect(retry.body).toMatchObject({ _tag: "DlqEntryNotFound" })
			expect((await dlqOf(`tenant=${tenantA}`)).map((one) => one.id)).not.toContain(entry.id)
			expect(await query("SELECT id FROM job_dlq WHERE id = $1", [entry.id])).toEqual([])
			// The job itself stays dead-lettered.
			expect((await getJob(tenantA, goneA.id)).status).toBe("dead_lettered")
			expect(await auditOf(entry.id)).toEqual([
				{
					operation: "drop",
					subject_type: "dlq",
					app_id: tenantA,
					actor: "admin",
					request_id: expect.any(String),
				},
			])
		})

		it("an unknown DLQ id → 404 DlqEntryNotFound for retry and drop (also when it is not a UUID)", async () => {
			for (const id of [crypto.randomUUID(), "not-a-uuid"]) {
				const retry = await adminJson<ErrorBody>(`/dlq/${id}/retry`, { method: "POST" })
				const drop = await adminJson<ErrorBody>(`/dlq/${id}`, { method: "DELETE" })
				expect([retry.status, drop.status], id).toEqual([404, 404])
				expect(retry.body).toMatchObject({ _tag: "DlqEntryNotFound" })
				expect(drop.body).toMatchObject({ _tag: "DlqEntryNotFound" })
			}
		})

		it("a retried job that fails again reopens its one entry (failures 2), with no second entry", async () => {
			const entry = await entryOf(failingB.id, tenantB)
			const retried = await adminJson<{ entry: DlqEntry; job: JobBody }>(`/dlq/${entry.id}/retry`, {
				method: "POST",
			})
			expect(retried.status, String(encodeJson(retried.body))).toBe(200)
			expect(retried.body.entry).toMatchObject({ id: entry.id, tenantId: tenantB, status: "retrying" })
			const reopened = await waitFor(async () => {
				const current = await entryOf(failingB.id, tenantB)
				return current.status === "open" && current.failures === 2
			}, 45_000)
			expect(reopened, String(encodeJson(await dlqOf(`tenant=${tenantB}`)))).toBe(true)
			const current = await entryOf(failingB.id, tenantB)
			expect(current).toMatchObject({
				id: entry.id,
				reason: "MaxAttemptsExceeded",
				retries: 1,
				executionId: retried.body.job.executionId,
				resolvedAt: null,
			})
			expect(Date.parse(current.failedAt)).toBeGreaterThan(Date.parse(entry.failedAt))
			expect((await settle(tenantB, failingB.id)).status).toBe("dead_lettered")
			expect(await query("SELECT id FROM job_dlq WHERE job_id = $1", [failingB.id])).toEqual([{ id: entry.id }])
		}, 90_000)
	})

	describe("workflows", () => {
		it("lists executions filtered by name, status and tenant, and paginates with the cursor", async () => {
			// A TenantDelete execution, so that the name filter has something to leave out.
			const doomed = await createTenant("admin-jobs-doomed")
			const deleted = await admin(`/tenants/${doomed}`, { method: "DELETE" })
			expect(deleted.status).toBe(202)
			const tenantDeletes = async () => executionsOf(`name=TenantDelete&tenant=${doomed}`)
			expect(await waitFor(async () => (await tenantDeletes()).length === 1, 30_000)).toBe(true)
			expect((await tenantDeletes())[0]).toMatchObject({ workflow: "TenantDelete", tenantId: doomed })

			const httpCalls = await executionsOf("name=HttpCall")
			expect(httpCalls.length).toBeGreaterThanOrEqual(3)
			expect(httpCalls.every((execution) => execution.workflow === "HttpCall")).toBe(true)
			expect(httpCalls.map((execution) => execution.tenantId)).not.toContain(doomed)
			const deletes = await executionsOf("name=TenantDelete")
			expect(deletes.every((execution) => execution.workflow === "TenantDelete")).toBe(true)
			expect(deletes.map((execution) => execution.tenantId)).toContain(doomed)

			const failed = await executionsOf("status=failed")
			expect(failed.every((execution) => execution.status === "failed")).toBe(true)
			expect(failed.map((execution) => execution.jobId)).toEqual(expect.arrayContaining([goneA.id, failingB.id]))
			const succeeded = await executionsOf("status=succeeded&name=HttpCall")
			expect(succeeded.every((execution) => execution.status === "succeeded")).toBe(true)
			expect(succeeded.map((execution) => execution.jobId)).not.toContain(goneA.id)

			const ofB = await executionsOf(`tenant=${tenantB}`)
			// Both runs of B's one job (the DLQ retry above started the second).
			expect(ofB.map(({ workflow, tenantId, jobId }) => ({ workflow, tenantId, jobId }))).toEqual([
				{ workflow: "HttpCall", tenantId: tenantB, jobId: failingB.id },
				{ workflow: "HttpCall", tenantId: tenantB, jobId: failingB.id },
			])
			expect(await executionsOf(`tenant=${tenantB}&status=succeeded`)).toEqual([])
			const unknownTenant = await adminJson<ErrorBody>(`/workflows?tenant=${crypto.randomUUID()}`)
			expect([unknownTenant.status, unknownTenant.body._tag]).toEqual([404, "TenantNotFound"])

			// Pages of one, newest first, cover exactly what one big page holds.
			const whole = await executionsOf(`tenant=${tenantA}`)
			expect(whole.length).toBeGreaterThanOrEqual(2)
			const paged = await listAll<Execution>("/workflows", `tenant=${tenantA}`, 1)
			expect(paged.pages).toBeGreaterThanOrEqual(whole.length)
			expect(paged.items.map((execution) => execution.executionId)).toEqual(
				whole.map((execution) => execution.executionId),
			)
			const started = paged.items.map((execution) => Date.parse(execution.startedAt))
			expect(started).toEqual([...started].sort((a, b) => b - a))

			// since/until bound the start time.
			const future = await executionsOf(
				`since=${encodeURIComponent(new Date(Date.now() + 60_000).toISOString())}`,
			)
			expect(future).toEqual([])
			const past = await executionsOf(
				`until=${encodeURIComponent(new Date(Date.now() - 3_600_000).toISOString())}`,
			)
			expect(past).toEqual([])

			const badStatus = await adminJson<ErrorBody>("/workflows?status=sleeping")
			expect(badStatus.status).toBe(400)
		}, 60_000)

		it("shows a failed HttpCall execution: activities with attempts, redacted headers, its job and dead letters", async () => {
			const entry = await entryOf(switchable.id, tenantA)
			const response = await admin(`/workflows/${switchable.executionId}`)
			const text = await response.text()
			expect(response.status, text).toBe(200)
			expect(text).not.toContain(secret)
			const detail = Schema.decodeUnknownSync(Schema.parseJson())(text) as ExecutionDetail
			expect(detail).toMatchObject({
				executionId: switchable.executionId,
				workflow: "HttpCall",
				status: "failed",
				tenantId: tenantA,
				jobId: switchable.id,
			})
			expect(detail.finishedAt).not.toBeNull()
			expect(detail.payload).toMatchObject({
				jobId: switchable.id,
				request: { url: target("/switch", "retry-me"), headers: { authorization: "[redacted]" } },
			})
			expect(detail.result).not.toBeNull()
			expect(detail.failure).toBe("503 from the destination")
			const names = detail.activities.map((activity) => activity.name)
			expect(names).toEqual(expect.arrayContaining(["start", "deliver", "dead-letter"]))
			expect(names).not.toContain("succeed")
			expect(detail.activities.every((activity) => !activity.compensation)).toBe(true)
			const deliver = detail.activities.find((activity) => activity.name === "deliver")
			expect(deliver?.attempts.map((attempt) => [attempt.attempt, attempt.status])).toEqual([
				[1, "failed"],
				[2, "failed"],
			])
			expect(deliver?.attempts.every((attempt) => attempt.error !== null && attempt.finishedAt !== null)).toBe(
				true,
			)
			expect(String(encodeJson(deliver?.attempts[0]?.error))).toContain("503")
			expect(deliver?.attempts.map((attempt) => attempt.message)).toEqual([
				"503 from the destination",
				"503 from the destination",
			])
			const deadLetter = detail.activities.find((activity) => activity.name === "dead-letter")
			expect(deadLetter?.attempts.map((attempt) => attempt.status)).toEqual(["succeeded"])
			expect(detail.job).toMatchObject({ id: switchable.id, type: "http.call" })
			expect(detail.deadLetters).toEqual([expect.objectContaining({ id: entry.id, tenantId: tenantA })])

			// The redaction holds for every admin view of the job, and the destination did receive the real header.
			const lists = await Promise.all([
				admin(`/workflows?tenant=${tenantA}`).then((res) => res.text()),
				admin(`/dlq?tenant=${tenantA}`).then((res) => res.text()),
			])
			expect(lists.filter((body) => body.includes(secret))).toEqual([])
			expect(deliveries.find((delivery) => delivery.tag === "retry-me")?.authorization).toBe(`Bearer ${secret}`)
		})

		it("an unknown execution → 404 ExecutionNotFound for show, resume and interrupt", async () => {
			const unknown = `unknown-${crypto.randomUUID()}`
			const responses = [
				await admin(`/workflows/${unknown}`),
				await admin(`/workflows/${unknown}/resume`, { method: "POST" }),
				await admin(`/workflows/${unknown}/interrupt`, { method: "POST" }),
			]
			expect(responses.map((response) => response.status)).toEqual([404, 404, 404])
			for (const response of responses) {
				expect(await response.json()).toMatchObject({ _tag: "ExecutionNotFound" })
			}
		})

		it("interrupting a running execution (its destination hangs) answers 200 with the execution's summary", async () => {
			const hanging = await submit(tenantA, { url: target("/hang", "hang") })
			const running = await waitFor(
				async () =>
					(await executionsOf(`tenant=${tenantA}&status=running`)).some(
						(execution) => execution.executionId === hanging.executionId,
					) && deliveries.some((delivery) => delivery.tag === "hang"),
				30_000,
			)
			expect(running).toBe(true)
			const interrupted = await adminJson<Execution>(`/workflows/${hanging.executionId}/interrupt`, {
				method: "POST",
			})
			expect(interrupted.status, String(encodeJson(interrupted.body))).toBe(200)
			expect(interrupted.body).toMatchObject({
				executionId: hanging.executionId,
				workflow: "HttpCall",
				tenantId: tenantA,
				jobId: hanging.id,
			})
			// Let the held attempt end (503), so that nothing hangs when the platform stops, and report where the
			// execution went from there.
			modes.set("hang", 503)
			hung.splice(0).forEach((response) => respond(response, 503))
			const job = await settle(tenantA, hanging.id, 20_000)
			const detail = await adminJson<ExecutionDetail>(`/workflows/${hanging.executionId}`)
			console.log(
				`[admin-jobs] after interrupt: execution ${detail.body.status}, job ${job.status}, ` +
					`${deliveries.filter((delivery) => delivery.tag === "hang").length} deliveries`,
			)
		}, 90_000)

		it("an interrupted execution makes no further delivery attempt and ends failed; its job ends cancelled, with no DLQ entry", async () => {
			const job = await submit(tenantA, { url: target("/hang", "interrupt-me") })
			const attempting = await waitFor(
				async () => deliveries.some((delivery) => delivery.tag === "interrupt-me"),
				30_000,
			)
			expect(attempting).toBe(true)
			const interrupted = await adminJson<Execution>(`/workflows/${job.executionId}/interrupt`, {
				method: "POST",
			})
			expect(interrupted.status, String(encodeJson(interrupted.body))).toBe(200)
			// The attempt in flight fails (503, retryable): without the interrupt a second attempt would follow.
			modes.set("interrupt-me", 503)
			hung.splice(0).forEach((response) => respond(response, 503))
			const settled = await settle(tenantA, job.id, 60_000)
			expect(settled.status).toBe("cancelled")
			const finished = await waitFor(
				async () =>
					(await adminJson<ExecutionDetail>(`/workflows/${job.executionId}`)).body.status === "failed",
				30_000,
			)
			expect(finished).toBe(true)
			const detail = await adminJson<ExecutionDetail>(`/workflows/${job.executionId}`)
			expect(detail.body.activities.find((activity) => activity.name === "deliver")?.attempts).toHaveLength(1)
			expect(detail.body.activities.map((activity) => activity.name)).not.toContain("dead-letter")
			expect(detail.body.deadLetters).toEqual([])
			expect(deliveries.filter((delivery) => delivery.tag === "interrupt-me")).toHaveLength(1)
			expect((await dlqOf(`tenant=${tenantA}`)).map((entry) => entry.jobId)).not.toContain(job.id)
			expect((await getJob(tenantA, job.id)).status).toBe("cancelled")
		}, 90_000)

		it("resume or interrupt of a finished execution → 409 ExecutionFinished; nothing runs again", async () => {
			const succeeded = (await getJob(tenantA, switchable.id)).executionId
			for (const [executionId, status] of [
				[goneA.executionId, "failed"],
				[succeeded, "succeeded"],
			] as const) {
				for (const action of ["resume", "interrupt"]) {
					const answer = await adminJson<ErrorBody & { executionId: string; status: string }>(
						`/workflows/${executionId}/${action}`,
						{ method: "POST" },
					)
					expect(answer.status, `${action} ${status}`).toBe(409)
					expect(answer.body).toMatchObject({ _tag: "ExecutionFinished", executionId, status })
					expect(answer.body.message).toContain(`already ${status}`)
				}
			}
			expect((await getJob(tenantA, goneA.id)).status).toBe("dead_lettered")
			expect((await getJob(tenantA, switchable.id)).status).toBe("succeeded")
			expect(deliveries.filter((delivery) => delivery.tag === "gone-a")).toHaveLength(1)
		})
	})

	describe("auth", () => {
		it("admin routes without or with a wrong bearer → 401 Unauthorized", async () => {
			const id = crypto.randomUUID()
			const routes: Array<[string, string]> = [
				["GET", "/dlq"],
				["POST", `/dlq/${id}/retry`],
				["DELETE", `/dlq/${id}`],
				["GET", "/workflows"],
				["GET", `/workflows/${switchable.executionId}`],
				["POST", `/workflows/${switchable.executionId}/resume`],
				["POST", `/workflows/${switchable.executionId}/interrupt`],
			]
			for (const [method, path] of routes) {
				for (const headers of [{}, { authorization: "Bearer wrong" }, { authorization: platform.adminToken }]) {
					const response = await fetch(`${platform.baseUrl}/admin/v1${path}`, { method, headers })
					expect(response.status, `${method} ${path}`).toBe(401)
					expect(await response.json()).toMatchObject({ _tag: "Unauthorized" })
				}
			}
		})
	})
})
