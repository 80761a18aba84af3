// CONTRACT "Tenants (admin)": wherever an admin path or `?tenant=` filter names a tenant, its id (any letter case) or
// its slug is accepted; a malformed one is 400, an unknown one 404 TenantNotFound, never an empty list.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let tenantId = ""
const slug = `ref-${Math.random().toString(36).slice(2, 8)}`

// --- [FUNCTIONS]

const admin = (path: string, init: RequestInit = {}) =>
	fetch(`${platform.baseUrl}/admin/v1${path}`, {
		...init,
		headers: {
			authorization: `Bearer ${platform.adminToken}`,
			"content-type": "application/json",
			...init.headers,
		},
	})

const json = async (response: Response) => ({
	status: response.status,
	body: (await response.json()) as Record<string, unknown>,
})

// --- [SUITE]

beforeAll(async () => {
	platform = await startPlatform()
	expect(platform.ready).toBe(true)
	const created = await json(await admin("/tenants", { method: "POST", body: `{"slug":"${slug}","name":"Ref"}` }))
	expect(created.status).toBe(201)
	tenantId = String(created.body.id)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
}, 60_000)

describe("admin paths name a tenant by id or slug", () => {
	it("GET by slug and by upper-case id reach the same tenant", async () => {
		const bySlug = await json(await admin(`/tenants/${slug}`))
		const byUpper = await json(await admin(`/tenants/${tenantId.toUpperCase()}`))
		expect(bySlug).toMatchObject({ status: 200, body: { id: tenantId, slug } })
		expect(byUpper).toMatchObject({ status: 200, body: { id: tenantId, slug } })
	})

	it("suspends and activates by slug; PATCH by slug", async () => {
		expect(await json(await admin(`/tenants/${slug}/suspend`, { method: "POST" }))).toMatchObject({
			status: 200,
			body: { id: tenantId, status: "suspended" },
		})
		expect(await json(await admin(`/tenants/${slug}/activate`, { method: "POST" }))).toMatchObject({
			status: 200,
			body: { id: tenantId, status: "active" },
		})
		expect(
			await json(await admin(`/tenants/${slug}`, { method: "PATCH", body: '{"name":"Renamed"}' })),
		).toMatchObject({ status: 200, body: { id: tenantId, name: "Renamed" } })
	})

	it("an unknown slug or id is 404 TenantNotFound on every admin tenant path", async () => {
		const unknown = ["no-such-tenant", crypto.randomUUID()]
		const paths = unknown.flatMap((ref) => [
			`/tenants/${ref}`,
			`/tenants/${ref}/oauth-providers`,
			`/tenants/${ref}/users/${crypto.randomUUID()}/sessions`,
		])
		const answers = await Promise.all(paths.map(async (path) => ({ path, ...(await json(await admin(path))) })))
		answers.forEach((answer) =>
			expect(answer, answer.path).toMatchObject({ status: 404, body: { _tag: "TenantNotFound" } }),
		)
	})
})

describe("?tenant= filters take an id or slug and refuse unknown ones", () => {
	it("filters the DLQ and workflow lists by slug and by id alike", async () => {
		const lists = ["/dlq", "/workflows"]
		const answers = await Promise.all(
			lists.flatMap((list) =>
				[slug, tenantId, tenantId.toUpperCase()].map(async (ref) => ({
					list,
					ref,
					...(await json(await admin(`${list}?tenant=${ref}`))),
				})),
			),
		)
		answers.forEach((answer) =>
			expect(answer, `${answer.list} ${answer.ref}`).toMatchObject({ status: 200, body: { items: [] } }),
		)
	})

	it("an unknown tenant is 404 and a malformed one 400, never an empty list", async () => {
		const answers = await Promise.all(
			["/dlq", "/workflows"].flatMap((list) => [
				admin(`${list}?tenant=no-such-tenant`).then(json),
				admin(`${list}?tenant=${crypto.randomUUID()}`).then(json),
				admin(`${list}?tenant=Not_A_Slug!`).then(json),
			]),
		)
		expect(answers.map((answer) => [answer.status, answer.body._tag])).toEqual([
			[404, "TenantNotFound"],
			[404, "TenantNotFound"],
			[400, "ValidationError"],
			[404, "TenantNotFound"],
			[404, "TenantNotFound"],
			[400, "ValidationError"],
		])
	})
})

describe("cursors", () => {
	it("a cursor the list did not issue is 400 ValidationError, not a silent first page", async () => {
		const answers = await Promise.all(
			["/tenants?cursor=garbage", "/dlq?cursor=Zm9v", "/workflows?cursor=abc"].map(async (path) => ({
				path,
				...(await json(await admin(path))),
			})),
		)
		answers.forEach((answer) =>
			expect(answer, answer.path).toMatchObject({ status: 400, body: { _tag: "ValidationError" } }),
		)
	})

	it("the nextCursor a list issued is accepted and continues the list", async () => {
		const first = await json(await admin("/tenants?limit=1"))
		expect(first.status).toBe(200)
		await admin("/tenants", { method: "POST", body: `{"slug":"${slug}-2","name":"Second"}` })
		const again = await json(await admin("/tenants?limit=1"))
		const cursor = String(again.body.nextCursor)
		const next = await json(await admin(`/tenants?limit=1&cursor=${cursor}`))
		expect(next.status).toBe(200)
		expect(next.body.items).toHaveLength(1)
	})
})
