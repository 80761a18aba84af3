// Edge input that used to slip past validation: a deeply nested JSON body (was 500, must be 400 ValidationError), and
// upper-case tenant ids, which addressed a second entity for the same tenant and dodged cache invalidation.
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { adminCall } from "../fixtures/SignIn.ts"

let platform: Awaited<ReturnType<typeof startPlatform>>

const admin = (method: string, path: string, body?: string) =>
	adminCall(platform.baseUrl, platform.adminToken, method, path, body)

const sql = async <R>(text: string, values: ReadonlyArray<unknown> = []) => {
	const client = new pg.Client({ connectionString: platform.databaseUrl })
	await client.connect()
	return client
		.query(text, [...values])
		.then((result) => result.rows as Array<R>)
		.finally(() => client.end())
}

beforeAll(async () => {
	platform = await startPlatform()
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
}, 90_000)

describe("deeply nested JSON", () => {
	it.each([
		["unbalanced", "[".repeat(10_000)],
		["balanced", `${"[".repeat(10_000)}${"]".repeat(10_000)}`],
		[
			"nested objects in a field",
			`{"slug":"deep-co","name":"Deep","settings":${'{"a":'.repeat(5_000)}1${"}".repeat(5_000)}}`,
		],
	])("a body of 10,000 levels (%s) → 400 ValidationError, never 500", async (_name, body) => {
		const response = await admin("POST", "/tenants", body)
		expect(response.status).toBe(400)
		expect(await response.json()).toMatchObject({ _tag: "ValidationError" })
	})
})

describe("upper-case tenant ids", () => {
	it("GET /admin/v1/tenants/{UPPER} answers the same tenant, and X-App-Id / ?tenant= accept it", async () => {
		const created = await admin("POST", "/tenants", `{"slug":"upper-co","name":"Upper"}`)
		expect(created.status).toBe(201)
		const tenant = (await created.json()) as { id: string }
		const upper = tenant.id.toUpperCase()
		const got = await admin("GET", `/tenants/${upper}`)
		expect(got.status).toBe(200)
		expect(await got.json()).toMatchObject({ id: tenant.id, slug: "upper-co" })
		const publicView = await fetch(`${platform.baseUrl}/v1/tenant`, { headers: { "x-app-id": upper } })
		expect(publicView.status).toBe(200)
		expect(await publicView.json()).toMatchObject({ id: tenant.id })
		const jobs = await admin("GET", `/workflows?tenant=${upper}`)
		expect(jobs.status).toBe(200)
	})

	it("a suspend through the upper-case id reaches the one entity and drops the lower-case id from the cache", async () => {
		const created = await admin("POST", "/tenants", `{"slug":"suspend-upper","name":"Suspend"}`)
		const tenant = (await created.json()) as { id: string }
		const upper = tenant.id.toUpperCase()
		// Warm the gateway's cache under both spellings.
		expect((await fetch(`${platform.baseUrl}/v1/tenant`, { headers: { "x-app-id": tenant.id } })).status).toBe(200)
		expect((await fetch(`${platform.baseUrl}/v1/tenant`, { headers: { "x-app-id": upper } })).status).toBe(200)
		const suspended = await admin("POST", `/tenants/${tenant.id.toUpperCase()}/suspend`)
		expect(suspended.status).toBe(200)
		expect(await suspended.json()).toMatchObject({ id: tenant.id, status: "suspended" })
		const after = await fetch(`${platform.baseUrl}/v1/tenant`, { headers: { "x-app-id": tenant.id } })
		expect(after.status).toBe(404)
		const afterUpper = await fetch(`${platform.baseUrl}/v1/tenant`, { headers: { "x-app-id": upper } })
		expect(afterUpper.status).toBe(404)
		// The entity behind the lower-case id saw the suspension: activating through it works (suspended → active).
		const activated = await admin("POST", `/tenants/${tenant.id}/activate`)
		expect(activated.status).toBe(200)
		expect(await activated.json()).toMatchObject({ status: "active" })
		const rows = await sql<{ status: string }>("SELECT status FROM apps WHERE id = $1", [tenant.id])
		expect(rows).toEqual([{ status: "active" }])
	})
})
