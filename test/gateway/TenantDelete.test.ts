// DELETE /admin/v1/tenants/{id} and the `tenant.delete` workflow behind it, against the in-process platform: once
// with the default configuration (the tenant's rows go, audit rows and the delete job's own row stay, the tenant ends
// `deleted`, another tenant is untouched), and once with JOBS_FAULT_INJECTION=tenant.delete:complete, where the last
// step fails and the compensation returns the tenant to `suspended` while the job goes to the DLQ.
import { Schema } from "effect"
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { sleep, waitFor } from "../fixtures/Processes.ts"
import { authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"

// --- [CONSTANTS]

const Final = ["succeeded", "dead_lettered", "cancelled"]
const encodeJson = Schema.encodeSync(Schema.parseJson())
const Tables = ["jobs", "job_dlq", "assets", "users", "events"] as const

// --- [TYPES]

type Platform = Awaited<ReturnType<typeof startPlatform>>

type JobBody = { readonly id: string; readonly status: string; readonly executionId: string | null }

type Execution = {
	readonly executionId: string
	readonly workflow: string
	readonly status: string
	readonly tenantId: string | null
	readonly jobId: string | null
}

type ExecutionDetail = Execution & {
	readonly activities: ReadonlyArray<{
		readonly name: string
		readonly compensation: boolean
		readonly attempts: ReadonlyArray<{ readonly attempt: number; readonly status: string }>
	}>
	readonly job: Record<string, unknown> | null
	readonly deadLetters: ReadonlyArray<Record<string, unknown>>
}

type DeleteAccepted = { readonly id: string; readonly status: string; readonly jobId: string }

type ScopedColumn = { readonly table: string; readonly column: string }

// --- [STATE]

let receiver: Server
let receiverUrl = ""

// --- [FUNCTIONS]

// The receiver: `/ok` → 200, `/gone` → 410.
const handle = (request: IncomingMessage, response: ServerResponse) => {
	request.resume()
	const status = new URL(request.url ?? "/", "http://receiver").pathname === "/gone" ? 410 : 200
	response.writeHead(status, { "content-type": "text/plain" }).end(String(status))
}

// Helpers bound to one platform, so that the two platforms of this file never mix.
const client = (platform: Platform) => {
	const admin = async <A>(path: string, init: RequestInit = {}) => {
		const response = await fetch(`${platform.baseUrl}/admin/v1${path}`, {
			...init,
			headers: {
				authorization: `Bearer ${platform.adminToken}`,
				"content-type": "application/json",
				...init.headers,
			},
		})
		return { status: response.status, body: (await response.json()) as A }
	}
	const tenantRoute = (appId: string) =>
		fetch(`${platform.baseUrl}/v1/tenant`, { headers: { "x-app-id": appId } }).then(async (response) => ({
			status: response.status,
			body: (await response.json()) as { readonly _tag?: string; readonly status?: string },
		}))
	const createTenant = async (slug: string) => {
		const created = await admin<{ id: string; status: string }>("/tenants", {
			method: "POST",
			body: encodeJson({ slug, name: slug }),
		})
		expect(created.status).toBe(201)
		expect(created.body.status).toBe("active")
		return created.body.id
	}
	const tenantStatus = async (id: string) => (await admin<{ status: string }>(`/tenants/${id}`)).body.status
	const submit = async (appId: string, path: string) => {
		const response = await fetch(`${platform.baseUrl}/v1/jobs`, {
			method: "POST",
			headers: {
				authorization: `Bearer ${platform.adminToken}`,
				"x-app-id": appId,
				"content-type": "application/json",
			},
			body: encodeJson({ type: "http.call", payload: { url: `${receiverUrl}${path}` } }),
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
	const settle = async (appId: string, id: string, timeoutMs = 45_000) => {
		const deadline = Date.now() + timeoutMs
		let job = await getJob(appId, id)
		while (!Final.includes(job.status) && Date.now() < deadline) {
			await sleep(200)
			job = await getJob(appId, id)
		}
		return job
	}
	const query = async <A>(text: string, params: Array<unknown> = []) => {
		const connection = new pg.Client({ connectionString: platform.databaseUrl })
		await connection.connect()
		return connection
			.query(text, params)
			.then((result) => result.rows as Array<A>)
			.finally(() => connection.end())
	}
	// Rows of the tenant in every table a deletion empties, by table.
	const rowCounts = async (appId: string) =>
		Object.fromEntries(
			await Promise.all(
				Tables.map(async (table) => {
					const rows = await query<{ count: number }>(
						`SELECT count(*)::int AS count FROM ${table} WHERE app_id = $1`,
						[appId],
					)
					return [table, rows[0]?.count ?? -1] as const
				}),
			),
		)
	// A user (with a passkey and a recovery code), an asset, a relying party, a disabled webhook endpoint (with an attempt
	// and its cursor: disabled, so the dispatcher sends it nothing) and an event for the tenant, written
	// directly: the test does not run the ceremonies or uploads that create them.
	const seedRows = (appId: string) =>
		query(
			`WITH u AS (INSERT INTO users (id, app_id, email, display_name, status)
				VALUES ($2, $1, 'someone@example.com', 'Someone', 'active') RETURNING id),
			a AS (INSERT INTO assets (id, app_id, key, content_type, size)
				VALUES ($3, $1, 'logo.png', 'image/png', 3) RETURNING id),
			rp AS (INSERT INTO webauthn_relying_parties (app_id, rp_id, rp_name, origins, mfa, user_verification)
				VALUES ($1, 'example.com', 'Example', ARRAY['https://example.com'], 'optional', 'preferred')
				RETURNING app_id),
			pk AS (INSERT INTO passkeys (id, app_id, user_id, credential_id, public_key, backed_up, aaguid, name)
				SELECT $4, $1, id, 'credential', '\\x00'::bytea, false, '00000000-0000-0000-0000-000000000000', 'key'
				FROM u RETURNING id),
			rc AS (INSERT INTO recovery_codes (app_id, user_id, code_hash) SELECT $1, id, 'hash' FROM u
				RETURNING code_hash),
			wh AS (INSERT INTO webhook_endpoints (app_id, id, url, event_types, status, secret_enc)
				VALUES ($1, $5, 'https://example.com/hook', ARRAY['*'], 'disabled', 'sealed') RETURNING id),
			wa AS (INSERT INTO webhook_attempts (app_id, endpoint_id, webhook_id, event_type, attempt, duration_ms)
				SELECT $1, id, 'msg_1', 'tenant.updated', 1, 3 FROM wh RETURNING id),
			wc AS (INSERT INTO webhook_cursors (app_id, endpoint_id) SELECT $1, id FROM wh RETURNING endpoint_id)
			INSERT INTO events (app_id, type, payload) VALUES ($1, 'test.seeded', '{}'::jsonb) RETURNING id`,
			[appId, crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID(), crypto.randomUUID()],
		)
	// Every table of ours that holds tenant rows, read from the schema: each column that references apps(id), and
	// each `app_id` column. Not the cluster's own tables (cluster_*: the library's journal, keyed by entity, not
	// tenant), and not audit_logs: the README keeps audit rows past a tenant's deletion, on purpose.
	const tenantScoped = () =>
		query<ScopedColumn>(
			`SELECT DISTINCT scoped.table, scoped.column FROM (
				SELECT cl.relname::text AS table, a.attname::text AS column
				FROM pg_constraint con
				JOIN pg_class cl ON cl.oid = con.conrelid
				JOIN pg_namespace n ON n.oid = cl.relnamespace
				JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = ANY (con.conkey)
				WHERE con.contype = 'f' AND con.confrelid = 'apps'::regclass AND n.nspname = current_schema()
				UNION
				SELECT c.table_name::text, c.column_name::text
				FROM information_schema.columns c
				JOIN information_schema.tables t ON t.table_schema = c.table_schema AND t.table_name = c.table_name
				WHERE c.table_schema = current_schema() AND c.column_name = 'app_id' AND t.table_type = 'BASE TABLE'
			) scoped
			WHERE scoped.table NOT LIKE 'cluster\\_%' AND scoped.table <> 'audit_logs'
			ORDER BY 1, 2`,
		)
	const scopedCounts = async (columns: ReadonlyArray<ScopedColumn>, appId: string) =>
		Object.fromEntries(
			await Promise.all(
				columns.map(async ({ table, column }) => {
					const rows = await query<{ count: number }>(
						`SELECT count(*)::int AS count FROM "${table}" WHERE "${column}" = $1`,
						[appId],
					)
					return [`${table}.${column}`, rows[0]?.count ?? -1] as const
				}),
			),
		)
	const executionsOf = async (search: string) =>
		(await admin<{ items: ReadonlyArray<Execution> }>(`/workflows?${search}&limit=100`)).body.items
	const deleteTenant = async (id: string) => {
		const deleted = await admin<DeleteAccepted>(`/tenants/${id}`, { method: "DELETE" })
		expect(deleted.status, String(encodeJson(deleted.body))).toBe(202)
		expect(deleted.body).toMatchObject({ id, status: "deleting", jobId: expect.any(String) })
		return deleted.body
	}
	return {
		admin,
		tenantRoute,
		createTenant,
		tenantStatus,
		submit,
		getJob,
		settle,
		query,
		rowCounts,
		seedRows,
		tenantScoped,
		scopedCounts,
		executionsOf,
		deleteTenant,
	}
}

// --- [SUITE]

beforeAll(async () => {
	receiver = createServer(handle)
	await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", () => resolve()))
	const address = receiver.address()
	receiverUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
})

afterAll(async () => {
	receiver?.closeAllConnections()
	await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())))
})

describe("tenant.delete", () => {
	describe("default", () => {
		let platform: Platform
		let api: ReturnType<typeof client>
		let idp: OidcProviderHandle

		beforeAll(async () => {
			idp = await startOidcProvider({ clients: [] })
			platform = await startPlatform({ JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1" })
			expect(platform.ready).toBe(true)
			api = client(platform)
		}, 120_000)

		afterAll(async () => {
			await platform?.stop()
			await idp?.stop()
		}, 60_000)

		it("DELETE → 202 with a job id; the tenant stops answering at once; the workflow removes its rows (not audit rows, not its own job) and ends deleted", async () => {
			const doomed = await api.createTenant("delete-me")
			const kept = await api.createTenant("keep-me")
			// Rows in every table a deletion empties: succeeded jobs, a dead-lettered one (a DLQ row), a user, an asset,
			// an event; the same for a tenant that stays.
			const jobs = await Promise.all([
				api.submit(doomed, "/ok"),
				api.submit(doomed, "/ok"),
				api.submit(doomed, "/gone"),
				api.submit(kept, "/ok"),
				api.submit(kept, "/gone"),
			])
			const settled = await Promise.all(jobs.map((job, index) => api.settle(index < 3 ? doomed : kept, job.id)))
			expect(settled.map((job) => job.status)).toEqual([
				"succeeded",
				"succeeded",
				"dead_lettered",
				"succeeded",
				"dead_lettered",
			])
			await api.seedRows(doomed)
			await api.seedRows(kept)
			const before = await api.rowCounts(doomed)
			expect(Object.values(before).every((count) => count > 0)).toBe(true)
			const keptBefore = await api.rowCounts(kept)
			expect((await api.tenantRoute("delete-me")).status).toBe(200)

			const accepted = await api.deleteTenant(doomed)
			// At once: no waiting for the workflow.
			for (const appId of ["delete-me", doomed]) {
				const route = await api.tenantRoute(appId)
				expect(route.status, appId).toBe(404)
				expect(route.body).toMatchObject({ _tag: "TenantNotFound" })
			}

			const deleted = await waitFor(async () => (await api.tenantStatus(doomed)) === "deleted", 60_000)
			expect(deleted, await api.tenantStatus(doomed)).toBe(true)
			expect((await api.admin(`/tenants/${doomed}`)).body).toMatchObject({ id: doomed, status: "deleted" })
			expect((await api.tenantRoute("delete-me")).status).toBe(404)

			// Its rows are gone, except the delete job's own row; audit rows remain.
			expect(await api.rowCounts(doomed)).toEqual({ jobs: 1, job_dlq: 0, assets: 0, users: 0, events: 0 })
			expect(
				await api.query<{ id: string; type: string; status: string }>(
					"SELECT id, type, status FROM jobs WHERE app_id = $1",
					[doomed],
				),
			).toEqual([{ id: accepted.jobId, type: "tenant.delete", status: "succeeded" }])
			const audit = await api.query<{ operation: string }>(
				"SELECT operation FROM audit_logs WHERE app_id = $1 ORDER BY id",
				[doomed],
			)
			expect(audit.map((row) => row.operation)).toEqual(expect.arrayContaining(["create", "activate", "delete"]))
			// The other tenant is untouched.
			expect(await api.rowCounts(kept)).toEqual(keptBefore)
			expect((await api.tenantRoute("keep-me")).status).toBe(200)

			// The workflow: TenantDelete, succeeded, every step once, no compensation.
			const executions = await api.executionsOf(`name=TenantDelete&tenant=${doomed}`)
			expect(executions).toEqual([
				expect.objectContaining({ workflow: "TenantDelete", tenantId: doomed, jobId: accepted.jobId }),
			])
			const finished = await waitFor(
				async () => (await api.executionsOf(`name=TenantDelete&tenant=${doomed}`))[0]?.status === "succeeded",
				30_000,
			)
			expect(finished, String(encodeJson(await api.executionsOf(`tenant=${doomed}`)))).toBe(true)
			const detail = await api.admin<ExecutionDetail>(`/workflows/${executions[0]?.executionId}`)
			expect(detail.status).toBe(200)
			expect(detail.body.activities.map((activity) => activity.name)).toEqual([
				"start",
				"begin",
				"remove-rows",
				"complete",
				"succeed",
			])
			expect(detail.body.activities.some((activity) => activity.compensation)).toBe(false)
			expect(detail.body.deadLetters).toEqual([])
			expect(detail.body.job).toMatchObject({ id: accepted.jobId, status: "succeeded" })
			expect((await api.admin<{ items: ReadonlyArray<unknown> }>(`/dlq?tenant=${doomed}`)).body.items).toEqual([])
		}, 120_000)

		it("deletion empties every tenant-scoped table of the schema (users who signed in, their sessions, identities and API keys, OAuth providers, jobs, DLQ, assets, events); the other tenant keeps all of its rows", async () => {
			// Two tenants, each with an OAuth provider (admin API), a user signed in through it (sessions, identities,
			// users), an API key (api-keys API), jobs that succeed and one that is dead-lettered (jobs API); assets and
			// events have no API that writes them yet, so those are written in SQL.
			const populate = async (slug: string) => {
				const made = await setUpTenant({
					baseUrl: platform.baseUrl,
					adminToken: platform.adminToken,
					idp,
					slug,
				})
				expect(made.putStatus).toBe(200)
				idp.signInAs({ sub: `${slug}-user`, email: `${slug}@example.com`, name: slug })
				const signedIn = await signIn(platform.baseUrl, slug)
				expect(signedIn.status, signedIn.text).toBe(200)
				const key = await authed(platform.baseUrl, slug, signedIn.body?.token ?? "", "/api-keys", {
					method: "POST",
					body: encodeJson({ name: "ci" }),
				})
				expect(key.status, await key.clone().text()).toBe(201)
				const jobs = await Promise.all([api.submit(made.tenant.id, "/ok"), api.submit(made.tenant.id, "/gone")])
				const settled = await Promise.all(jobs.map((job) => api.settle(made.tenant.id, job.id)))
				expect(settled.map((job) => job.status)).toEqual(["succeeded", "dead_lettered"])
				await api.seedRows(made.tenant.id)
				return made.tenant.id
			}
			const doomed = await populate("scoped-doomed")
			const kept = await populate("scoped-kept")

			const scoped = await api.tenantScoped()
			expect(scoped.map(({ table }) => table)).toEqual(
				expect.arrayContaining(["users", "sessions", "identities", "api_keys", "oauth_providers", "jobs"]),
			)
			// Every derived table holds rows of both tenants: a table added later must be populated here too, and then
			// the deletion has to cover it for the assertions below to hold.
			const before = await api.scopedCounts(scoped, doomed)
			const keptBefore = await api.scopedCounts(scoped, kept)
			expect(Object.entries(before).filter(([, count]) => count < 1)).toEqual([])
			expect(Object.entries(keptBefore).filter(([, count]) => count < 1)).toEqual([])

			const accepted = await api.deleteTenant(doomed)
			const deleted = await waitFor(async () => (await api.tenantStatus(doomed)) === "deleted", 60_000)
			expect(deleted, await api.tenantStatus(doomed)).toBe(true)

			// Nothing of the tenant is left but the delete job's own row (it records the deletion).
			const after = await api.scopedCounts(scoped, doomed)
			expect(after).toEqual(
				Object.fromEntries(scoped.map(({ table, column }) => [`${table}.${column}`, table === "jobs" ? 1 : 0])),
			)
			expect(await api.query("SELECT id FROM jobs WHERE app_id = $1", [doomed])).toEqual([{ id: accepted.jobId }])
			expect(await api.scopedCounts(scoped, kept)).toEqual(keptBefore)
			expect((await api.tenantRoute("scoped-kept")).status).toBe(200)
		}, 120_000)

		it("a tenant being deleted or deleted cannot be deleted again, suspended or activated (409 InvalidTransition)", async () => {
			const doomed = await api.createTenant("delete-twice")
			const accepted = await api.deleteTenant(doomed)
			expect(await waitFor(async () => (await api.tenantStatus(doomed)) === "deleted", 60_000)).toBe(true)
			for (const [method, path] of [
				["DELETE", `/tenants/${doomed}`],
				["POST", `/tenants/${doomed}/suspend`],
				["POST", `/tenants/${doomed}/activate`],
			] as const) {
				const response = await api.admin<{ _tag: string }>(path, { method })
				expect(response.status, `${method} ${path}`).toBe(409)
				expect(response.body).toMatchObject({ _tag: "InvalidTransition" })
			}
			expect(
				await api.query("SELECT id FROM jobs WHERE app_id = $1 AND type = 'tenant.delete'", [doomed]),
			).toEqual([{ id: accepted.jobId }])
		}, 90_000)
	})

	describe("with the complete step failing (JOBS_FAULT_INJECTION=tenant.delete:complete)", () => {
		let platform: Platform
		let api: ReturnType<typeof client>

		beforeAll(async () => {
			platform = await startPlatform({
				JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1",
				JOBS_FAULT_INJECTION: "tenant.delete:complete",
				// Fault injection is refused outside tests.
				NODE_ENV: "test",
			})
			expect(platform.ready).toBe(true)
			api = client(platform)
		}, 120_000)

		afterAll(async () => {
			await platform?.stop()
		}, 60_000)

		it("compensation returns the tenant to suspended; the job is dead-lettered (NonRetryable) and the execution shows the compensation", async () => {
			const tenant = await api.createTenant("fault-co")
			const job = await api.submit(tenant, "/ok")
			expect((await api.settle(tenant, job.id)).status).toBe("succeeded")

			const accepted = await api.deleteTenant(tenant)
			expect((await api.tenantRoute("fault-co")).status).toBe(404)

			const suspended = await waitFor(async () => (await api.tenantStatus(tenant)) === "suspended", 60_000)
			expect(suspended, await api.tenantStatus(tenant)).toBe(true)
			expect((await api.tenantRoute("fault-co")).status).toBe(404)

			const jobRow = async () =>
				(await api.query<{ status: string }>("SELECT status FROM jobs WHERE id = $1", [accepted.jobId]))[0]
					?.status
			expect(await waitFor(async () => (await jobRow()) === "dead_lettered", 30_000), await jobRow()).toBe(true)
			expect(
				await api.query("SELECT error_reason, type FROM job_dlq WHERE job_id = $1", [accepted.jobId]),
			).toEqual([{ error_reason: "NonRetryable", type: "tenant.delete" }])
			const dlq = await api.admin<{ items: ReadonlyArray<Record<string, unknown>> }>(
				`/dlq?tenant=${tenant}&type=tenant.delete`,
			)
			expect(dlq.body.items).toEqual([
				expect.objectContaining({
					jobId: accepted.jobId,
					tenantId: tenant,
					type: "tenant.delete",
					reason: "NonRetryable",
					status: "open",
				}),
			])

			const executions = await api.executionsOf(`name=TenantDelete&tenant=${tenant}`)
			expect(executions).toHaveLength(1)
			const executionId = executions[0]?.executionId ?? ""
			expect(
				await waitFor(
					async () =>
						(await api.admin<ExecutionDetail>(`/workflows/${executionId}`)).body.status === "failed",
					30_000,
				),
			).toBe(true)
			const detail = await api.admin<ExecutionDetail>(`/workflows/${executionId}`)
			expect(detail.body).toMatchObject({ workflow: "TenantDelete", status: "failed", jobId: accepted.jobId })
			const byName = new Map(detail.body.activities.map((activity) => [activity.name, activity]))
			expect(byName.get("complete")?.attempts.map((attempt) => attempt.status)).toEqual(["failed"])
			expect(byName.has("succeed")).toBe(false)
			expect(byName.get("dead-letter")?.attempts.map((attempt) => attempt.status)).toEqual(["succeeded"])
			const compensations = detail.body.activities.filter((activity) => activity.compensation)
			expect(compensations.map((activity) => activity.name)).toEqual(["compensate:restore"])
			expect(compensations[0]?.attempts.map((attempt) => attempt.status)).toEqual(["succeeded"])
			expect(detail.body.deadLetters).toEqual([expect.objectContaining({ jobId: accepted.jobId })])

			// Suspended is a normal state again: the operator can bring the tenant back, and its job reads dead-lettered.
			const activated = await api.admin<{ status: string }>(`/tenants/${tenant}/activate`, { method: "POST" })
			expect(activated.status).toBe(200)
			expect(activated.body.status).toBe("active")
			expect((await api.tenantRoute("fault-co")).status).toBe(200)
			expect((await api.getJob(tenant, accepted.jobId)).status).toBe("dead_lettered")
		}, 120_000)
	})
})
