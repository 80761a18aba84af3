// Idempotency-Key against a runner and a gateway in separate processes. A client that gives up on a persisted call (its fetch aborted
// while the tenant's row is locked, so the call cannot finish) and retries with the same key gets the real outcome,
// never an empty 503.
import { Schema } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { stopAll, waitFor } from "../fixtures/Processes.ts"
import { startStack } from "../fixtures/Stack.ts"

// --- [CONSTANTS]

const encodeJson = Schema.encodeSync(Schema.parseJson())
const decodeJson = Schema.decodeUnknownSync(Schema.parseJson())

// --- [STATE]

let stack: Awaited<ReturnType<typeof startStack>>
let baseUrl = ""

// --- [FUNCTIONS]

const admin = async (path: string, init: RequestInit = {}) => {
	const response = await fetch(`${baseUrl}/admin/v1${path}`, {
		...init,
		headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json", ...init.headers },
	})
	const text = await response.text()
	return { status: response.status, text, body: (text === "" ? null : decodeJson(text)) as Record<string, unknown> }
}

const createTenant = async (slug: string) => {
	const created = await admin("/tenants", { method: "POST", body: encodeJson({ slug, name: slug }) })
	expect(created.status).toBe(201)
	return created.body["id"] as string
}

// Holds a row lock on the tenant's `apps` row until released: the entity's UPDATE waits behind it.
const lockTenant = async (tenantId: string) => {
	const connection = new pg.Client({ connectionString: stack.database.url })
	await connection.connect()
	await connection.query("BEGIN")
	await connection.query("SELECT id FROM apps WHERE id = $1 FOR UPDATE", [tenantId])
	const waiting = () =>
		connection
			.query(
				"SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'",
			)
			.then((result) => (result.rows[0] as { n: number }).n > 0)
	return {
		waiting,
		release: async () => {
			await connection.query("ROLLBACK")
			await connection.end()
		},
	}
}

// --- [TESTS]

beforeAll(async () => {
	stack = await startStack({ name: "idem", gateways: 1 })
	expect(stack.ready).toBe(true)
	baseUrl = stack.gateways[0]!.url
}, 120_000)

afterAll(async () => {
	await stopAll()
	await stack?.database.drop()
}, 90_000)

describe("Idempotency-Key on a persisted call", () => {
	it("a request abandoned by its client does not poison its key: the retry answers the real outcome", async () => {
		const tenantId = await createTenant(`idem-abort-${crypto.randomUUID().slice(0, 8)}`)
		const key = `abort-${crypto.randomUUID()}`
		const lock = await lockTenant(tenantId)
		const controller = new AbortController()
		const abandoned = fetch(`${baseUrl}/admin/v1/tenants/${tenantId}/suspend`, {
			method: "POST",
			headers: { authorization: `Bearer ${stack.adminToken}`, "idempotency-key": key },
			signal: controller.signal,
		}).catch((error: unknown) => error)
		// The entity is now blocked on the row lock: the call is in flight when the client gives up.
		expect(await waitFor(lock.waiting, 20_000, 50)).toBe(true)
		controller.abort()
		await abandoned
		await lock.release()
		const retried = await admin(`/tenants/${tenantId}/suspend`, {
			method: "POST",
			headers: { "idempotency-key": key },
		})
		expect(retried.status).toBe(200)
		expect(retried.body["status"]).toBe("suspended")
		const again = await admin(`/tenants/${tenantId}/suspend`, {
			method: "POST",
			headers: { "idempotency-key": key },
		})
		expect(again.status).toBe(200)
		expect(again.body["status"]).toBe("suspended")
	}, 90_000)

	it("a stored interrupted reply is never the answer: the repeat runs the work again", async () => {
		const tenantId = await createTenant(`idem-poison-${crypto.randomUUID().slice(0, 8)}`)
		const key = `poison-${crypto.randomUUID()}`
		const first = await admin(`/tenants/${tenantId}/suspend`, {
			method: "POST",
			headers: { "idempotency-key": key },
		})
		expect(first.status).toBe(200)
		expect((await admin(`/tenants/${tenantId}/activate`, { method: "POST" })).body["status"]).toBe("active")
		// What a cancelled call used to leave behind: the message's reply is an interruption.
		const connection = new pg.Client({ connectionString: stack.database.url })
		await connection.connect()
		const poisoned = await connection.query(
			`UPDATE cluster_replies SET payload = $1 WHERE request_id IN
				(SELECT request_id FROM cluster_messages WHERE message_id LIKE $2)`,
			[
				encodeJson({ _tag: "Failure", cause: { _tag: "Interrupt", fiberId: { _tag: "None" } } }),
				`Tenant/${tenantId}/Transition/suspend:%`,
			],
		)
		await connection.end()
		expect(poisoned.rowCount).toBe(1)
		// Another URL of the same route: past the gateway's kept outcome, down to the entity message.
		const repeat = await admin(`/tenants/${tenantId}/suspend?again=1`, {
			method: "POST",
			headers: { "idempotency-key": key },
		})
		expect(repeat.status).toBe(200)
		expect(repeat.body["status"]).toBe("suspended")
	}, 90_000)
})
