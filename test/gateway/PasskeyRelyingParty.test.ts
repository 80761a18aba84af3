// A tenant's WebAuthn relying party over the admin API: stored per tenant, read back as stored, audited; origins that
// browsers would never accept for the RP ID (plain http off localhost, another domain) and RP IDs that are not domain
// names are refused with 400 before anything is written.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import pg from "pg"
import { Schema } from "effect"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"

const json = Schema.encodeSync(Schema.parseJson())

let platform: Awaited<ReturnType<typeof startPlatform>>

const admin = (path: string, init: RequestInit = {}) =>
	fetch(`${platform.baseUrl}/admin/v1${path}`, {
		...init,
		headers: { authorization: `Bearer ${platform.adminToken}`, "content-type": "application/json" },
	})

const createTenant = async (slug: string) =>
	(
		(await (await admin("/tenants", { method: "POST", body: json({ slug, name: slug }) })).json()) as {
			id: string
		}
	).id

const query = async (text: string, values: Array<unknown>) => {
	const client = new pg.Client({ connectionString: platform.databaseUrl })
	await client.connect()
	return client
		.query(text, values)
		.then((result) => result.rows)
		.finally(() => client.end())
}

const valid = {
	rpId: "example.com",
	rpName: "Example",
	origins: ["https://example.com", "https://app.example.com:8443"],
	mfa: "optional",
	userVerification: "required",
}

beforeAll(async () => {
	platform = await startPlatform()
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
}, 60_000)

describe("tenant WebAuthn relying party", () => {
	it("is not configured at first, then stored, read back and audited; other tenants are untouched", async () => {
		const tenantId = await createTenant("rp-one")
		const other = await createTenant("rp-two")
		const before = await admin(`/tenants/${tenantId}/webauthn`)
		expect(before.status).toBe(404)
		expect(((await before.json()) as { _tag: string })._tag).toBe("WebAuthnNotConfigured")

		const put = await admin(`/tenants/${tenantId}/webauthn`, { method: "PUT", body: json(valid) })
		expect(put.status).toBe(200)
		expect(await put.json()).toMatchObject(valid)
		const got = await admin(`/tenants/rp-one/webauthn`)
		expect(got.status).toBe(200)
		expect(await got.json()).toMatchObject(valid)

		const local = { ...valid, rpId: "localhost", origins: ["http://localhost:5173"], mfa: "required" }
		const replaced = await admin(`/tenants/${tenantId}/webauthn`, { method: "PUT", body: json(local) })
		expect(replaced.status).toBe(200)
		expect(await (await admin(`/tenants/${tenantId}/webauthn`)).json()).toMatchObject(local)

		expect((await admin(`/tenants/${other}/webauthn`)).status).toBe(404)
		const audits = await query(
			"SELECT operation, subject_type FROM audit_logs WHERE app_id = $1 AND subject_type = 'webauthn_relying_party'",
			[tenantId],
		)
		expect(audits).toEqual([
			{ operation: "update", subject_type: "webauthn_relying_party" },
			{ operation: "update", subject_type: "webauthn_relying_party" },
		])
	}, 60_000)

	it("refuses origins and RP IDs a browser would not accept, with 400 and nothing stored", async () => {
		const tenantId = await createTenant("rp-bad")
		const cases = [
			{ ...valid, origins: ["http://example.com"] },
			{ ...valid, origins: ["https://example.org"] },
			{ ...valid, origins: ["https://notexample.com"] },
			{ ...valid, origins: ["https://example.com/path"] },
			{ ...valid, origins: [] },
			{ ...valid, rpId: "example.com:443" },
			{ ...valid, rpId: "https://example.com" },
			{ ...valid, rpId: "127.0.0.1", origins: ["http://127.0.0.1:3000"] },
			{ ...valid, mfa: "sometimes" },
			{ ...valid, userVerification: "discouraged" },
		]
		for (const body of cases) {
			const response = await admin(`/tenants/${tenantId}/webauthn`, { method: "PUT", body: json(body) })
			expect(response.status, json(body)).toBe(400)
		}
		expect(await query("SELECT 1 FROM webauthn_relying_parties WHERE app_id = $1", [tenantId])).toEqual([])
		expect((await admin(`/tenants/00000000-0000-4000-8000-000000000000/webauthn`)).status).toBe(404)
	}, 60_000)
})
