import { afterAll, beforeAll, describe, expect, it } from "vitest"
import pg from "pg"
import { createServer, type Server } from "node:http"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { run, stopAll } from "../fixtures/Processes.ts"
import { createDatabase } from "../fixtures/TestDatabase.ts"

// Two key rings: "old" alone, then "new" current with "old" still able to open.
const oldKey = `old:${Buffer.alloc(32, 1).toString("base64")}`
const newKey = `new:${Buffer.alloc(32, 2).toString("base64")}`

let database: Awaited<ReturnType<typeof createDatabase>>
let platform: Awaited<ReturnType<typeof startPlatform>>
// A provider is saved only once its discovery works: this serves an OpenID configuration for any issuer under it.
let discovery: Server
let issuerBase = ""

const admin = (path: string, init: RequestInit = {}) =>
	fetch(`${platform.baseUrl}/admin/v1${path}`, {
		...init,
		headers: { authorization: `Bearer ${platform.adminToken}`, "content-type": "application/json" },
	})

const envelopes = async () => {
	const client = new pg.Client({ connectionString: database.url })
	await client.connect()
	return client
		.query("SELECT app_id, provider, client_secret_enc FROM oauth_providers ORDER BY provider")
		.then((result) => result.rows as Array<{ app_id: string; provider: string; client_secret_enc: string }>)
		.finally(() => client.end())
}

beforeAll(async () => {
	discovery = createServer((request, response) => {
		const issuer = `${issuerBase}${(request.url ?? "/").replace(/\/\.well-known\/openid-configuration$/, "")}`
		response.setHeader("content-type", "application/json")
		response.end(
			`{"issuer":"${issuer}","authorization_endpoint":"${issuer}/auth","token_endpoint":"${issuer}/token",` +
				`"jwks_uri":"${issuer}/jwks"}`,
		)
	})
	await new Promise<void>((resolve) => discovery.listen(0, "127.0.0.1", resolve))
	const address = discovery.address()
	issuerBase = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
	database = await createDatabase("oauth")
	platform = await startPlatform({ DATABASE_URL: database.url, ENCRYPTION_KEYS: oldKey })
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await stopAll()
	await database?.drop()
	discovery?.close()
}, 90_000)

describe("tenant OAuth providers and key re-encryption", () => {
	let tenantId = ""

	it("stores a provider with its client secret sealed, never returns the secret, and lists per tenant", async () => {
		const tenant = (await (
			await admin("/tenants", { method: "POST", body: '{"slug":"oauth-co","name":"OAuth"}' })
		).json()) as {
			id: string
		}
		tenantId = tenant.id
		const other = (await (
			await admin("/tenants", { method: "POST", body: '{"slug":"other-co","name":"Other"}' })
		).json()) as {
			id: string
		}
		for (const provider of ["google", "github", "okta"]) {
			const put = await admin(`/tenants/${tenantId}/oauth-providers/${provider}`, {
				method: "PUT",
				body: `{"issuer":"${issuerBase}/${provider}","clientId":"client-${provider}","clientSecret":"very-secret-${provider}"}`,
			})
			const body = await put.text()
			expect(put.status).toBe(200)
			expect(body).not.toContain("very-secret")
			expect(body).toContain(`client-${provider}`)
		}
		const listed = await (await admin(`/tenants/${tenantId}/oauth-providers`)).text()
		expect(listed).not.toContain("very-secret")
		expect(listed).toContain("okta")
		expect(await (await admin(`/tenants/${other.id}/oauth-providers`)).json()).toEqual({
			items: [],
			nextCursor: null,
		})
		const firstPage = (await (await admin(`/tenants/${tenantId}/oauth-providers?limit=2`)).json()) as {
			items: ReadonlyArray<{ provider: string }>
			nextCursor: string | null
		}
		expect(firstPage.items.map((item) => item.provider)).toEqual(["github", "google"])
		expect(firstPage.nextCursor).toBe("google")
		const secondPage = (await (
			await admin(`/tenants/${tenantId}/oauth-providers?limit=2&cursor=${firstPage.nextCursor}`)
		).json()) as { items: ReadonlyArray<{ provider: string }>; nextCursor: string | null }
		expect(secondPage).toMatchObject({ items: [{ provider: "okta" }], nextCursor: null })
		const rows = await envelopes()
		expect(rows).toHaveLength(3)
		for (const row of rows) {
			expect(row.client_secret_enc).toMatch(/^v1\.old\./)
			expect(row.client_secret_enc).not.toContain("very-secret")
		}
	})

	it("rejects a bad provider name and an issuer that is not a URL with 400, and deletes a provider", async () => {
		const badName = await admin(`/tenants/${tenantId}/oauth-providers/Bad_Name`, {
			method: "PUT",
			body: '{"issuer":"https://x.example","clientId":"c","clientSecret":"s"}',
		})
		const badIssuer = await admin(`/tenants/${tenantId}/oauth-providers/ok`, {
			method: "PUT",
			body: '{"issuer":"not a url","clientId":"c","clientSecret":"s"}',
		})
		expect([badName.status, badIssuer.status]).toEqual([400, 400])
		const removed = await admin(`/tenants/${tenantId}/oauth-providers/github`, { method: "DELETE" })
		expect(removed.status).toBe(200)
		const again = await admin(`/tenants/${tenantId}/oauth-providers/github`, { method: "DELETE" })
		expect(again.status).toBe(404)
		expect(await again.json()).toMatchObject({ _tag: "OAuthProviderNotFound" })
	})

	it("keys reencrypt: after a new key becomes current, every secret is resealed with it and still opens", async () => {
		await platform.stop()
		platform = await startPlatform({ DATABASE_URL: database.url, ENCRYPTION_KEYS: `${newKey},${oldKey}` })
		const first = await run("cli", { DATABASE_URL: database.url, ENCRYPTION_KEYS: `${newKey},${oldKey}` }, [
			"keys",
			"reencrypt",
		])
		expect(first.code).toBe(0)
		expect(first.output).toMatch(/resealed:\s+2/)
		expect(first.output).toMatch(/failed:\s+0/)
		const rows = await envelopes()
		expect(rows.map((row) => row.client_secret_enc.split(".")[1])).toEqual(["new", "new"])
		const second = await run("cli", { DATABASE_URL: database.url }, ["keys", "reencrypt"])
		expect(second.code).toBe(0)
		expect(second.output).toMatch(/already current:\s+2/)
		// A ciphertext copied to another row (another provider's binding) does not open: it is reported, not resealed.
		const client = new pg.Client({ connectionString: database.url })
		await client.connect()
		await client
			.query(
				`UPDATE oauth_providers SET client_secret_enc = (SELECT client_secret_enc FROM oauth_providers WHERE provider = 'google')
				 WHERE provider = 'okta'`,
			)
			.finally(() => client.end())
		await platform.stop()
		platform = await startPlatform({
			DATABASE_URL: database.url,
			ENCRYPTION_KEYS: `third:${Buffer.alloc(32, 3).toString("base64")},${newKey}`,
		})
		const third = await run("cli", { DATABASE_URL: database.url }, ["keys", "reencrypt"])
		expect(third.code).toBe(0)
		expect(third.output).toMatch(/resealed:\s+1/)
		expect(third.output).toContain("failed: oauth_providers.client_secret")
		expect(third.output).toContain("okta: decryption failed")
	}, 180_000)
})
