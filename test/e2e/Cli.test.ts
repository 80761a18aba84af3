// The operator CLI against a real runner: a fresh database, migrations, one runner process, then one CLI process per
// command. Each CLI process must exit by itself with the documented code (0 done, 1 refused, 2 usage); one that is
// still alive after CliDeadlineMs is killed and fails its test.
import { Schema } from "effect"
import { Redis } from "ioredis"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { exited, freePort, run, start, stopAll, testEncryptionKeys, waitFor } from "../fixtures/Processes.ts"
import { TenantPage } from "../../entities/tenant/TenantProtocol.ts"
import { createDatabase } from "../fixtures/TestDatabase.ts"

const CliDeadlineMs = 90_000
const TestTimeoutMs = 240_000

let database: Awaited<ReturnType<typeof createDatabase>>
let env: Record<string, string>

const uuidPattern = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/

const cli = async (args: Array<string>, processEnv = env) => {
	const managed = start(`cli ${args.join(" ")}`, "cli", processEnv, args)
	const deadline = setTimeout(() => managed.child.kill("SIGKILL"), CliDeadlineMs)
	const code = await exited(managed)
	clearTimeout(deadline)
	const result = { code, signal: managed.child.signalCode, output: managed.output() }
	// Killed at the deadline → signal SIGKILL and code null: the CLI hung instead of exiting.
	expect({ signal: result.signal, hung: code === null }, result.output).toEqual({ signal: null, hung: false })
	return result
}

// Value of a `key: value` line of `tenants show|create|suspend` output.
const field = (output: string, key: string) => output.match(new RegExp(`^${key}:\\s+(.*)$`, "m"))?.[1]

const healthyRunners = async () => {
	const client = new pg.Client({ connectionString: database.url })
	await client.connect()
	return client
		.query<{ runners: number }>("SELECT count(*)::int AS runners FROM cluster_runners WHERE healthy")
		.then((result) => (result.rows[0]?.runners ?? 0) > 0)
		.finally(() => client.end())
}

beforeAll(async () => {
	database = await createDatabase("cli")
	env = {
		DATABASE_URL: database.url,
		REDIS_URL: "redis://127.0.0.1:6379",
		REDIS_KEY_PREFIX: `${database.name}:`,
		ENCRYPTION_KEYS: testEncryptionKeys,
		RUNNER_PORT: String(await freePort()),
		// stdout stays the command's output; cluster info logs would only add noise to the assertions' messages.
		LOG_LEVEL: "Warn",
	}
	const migrated = await run("migrate", env)
	expect(migrated.code, migrated.output).toBe(0)
	const runner = start("runner", "runner", { ...env, LOG_LEVEL: "Info" })
	const ready = await waitFor(healthyRunners, 90_000, 500)
	expect(ready, runner.output()).toBe(true)
}, 180_000)

afterAll(async () => {
	await stopAll()
	await database?.drop()
}, 60_000)

describe("e2e: cli", () => {
	let tenantId = ""

	it(
		"tenants create prints the new active tenant and exits 0",
		async () => {
			const created = await cli(["tenants", "create", "acme", "Acme"])
			expect(created.code, created.output).toBe(0)
			expect(field(created.output, "slug")).toBe("acme")
			expect(field(created.output, "name")).toBe("Acme")
			expect(field(created.output, "status")).toBe("active")
			tenantId = field(created.output, "id") ?? ""
			expect(tenantId).toMatch(uuidPattern)
		},
		TestTimeoutMs,
	)

	it(
		"tenants list shows it in the table and as JSON",
		async () => {
			const listed = await cli(["tenants", "list"])
			expect(listed.code, listed.output).toBe(0)
			expect(listed.output).toMatch(/^ID\s+SLUG\s+NAME\s+STATUS\s+CREATED$/m)
			expect(listed.output).toMatch(new RegExp(`^${tenantId}\\s+acme\\s+Acme\\s+active\\s+\\S+$`, "m"))

			const json = await cli(["tenants", "list", "--json"])
			expect(json.code, json.output).toBe(0)
			const page = Schema.decodeUnknownSync(Schema.parseJson(TenantPage))(json.output.trim().split("\n").at(-1))
			expect(page.items.map(({ id, slug, name, status }) => ({ id, slug, name, status }))).toEqual([
				{ id: tenantId, slug: "acme", name: "Acme", status: "active" },
			])
			expect(page.nextCursor).toBeNull()
		},
		TestTimeoutMs,
	)

	it(
		"tenants create with a taken slug exits 1 with TenantSlugTaken",
		async () => {
			const taken = await cli(["tenants", "create", "acme", "Another"])
			expect(taken.code, taken.output).toBe(1)
			expect(taken.output).toContain("TenantSlugTaken")
		},
		TestTimeoutMs,
	)

	it(
		"tenants suspend moves it to suspended; suspending again exits 1 with InvalidTransition",
		async () => {
			const suspended = await cli(["tenants", "suspend", tenantId])
			expect(suspended.code, suspended.output).toBe(0)
			expect(field(suspended.output, "status")).toBe("suspended")

			const again = await cli(["tenants", "suspend", tenantId])
			expect(again.code, again.output).toBe(1)
			expect(again.output).toMatch(/InvalidTransition|cannot suspend a tenant that is suspended/)

			const shown = await cli(["tenants", "show", "acme"])
			expect(shown.code, shown.output).toBe(0)
			expect(field(shown.output, "id")).toBe(tenantId)
			expect(field(shown.output, "status")).toBe("suspended")
		},
		TestTimeoutMs,
	)

	it(
		"tenants clear-login-failures unblocks a client group (--ip) or clears the tenant's counters; a bad --ip exits 2",
		async () => {
			const redis = new Redis(env.REDIS_URL ?? "")
			const prefix = env.REDIS_KEY_PREFIX ?? ""
			const groupKey = `${prefix}oauth:fail:group:192.0.2.99`
			const tenantKey = `${prefix}oauth:fail:tenant:${tenantId}`
			await redis.set(groupKey, "blocked")
			await redis.set(tenantKey, "7")
			const one = await cli(["tenants", "clear-login-failures", "acme", "--ip", "192.0.2.99"])
			expect(one.code, one.output).toBe(0)
			expect(one.output).toContain("1 client group(s)")
			expect(await redis.exists(groupKey, tenantKey)).toBe(0)

			await redis.set(tenantKey, "7")
			const all = await cli(["tenants", "clear-login-failures", tenantId])
			expect(all.code, all.output).toBe(0)
			expect(all.output).toContain(`login failures cleared for tenant ${tenantId}`)
			expect(await redis.exists(tenantKey)).toBe(0)

			const bad = await cli(["tenants", "clear-login-failures", "acme", "--ip", "not-an-ip"])
			expect(bad.code, bad.output).toBe(2)
			expect(bad.output).toContain("--ip must be an IPv4 or IPv6 address")
			redis.disconnect()
		},
		TestTimeoutMs,
	)

	it(
		"tenants activate by slug brings it back to active",
		async () => {
			const activated = await cli(["tenants", "activate", "acme"])
			expect(activated.code, activated.output).toBe(0)
			expect(field(activated.output, "status")).toBe("active")
		},
		TestTimeoutMs,
	)

	it(
		"tenants show of an unknown id exits 1 with TenantNotFound",
		async () => {
			const missing = await cli(["tenants", "show", crypto.randomUUID()])
			expect(missing.code, missing.output).toBe(1)
			expect(missing.output).toContain("TenantNotFound")
		},
		TestTimeoutMs,
	)

	it(
		"--tenant takes a slug or an id; an unknown tenant exits 1 and a malformed one 2, never an empty list",
		async () => {
			const bySlug = await cli(["dlq", "list", "--tenant", "acme"])
			expect(bySlug.code, bySlug.output).toBe(0)
			const byId = await cli(["workflows", "list", "--tenant", tenantId.toUpperCase()])
			expect(byId.code, byId.output).toBe(0)

			const unknown = await cli(["dlq", "list", "--tenant", "no-such-tenant"])
			expect(unknown.code, unknown.output).toBe(1)
			expect(unknown.output).toContain("TenantNotFound")
			const unknownId = await cli(["workflows", "list", "--tenant", crypto.randomUUID()])
			expect(unknownId.code, unknownId.output).toBe(1)
			expect(unknownId.output).toContain("TenantNotFound")

			const malformed = await cli(["dlq", "list", "--tenant", "Not_A_Slug!"])
			expect(malformed.code, malformed.output).toBe(2)
			expect(malformed.output).toContain("--tenant")
		},
		TestTimeoutMs,
	)

	it(
		"a bad command or bad arguments exit 2 before connecting to anything",
		async () => {
			// No DATABASE_URL at all: a usage error is reported before the database or the cluster is needed.
			const unknown = await cli(["tenants", "frobnicate"], { LOG_LEVEL: "Warn" })
			expect(unknown.code, unknown.output).toBe(2)
			expect(unknown.output).toContain("usage:")

			const missingArgument = await cli(["tenants", "create", "only-a-slug"])
			expect(missingArgument.code, missingArgument.output).toBe(2)

			const badSlug = await cli(["tenants", "create", "Not A Slug", "Name"])
			expect(badSlug.code, badSlug.output).toBe(2)
			expect(badSlug.output).toContain("slug")
		},
		TestTimeoutMs,
	)
})
