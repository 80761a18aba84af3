// Idempotency-Key on mutating routes, against the in-process platform: a malformed key is a 400; a repeat with the
// same key and credential gets the first outcome (a persisted entity route and a volatile one); the same key from
// another tenant or a wrong credential is another request.
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"

// --- [CONSTANTS]

const encodeJson = Schema.encodeSync(Schema.parseJson())
const decodeJson = Schema.decodeUnknownSync(Schema.parseJson())

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>

// --- [FUNCTIONS]

const call = async (path: string, init: RequestInit & { readonly token?: string } = {}) => {
	const response = await fetch(`${platform.baseUrl}${path}`, {
		...init,
		headers: {
			authorization: `Bearer ${init.token ?? platform.adminToken}`,
			"content-type": "application/json",
			...init.headers,
		},
	})
	const text = await response.text()
	return {
		status: response.status,
		replayed: response.headers.get("idempotent-replayed"),
		body: (text === "" ? null : decodeJson(text)) as Record<string, unknown>,
	}
}

const createTenant = async () => {
	const slug = `idem-${crypto.randomUUID().slice(0, 8)}`
	const created = await call("/admin/v1/tenants", { method: "POST", body: encodeJson({ slug, name: slug }) })
	expect(created.status).toBe(201)
	return created.body["id"] as string
}

const broadcast = (tenantId: string, key: string, token?: string) =>
	call("/v1/channels/news/broadcast", {
		method: "POST",
		headers: { "x-app-id": tenantId, "idempotency-key": key },
		body: encodeJson({ payload: { hello: "world" } }),
		...(token === undefined ? {} : { token }),
	})

// --- [TESTS]

beforeAll(async () => {
	platform = await startPlatform()
}, 90_000)

afterAll(async () => {
	await platform?.stop()
}, 60_000)

describe("Idempotency-Key", () => {
	it("a malformed key is a 400 ValidationError, on admin and tenant routes", async () => {
		const tenantId = await createTenant()
		for (const key of ["", "x".repeat(256), "a\tb"]) {
			const suspended = await call(`/admin/v1/tenants/${tenantId}/suspend`, {
				method: "POST",
				headers: { "idempotency-key": key },
			})
			expect(suspended.status).toBe(400)
			expect(suspended.body["_tag"]).toBe("ValidationError")
			const broadcasted = await broadcast(tenantId, key)
			expect(broadcasted.status).toBe(400)
			expect(broadcasted.body["_tag"]).toBe("ValidationError")
		}
		const tenant = await call(`/admin/v1/tenants/${tenantId}`)
		expect(tenant.body["status"]).toBe("active")
		const longest = await broadcast(tenantId, "k".repeat(255))
		expect(longest.status).toBe(202)
	}, 30_000)

	it("a repeated key on a persisted route answers the first outcome and changes nothing again", async () => {
		const tenantId = await createTenant()
		const key = `suspend-${crypto.randomUUID()}`
		const first = await call(`/admin/v1/tenants/${tenantId}/suspend`, {
			method: "POST",
			headers: { "idempotency-key": key },
		})
		expect(first.status).toBe(200)
		expect(first.body["status"]).toBe("suspended")
		const activated = await call(`/admin/v1/tenants/${tenantId}/activate`, { method: "POST" })
		expect(activated.body["status"]).toBe("active")
		const repeat = await call(`/admin/v1/tenants/${tenantId}/suspend`, {
			method: "POST",
			headers: { "idempotency-key": key },
		})
		expect(repeat.status).toBe(200)
		expect(repeat.body).toEqual(first.body)
		expect(repeat.replayed).toBe("true")
		expect((await call(`/admin/v1/tenants/${tenantId}`)).body["status"]).toBe("active")
	}, 30_000)

	it("a repeated key on a volatile route (broadcast) answers the first outcome; another tenant's key is its own", async () => {
		const [tenantA, tenantB] = [await createTenant(), await createTenant()]
		const key = `broadcast-${crypto.randomUUID()}`
		const first = await broadcast(tenantA, key)
		expect(first.status).toBe(202)
		const repeat = await broadcast(tenantA, key)
		expect(repeat.status).toBe(202)
		expect(repeat.body).toEqual(first.body)
		expect(repeat.replayed).toBe("true")
		const other = await broadcast(tenantA, `${key}-other`)
		expect(other.body["seq"]).not.toEqual(first.body["seq"])
		const otherTenant = await broadcast(tenantB, key)
		expect(otherTenant.status).toBe(202)
		expect(otherTenant.replayed).toBeNull()
	}, 30_000)

	it("the same key with a wrong credential is not answered from the first outcome", async () => {
		const tenantId = await createTenant()
		const key = `credential-${crypto.randomUUID()}`
		expect((await broadcast(tenantId, key)).status).toBe(202)
		const stranger = await broadcast(tenantId, key, "not-the-admin-token")
		expect(stranger.status).toBe(401)
		expect(stranger.body["_tag"]).toBe("Unauthorized")
	}, 30_000)
})
