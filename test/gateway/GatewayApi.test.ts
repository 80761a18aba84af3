import { afterAll, beforeAll, describe, expect, it } from "vitest"
import pg from "pg"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"

let platform: Awaited<ReturnType<typeof startPlatform>>

const admin = (path: string, init: RequestInit = {}) =>
	fetch(`${platform.baseUrl}/admin/v1${path}`, {
		...init,
		headers: {
			authorization: `Bearer ${platform.adminToken}`,
			"content-type": "application/json",
			...init.headers,
		},
	})

const createTenant = async (slug: string, name = "Tenant") => {
	const response = await admin("/tenants", { method: "POST", body: `{"slug":"${slug}","name":"${name}"}` })
	return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

const tenantRoute = (appId?: string, headers: Record<string, string> = {}) =>
	fetch(`${platform.baseUrl}/v1/tenant`, {
		headers: appId === undefined ? headers : { "x-app-id": appId, ...headers },
	})

beforeAll(async () => {
	platform = await startPlatform()
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
}, 60_000)

describe("gateway: tenants", () => {
	it("creates a tenant (201, active) that is usable on /v1/ by slug and by id", async () => {
		const created = await createTenant("acme", "Acme")
		expect(created.status).toBe(201)
		expect(created.body).toMatchObject({ slug: "acme", name: "Acme", status: "active" })
		const bySlug = await tenantRoute("acme")
		const byId = await tenantRoute(String(created.body.id))
		expect(bySlug.status).toBe(200)
		expect(await bySlug.json()).toEqual({ id: created.body.id, slug: "acme", name: "Acme", status: "active" })
		expect(byId.status).toBe(200)
	})

	it("suspension takes effect on the next request despite the tenant cache, and activation restores it", async () => {
		const created = await createTenant("cached-co")
		expect((await tenantRoute("cached-co")).status).toBe(200)
		const suspended = await admin(`/tenants/${created.body.id}/suspend`, { method: "POST" })
		expect(suspended.status).toBe(200)
		expect(await suspended.json()).toMatchObject({ status: "suspended" })
		expect((await tenantRoute("cached-co")).status).toBe(404)
		const activated = await admin(`/tenants/${created.body.id}/activate`, { method: "POST" })
		expect(activated.status).toBe(200)
		expect((await tenantRoute("cached-co")).status).toBe(200)
	})

	it("gets, updates and lists tenants with cursor pagination", async () => {
		const created = await createTenant("list-one")
		await createTenant("list-two")
		const fetched = await admin(`/tenants/${created.body.id}`)
		expect(await fetched.json()).toMatchObject({ id: created.body.id, slug: "list-one" })
		const patched = await admin(`/tenants/${created.body.id}`, {
			method: "PATCH",
			body: '{"name":"Renamed","settings":{"maxSessionsPerUser":3}}',
		})
		expect(await patched.json()).toMatchObject({ name: "Renamed", settings: { maxSessionsPerUser: 3 } })
		const seen: Array<string> = []
		let cursor: string | null = ""
		let pages = 0
		while (cursor !== null && pages < 50) {
			const page = await admin(`/tenants?limit=1${cursor === "" ? "" : `&cursor=${cursor}`}`)
			const body = (await page.json()) as { items: Array<{ slug: string }>; nextCursor: string | null }
			expect(body.items.length).toBeLessThanOrEqual(1)
			seen.push(...body.items.map((item) => item.slug))
			cursor = body.nextCursor
			pages += 1
		}
		expect(seen).toEqual(expect.arrayContaining(["acme", "list-one", "list-two"]))
		expect(new Set(seen).size).toBe(seen.length)
	})

	it("the request's id, ip and user agent reach the entity's audit row through the RPC headers", async () => {
		const response = await admin("/tenants", {
			method: "POST",
			body: '{"slug":"audited","name":"Audited"}',
			headers: { "x-request-id": "corr-abc", "user-agent": "audit-test/1.0" },
		})
		const tenant = (await response.json()) as { id: string }
		const client = new pg.Client({ connectionString: platform.databaseUrl })
		await client.connect()
		const rows = await client
			.query(
				"SELECT operation, request_id, ip_address, user_agent FROM audit_logs WHERE subject_id = $1 ORDER BY id",
				[tenant.id],
			)
			.finally(() => client.end())
		expect(rows.rows).toEqual([
			{
				operation: "create",
				request_id: "corr-abc",
				ip_address: expect.stringContaining("127.0.0.1"),
				user_agent: "audit-test/1.0",
			},
			{
				operation: "activate",
				request_id: "corr-abc",
				ip_address: expect.stringContaining("127.0.0.1"),
				user_agent: "audit-test/1.0",
			},
		])
	})

	it("serves the OpenAPI document and the docs page; liveness and readiness answer 200", async () => {
		const openapi = (await (await fetch(`${platform.baseUrl}/openapi.json`)).json()) as {
			paths: Record<string, unknown>
		}
		expect(Object.keys(openapi.paths)).toEqual(
			expect.arrayContaining(["/admin/v1/tenants", "/admin/v1/tenants/{id}", "/v1/tenant", "/health/ready"]),
		)
		expect((await fetch(`${platform.baseUrl}/docs`)).status).toBe(200)
		expect((await fetch(`${platform.baseUrl}/health/live`)).status).toBe(200)
		expect(await (await fetch(`${platform.baseUrl}/health/ready`)).json()).toMatchObject({ status: "ready" })
	})
})

describe("gateway: bad input", () => {
	it("/v1/tenant without X-App-Id or with an empty one → 400 MissingTenant", async () => {
		for (const response of [await tenantRoute(), await tenantRoute("")]) {
			expect(response.status).toBe(400)
			expect(await response.json()).toMatchObject({ _tag: "MissingTenant" })
		}
	})

	it("unknown and deleted tenants → 404 TenantNotFound with identical bodies", async () => {
		const created = await createTenant("doomed")
		const deleted = await admin(`/tenants/${created.body.id}`, { method: "DELETE" })
		expect(deleted.status).toBe(202)
		const unknown = await tenantRoute("never-existed")
		const gone = await tenantRoute("doomed")
		const goneById = await tenantRoute(String(created.body.id))
		expect([unknown.status, gone.status, goneById.status]).toEqual([404, 404, 404])
		const bodies = [await unknown.text(), await gone.text(), await goneById.text()]
		expect(new Set(bodies).size).toBe(1)
		expect(bodies[0]).toContain('"_tag":"TenantNotFound"')
	})

	it("admin routes without or with a wrong bearer → 401 Unauthorized", async () => {
		const missing = await fetch(`${platform.baseUrl}/admin/v1/tenants`)
		const wrong = await fetch(`${platform.baseUrl}/admin/v1/tenants`, { headers: { authorization: "Bearer nope" } })
		for (const response of [missing, wrong]) {
			expect(response.status).toBe(401)
			expect(await response.json()).toMatchObject({ _tag: "Unauthorized" })
		}
	})

	it.each(["A", "ab", "a".repeat(64), "acme_co", "ünïcode"])("slug %j → 400 naming the field", async (slug) => {
		const response = await admin("/tenants", { method: "POST", body: `{"slug":"${slug}","name":"X"}` })
		const body = (await response.json()) as {
			_tag: string
			message: string
			issues: Array<{ path: Array<string> }>
		}
		expect(response.status).toBe(400)
		expect(body._tag).toBe("ValidationError")
		expect(body.message).toContain("slug")
		expect(body.issues[0]?.path).toEqual(["slug"])
	})

	it("a duplicate slug → 409 TenantSlugTaken", async () => {
		await createTenant("twice")
		const again = await createTenant("twice")
		expect(again.status).toBe(409)
		expect(again.body).toMatchObject({ _tag: "TenantSlugTaken" })
	})

	it("suspending a suspended tenant and activating a deleted one → 409 InvalidTransition", async () => {
		const suspendedTenant = await createTenant("sleepy")
		await admin(`/tenants/${suspendedTenant.body.id}/suspend`, { method: "POST" })
		const again = await admin(`/tenants/${suspendedTenant.body.id}/suspend`, { method: "POST" })
		const deletedTenant = await createTenant("gone-co")
		await admin(`/tenants/${deletedTenant.body.id}`, { method: "DELETE" })
		const revive = await admin(`/tenants/${deletedTenant.body.id}/activate`, { method: "POST" })
		for (const response of [again, revive]) {
			expect(response.status).toBe(409)
			expect(await response.json()).toMatchObject({ _tag: "InvalidTransition" })
		}
	})

	it("malformed JSON → 400, wrong content type → 415, a 2 MB body → 413", async () => {
		const malformed = await admin("/tenants", { method: "POST", body: '{"slug":' })
		const wrongType = await admin("/tenants", {
			method: "POST",
			body: "slug=acme",
			headers: { "content-type": "text/plain" },
		})
		const huge = await admin("/tenants", {
			method: "POST",
			body: `{"slug":"big","name":"${"x".repeat(2 * 1024 * 1024)}"}`,
		})
		expect(malformed.status).toBe(400)
		expect(await malformed.json()).toMatchObject({ _tag: "ValidationError" })
		expect(wrongType.status).toBe(415)
		expect(await wrongType.json()).toMatchObject({ _tag: "UnsupportedMediaType" })
		expect(huge.status).toBe(413)
		expect(await huge.json()).toMatchObject({ _tag: "PayloadTooLarge" })
		expect((await tenantRoute("big")).status).toBe(404)
	})

	it("X-Request-Id: a valid one is echoed; 500 chars or spaces are replaced by a generated id", async () => {
		const echoed = await tenantRoute("acme", { "x-request-id": "abc.DEF_123-x" })
		const tooLong = await tenantRoute("acme", { "x-request-id": "a".repeat(500) })
		const spaced = await tenantRoute("acme", { "x-request-id": "has spaces" })
		const failed = await tenantRoute(undefined, { "x-request-id": "on-error" })
		expect(echoed.headers.get("x-request-id")).toBe("abc.DEF_123-x")
		expect(failed.headers.get("x-request-id")).toBe("on-error")
		for (const response of [tooLong, spaced]) {
			const id = response.headers.get("x-request-id") ?? ""
			expect(id).toMatch(/^[A-Za-z0-9._-]{1,128}$/)
			expect(id).not.toBe("has spaces")
			expect(id.length).toBeLessThan(500)
		}
	})

	it("an unknown route → 404 with a tagged body; a bad limit → 400", async () => {
		const unknown = await fetch(`${platform.baseUrl}/v2/nothing`)
		expect(unknown.status).toBe(404)
		expect(await unknown.json()).toMatchObject({ _tag: "RouteNotFound" })
		for (const limit of ["0", "101", "abc"]) {
			const response = await admin(`/tenants?limit=${limit}`)
			expect(response.status).toBe(400)
			expect(await response.json()).toMatchObject({ _tag: "ValidationError" })
		}
	})

	it("a validation error names the field and never echoes the offending value", async () => {
		const secret = `ecps_${"S".repeat(43)}`
		await createTenant("echo-co")
		const response = await fetch(`${platform.baseUrl}/v1/api-keys/${secret}`, {
			method: "DELETE",
			headers: { "x-app-id": "echo-co", authorization: `Bearer ${platform.adminToken}` },
		})
		const text = await response.text()
		expect(response.status).toBe(400)
		expect(text).toContain("ValidationError")
		expect(text).not.toContain(secret)
		const badLimit = await (await admin("/tenants?limit=secret-value-123")).text()
		expect(badLimit).toContain("ValidationError")
		expect(badLimit).not.toContain("secret-value-123")
	})
})
