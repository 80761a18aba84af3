// Rolling restart under load: two runners, two gateways, and mixed traffic for the whole run (tenant and admin reads,
// PATCH renames and suspend/activate toggles each sent with its own Idempotency-Key and retried with that key until an
// answer other than 503, `http.call` job submissions to a local receiver, broadcasts over HTTP) while each runner in
// turn is stopped with SIGTERM and started again. Asserted: every answer is 2xx, 4xx or 503 with Retry-After and a
// JSON `_tag` (and comes within the request bound); no mutation is lost or applied twice (the final name is the last
// acknowledged version, and the audit rows hold each acknowledged rename and toggle exactly once, by the request id of
// one of its attempts); every accepted job reaches a final state.
import { createServer, type Server } from "node:http"
import { Option, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { exited, type Managed, sleep, stopAll, waitFor } from "../fixtures/Processes.ts"
import { startCluster } from "../fixtures/RunnerCluster.ts"
import { settled } from "../fixtures/ShardLocks.ts"

// --- [CONSTANTS]

const requestTimeoutMs = 20_000
const jobsBudgetMs = 60_000
const Final = ["succeeded", "failed", "dead_lettered", "cancelled"]
const encodeJson = Schema.encodeSync(Schema.parseJson())
const decodeJson = Schema.decodeUnknownOption(Schema.parseJson(Schema.Unknown))

// --- [TYPES]

type Answer = { readonly status: number; readonly body: Record<string, unknown>; readonly detail: string }

// --- [STATE]

let cluster: Awaited<ReturnType<typeof startCluster>> | undefined
let receiver: Server | undefined
let receiverUrl = ""
let renamed = { id: "", slug: "" }
let toggled = { id: "", slug: "" }
let requests = 0
const bad: Array<string> = []

// --- [FUNCTIONS]

const gateway = (index: number) => cluster?.gateways[index % (cluster?.gateways.length ?? 1)]?.url ?? ""

// One request through gateway `index`; every answer is checked against the contract's allowed set.
const call = (
	index: number,
	method: string,
	path: string,
	options: { readonly body?: unknown; readonly app?: string; readonly headers?: Record<string, string> } = {},
): Promise<Answer> => {
	requests += 1
	return fetch(`${gateway(index)}${path}`, {
		method,
		headers: {
			authorization: `Bearer ${cluster?.adminToken}`,
			...(options.app === undefined ? {} : { "x-app-id": options.app }),
			...(options.body === undefined ? {} : { "content-type": "application/json" }),
			...options.headers,
		},
		signal: AbortSignal.timeout(requestTimeoutMs),
		...(options.body === undefined ? {} : { body: encodeJson(options.body) }),
	}).then(
		async (response) => {
			const text = await response.text()
			const body = decodeJson(text).pipe(
				Option.filter((value): value is Record<string, unknown> => typeof value === "object" && value !== null),
				Option.getOrElse((): Record<string, unknown> => ({})),
			)
			const detail = `${method} ${path} via gateway ${index % 2} → ${response.status} ${text.slice(0, 160) || "(empty body)"}`
			const allowed =
				(response.status >= 200 && response.status < 300) ||
				(response.status >= 400 && response.status < 500) ||
				(response.status === 503 &&
					response.headers.get("retry-after") !== null &&
					typeof body["_tag"] === "string")
			allowed ? undefined : bad.push(detail)
			return { status: response.status, body, detail }
		},
		(error: unknown) => {
			const detail = `${method} ${path} via gateway ${index % 2} → no answer within ${requestTimeoutMs} ms (${error instanceof Error ? error.message : String(error)})`
			bad.push(detail)
			return { status: 0, body: {}, detail }
		},
	)
}

// A mutation retried with the same Idempotency-Key (and a request id naming the attempt) until it gets an answer
// other than 503 or no answer; each attempt goes through the other gateway.
const mutate = async (key: string, method: string, path: string, body?: unknown) => {
	let attempt = 0
	let answer = await call(attempt, method, path, {
		body,
		headers: { "idempotency-key": key, "x-request-id": `${key}.a${attempt}` },
	})
	while ((answer.status === 503 || answer.status === 0) && attempt < 60) {
		await sleep(500)
		attempt += 1
		answer = await call(attempt, method, path, {
			body,
			headers: { "idempotency-key": key, "x-request-id": `${key}.a${attempt}` },
		})
	}
	return { ...answer, attempts: attempt + 1 }
}

const createTenant = async (slug: string) => {
	const created = await mutate(`create-${slug}`, "POST", "/admin/v1/tenants", { slug, name: slug })
	expect(created.status, created.detail).toBe(201)
	return { id: String(created.body["id"]), slug }
}

// --- [SUITE]

describe("e2e: rolling restart under load", () => {
	beforeAll(async () => {
		receiver = createServer((request, response) => {
			request.resume()
			response.writeHead(200, { "content-type": "text/plain" }).end("ok")
		})
		await new Promise<void>((resolve) => receiver?.listen(0, "127.0.0.1", () => resolve()))
		const address = receiver.address()
		receiverUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
		cluster = await startCluster({
			name: "rolling",
			runners: ["runner-a", "runner-b"],
			gateways: 2,
			// The gateway answers before this client gives up (20 s), as an operator sets it below clients' timeouts.
			env: { JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1", LOG_LEVEL: "Warn", GATEWAY_REQUEST_TIMEOUT: "15 seconds" },
		})
		expect(cluster.migrated.code, cluster.migrated.output).toBe(0)
		expect(cluster.ready, cluster.output()).toBe(true)
		const suffix = Math.random().toString(36).slice(2, 8)
		renamed = await createTenant(`rolling-rename-${suffix}`)
		toggled = await createTenant(`rolling-toggle-${suffix}`)
	}, 420_000)

	afterAll(async () => {
		await stopAll()
		receiver?.closeAllConnections()
		await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())))
		await cluster?.database.drop()
	}, 60_000)

	it("SIGTERM and restart of each runner: only 2xx/4xx/503-with-Retry-After, no lost or doubled mutation, every job final", async () => {
		const live = cluster as NonNullable<typeof cluster>
		let running = true
		const renames: Array<number> = []
		const toggles: Array<{ readonly index: number; readonly to: string }> = []
		const jobIds: Array<string> = []
		const conflicts: Array<string> = []

		const renamer = (async () => {
			let version = 0
			while (running) {
				version += 1
				const answer = await mutate(`pv${version}`, "PATCH", `/admin/v1/tenants/${renamed.id}`, {
					name: `version-${version}`,
				})
				answer.status === 200 ? renames.push(version) : conflicts.push(`rename ${version}: ${answer.detail}`)
			}
		})()
		const toggler = (async () => {
			let index = 0
			while (running) {
				index += 1
				const operation = index % 2 === 1 ? "suspend" : "activate"
				const answer = await mutate(`tg${index}`, "POST", `/admin/v1/tenants/${toggled.id}/${operation}`)
				// A 409 here means the retry of an applied toggle was not answered with the first outcome.
				answer.status === 200
					? toggles.push({ index, to: String(answer.body["status"]) })
					: conflicts.push(`toggle ${index} (${operation}): ${answer.detail}`)
			}
		})()
		const submitter = (async () => {
			let index = 0
			while (running) {
				index += 1
				const answer = await call(index, "POST", "/v1/jobs", {
					app: renamed.slug,
					body: { type: "http.call", payload: { url: `${receiverUrl}/job-${index}` } },
				})
				answer.status === 202 ? jobIds.push(String(answer.body["id"])) : undefined
				await sleep(200)
			}
		})()
		const reader = (async () => {
			let index = 0
			while (running) {
				index += 1
				await Promise.all([
					call(index, "GET", "/v1/tenant", { app: renamed.slug }),
					call(index + 1, "GET", `/admin/v1/tenants/${toggled.id}`),
					call(index, "GET", "/v1/jobs?limit=5", { app: renamed.slug }),
					call(index + 1, "POST", "/v1/channels/rolling/broadcast", {
						app: renamed.slug,
						body: { payload: { index } },
					}),
				])
				await sleep(100)
			}
		})()

		await sleep(3_000)
		const restarts: Array<string> = []
		for (const name of ["runner-a", "runner-b"]) {
			const victim = live.runners.get(name) as Managed
			const stoppedAt = Date.now()
			victim.child.kill("SIGTERM")
			const code = await Promise.race([exited(victim), sleep(30_000).then(() => "still running")])
			const restarted = await live.startRunner(name)
			const rejoined = await waitFor(settled(live.database.url, ["runner-a", "runner-b"]), 180_000, 500)
			restarts.push(`${name}: exit ${code}, rejoined ${rejoined} after ${Date.now() - stoppedAt} ms`)
			expect(rejoined, restarted.output().slice(-3000)).toBe(true)
			await sleep(2_000)
		}
		await sleep(3_000)
		running = false
		await Promise.all([renamer, toggler, submitter, reader])

		// Every accepted job reaches a final state.
		const jobsDeadline = Date.now() + jobsBudgetMs
		let pending = [...jobIds]
		while (pending.length > 0 && Date.now() < jobsDeadline) {
			const states = await Promise.all(
				pending.map(async (id) => ({
					id,
					status: String((await call(0, "GET", `/v1/jobs/${id}`, { app: renamed.slug })).body["status"]),
				})),
			)
			pending = states.filter((state) => !Final.includes(state.status)).map((state) => state.id)
			await (pending.length === 0 ? Promise.resolve() : sleep(1_000))
		}

		const finalTenant = await call(0, "GET", `/admin/v1/tenants/${renamed.id}`)
		const finalToggled = await call(1, "GET", `/admin/v1/tenants/${toggled.id}`)
		const audit = await live.query<{ operation: string; subject_id: string; request_id: string | null }>(
			"SELECT operation, subject_id, request_id FROM audit_logs WHERE subject_id = ANY($1) AND operation IN ('update', 'suspend', 'activate') ORDER BY id",
			[[renamed.id, toggled.id]],
		)
		const auditedRenames = audit
			.filter((row) => row.subject_id === renamed.id && row.operation === "update")
			.map((row) => Number(/^pv(\d+)\./.exec(row.request_id ?? "")?.[1] ?? -1))
		const auditedToggles = audit
			// The tenant's creation also audits an `activate` (provisioning → active): only the toggles' rows count.
			.filter(
				(row) =>
					row.subject_id === toggled.id &&
					row.operation !== "update" &&
					(row.request_id ?? "").startsWith("tg"),
			)
			.map((row) => ({ index: Number(/^tg(\d+)\./.exec(row.request_id ?? "")?.[1] ?? -1), to: row.operation }))
		console.log(
			`[rolling-restart] ${requests} requests; ${restarts.join("; ")}; ${renames.length} renames, ${toggles.length} ` +
				`toggles, ${jobIds.length} jobs accepted (${pending.length} not final); ${bad.length} answers outside the ` +
				`allowed set; ${conflicts.length} mutations not acknowledged`,
		)

		expect([...new Set(bad)].slice(0, 20)).toEqual([])
		expect(conflicts).toEqual([])
		expect(pending).toEqual([])
		// The final state is the last acknowledged mutation.
		expect(finalTenant.body["name"]).toBe(`version-${renames[renames.length - 1]}`)
		expect(finalToggled.body["status"]).toBe(toggles.length % 2 === 1 ? "suspended" : "active")
		// Each acknowledged mutation is audited exactly once (none lost, none applied twice).
		expect(auditedRenames).toEqual(renames)
		expect(auditedToggles).toEqual(
			toggles.map((toggle) => ({ index: toggle.index, to: toggle.index % 2 === 1 ? "suspend" : "activate" })),
		)
		expect(toggles.filter((toggle) => toggle.to !== (toggle.index % 2 === 1 ? "suspended" : "active"))).toEqual([])
	}, 600_000)
})
