// ADMIN_TOKEN cannot be guessed into: an empty or short one refuses the start of the gateway and of the all-in-one
// (naming ADMIN_TOKEN), an empty expectation or an empty presented token never matches, and the all-in-one replaces a
// stored token that is empty or short.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigProvider, Effect, Option, Redacted } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { AdminTokenMinLength, isAdminToken } from "../../gateway/AdminToken.ts"
import { GatewayConfigRecipe } from "../../gateway/GatewayConfig.ts"
import { exited, freePort, type Managed, start, stop, testEncryptionKeys, waitFor } from "../fixtures/Processes.ts"
import { createDatabase } from "../fixtures/TestDatabase.ts"

// --- [CONSTANTS]

const goodToken = `admin-${crypto.randomUUID()}`

// --- [STATE]

let database: Awaited<ReturnType<typeof createDatabase>>
let dataDir = ""

// --- [FUNCTIONS]

const gatewayConfig = (adminToken: string) =>
	Effect.runPromise(
		GatewayConfigRecipe.pipe(
			Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ADMIN_TOKEN", adminToken]]))),
		),
	)

// A process that must refuse to start: it exits by itself (within 45 s) with a non-zero code.
const refused = async (managed: Managed) => {
	const timer = setTimeout(() => managed.child.kill("SIGKILL"), 45_000)
	const code = await exited(managed)
	clearTimeout(timer)
	return { code, signal: managed.child.signalCode, output: managed.output() }
}

const processEnv = async () => ({
	DATABASE_URL: database.url,
	REDIS_URL: "redis://127.0.0.1:6379",
	REDIS_KEY_PREFIX: `${database.name}:`,
	ENCRYPTION_KEYS: testEncryptionKeys,
	DATA_DIR: dataDir,
	GATEWAY_PORT: String(await freePort()),
	RUNNER_PORT: String(await freePort()),
})

// --- [SUITE]

describe("ADMIN_TOKEN", () => {
	beforeAll(async () => {
		database = await createDatabase("admintoken")
		dataDir = mkdtempSync(join(tmpdir(), "admintoken-"))
	})

	afterAll(async () => {
		await database.drop()
		rmSync(dataDir, { recursive: true, force: true })
	})

	it("an empty expectation or an empty presented token is never the admin token", () => {
		expect(isAdminToken(Option.some(Redacted.make("")), Redacted.make(""))).toBe(false)
		expect(isAdminToken(Option.some(Redacted.make("short")), Redacted.make("short"))).toBe(false)
		expect(isAdminToken(Option.some(Redacted.make(goodToken)), Redacted.make(""))).toBe(false)
		expect(isAdminToken(Option.none(), Redacted.make(""))).toBe(false)
		expect(isAdminToken(Option.some(Redacted.make(goodToken)), Redacted.make(`${goodToken}x`))).toBe(false)
		expect(isAdminToken(Option.some(Redacted.make(goodToken)), Redacted.make(goodToken))).toBe(true)
	})

	it("the gateway configuration refuses an empty or short ADMIN_TOKEN, naming it", async () => {
		await expect(gatewayConfig("")).rejects.toThrow(/ADMIN_TOKEN must be at least 32 characters/)
		await expect(gatewayConfig("x".repeat(AdminTokenMinLength - 1))).rejects.toThrow(
			/ADMIN_TOKEN must be at least 32 characters/,
		)
		const accepted = await gatewayConfig("x".repeat(AdminTokenMinLength))
		expect(Option.isSome(accepted.adminToken)).toBe(true)
	})

	it("the gateway process refuses to start with a short ADMIN_TOKEN", async () => {
		const outcome = await refused(
			start("gateway-short-token", "gateway", { ...(await processEnv()), ADMIN_TOKEN: "secret" }),
		)
		expect({ signal: outcome.signal, failed: outcome.code !== 0 }, outcome.output).toEqual({
			signal: null,
			failed: true,
		})
		expect(outcome.output).toMatch(/ADMIN_TOKEN must be at least 32 characters/)
	})

	it("the all-in-one refuses to start with an empty ADMIN_TOKEN", async () => {
		const outcome = await refused(
			start("allinone-empty-token", "allinone", { ...(await processEnv()), ADMIN_TOKEN: "" }),
		)
		expect({ signal: outcome.signal, failed: outcome.code !== 0 }, outcome.output).toEqual({
			signal: null,
			failed: true,
		})
		expect(outcome.output).toMatch(/ADMIN_TOKEN must be at least 32 characters/)
	})

	it("the all-in-one replaces a stored admin token that is short", async () => {
		const stored = join(dataDir, "admin-token")
		writeFileSync(stored, "short\n", { mode: 0o600 })
		const env = await processEnv()
		const managed = start("allinone-stored-token", "allinone", env)
		const live = await waitFor(
			async () => (await fetch(`http://127.0.0.1:${env.GATEWAY_PORT}/health/live`)).status === 200,
			45_000,
		)
		expect(live, managed.output()).toBe(true)
		const token = existsSync(stored) ? readFileSync(stored, "utf8").trim() : ""
		expect(token.length).toBeGreaterThanOrEqual(AdminTokenMinLength)
		const admin = (authorization: string) =>
			fetch(`http://127.0.0.1:${env.GATEWAY_PORT}/admin/v1/tenants`, { headers: { authorization } })
		expect((await admin("Bearer short")).status).toBe(401)
		expect((await admin("Bearer ")).status).toBe(401)
		expect((await admin(`Bearer ${token}`)).status).toBe(200)
		await stop(managed)
	})
})
