// /health/ready of a real gateway process: 503 naming the failing checks (`cluster`, `shards`) while no runner holds
// shards, 200 with every check ok once a runner has taken them all.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, run, start, stopAll, testEncryptionKeys, waitFor } from "../fixtures/Processes.ts"
import { createDatabase } from "../fixtures/TestDatabase.ts"

// --- [TYPES]

type Readiness = {
	readonly status: number
	readonly body: { readonly message?: string; readonly checks?: Record<string, string> }
}

// --- [STATE]

let database: Awaited<ReturnType<typeof createDatabase>>
let env: Record<string, string> = {}

// --- [SUITE]

describe("/health/ready", () => {
	beforeAll(async () => {
		database = await createDatabase("ready")
		env = {
			DATABASE_URL: database.url,
			REDIS_URL: "redis://127.0.0.1:6379",
			REDIS_KEY_PREFIX: `${database.name}:`,
			ENCRYPTION_KEYS: testEncryptionKeys,
			ADMIN_TOKEN: `admin-${crypto.randomUUID()}`,
		}
		const migrated = await run("migrate", env)
		expect(migrated.code, migrated.output).toBe(0)
	}, 60_000)

	afterAll(async () => {
		await stopAll()
		await database.drop()
	}, 60_000)

	it("is 503 naming shards before a runner holds them, 200 after", async () => {
		const gatewayPort = await freePort()
		const url = `http://127.0.0.1:${gatewayPort}/health/ready`
		const gateway = start("ready-gateway", "gateway", { ...env, GATEWAY_PORT: String(gatewayPort) })
		const readiness = async (): Promise<Readiness> => {
			const response = await fetch(url)
			return { status: response.status, body: (await response.json()) as Readiness["body"] }
		}
		let before: Readiness | undefined
		const answered = await waitFor(async () => {
			before = await readiness()
			return true
		}, 60_000)
		expect(answered, gateway.output()).toBe(true)
		expect(before?.status).toBe(503)
		expect(before?.body.checks).toMatchObject({ database: "ok", shards: "failing" })
		expect(before?.body.message).toMatch(/shards/)

		start("ready-runner", "runner", { ...env, RUNNER_PORT: String(await freePort()) })
		let after: Readiness | undefined
		const ready = await waitFor(async () => {
			after = await readiness()
			return after.status === 200
		}, 60_000)
		expect(ready, gateway.output()).toBe(true)
		expect(after?.body.checks).toEqual({ database: "ok", cluster: "ok", shards: "ok" })
	}, 150_000)
})
