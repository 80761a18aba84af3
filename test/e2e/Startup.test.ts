// Start-up that tells the operator what to do: real runner, gateway and migrate processes started with bad settings
// exit non-zero with one line naming the setting or command to fix, without a stack trace and without echoing a
// secret; a gateway without ADMIN_TOKEN starts, warns once that the admin API is off, and logs where it serves; a
// runner logs that it joined the cluster.
import { createServer, type Server } from "node:net"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
	exited,
	freePort,
	type Managed,
	sleep,
	start,
	stop,
	stopAll,
	testEncryptionKeys,
	waitFor,
} from "../fixtures/Processes.ts"
import { createDatabase } from "../fixtures/TestDatabase.ts"

// --- [CONSTANTS]

const exitBoundMs = 120_000
const redisUrl = "redis://127.0.0.1:6379"
const missingDatabaseUrl = `postgres://postgres@127.0.0.1:5432/missing_${Math.random().toString(36).slice(2, 8)}`
// A well-formed base64 key of the wrong length: it must never appear in the output.
const shortKey = Buffer.from("sixteen-byte-key").toString("base64")

// --- [STATE]

let holder: Server | undefined
let busyPort = 0
let database: Awaited<ReturnType<typeof createDatabase>> | undefined

// --- [FUNCTIONS]

// Starts the process and waits (bounded) for it to exit; a process still running at the bound is a failure.
const failedStart = async (name: string, entry: "runner" | "gateway" | "migrate", env: Record<string, string>) => {
	const managed = start(name, entry, { LOG_FORMAT: "logfmt", ...env })
	const outcome = await Promise.race([exited(managed), sleep(exitBoundMs).then(() => "still running" as const)])
	return { outcome, output: managed.output() }
}

const expectActionable = (
	result: { readonly outcome: number | null | "still running"; readonly output: string },
	line: string,
) => {
	expect(result.outcome, result.output).toBe(1)
	expect(result.output).toContain(line)
	expect(result.output).not.toContain("    at ")
}

// --- [SUITE]

describe("e2e: start-up errors say what to do", () => {
	beforeAll(async () => {
		busyPort = await freePort()
		holder = createServer()
		await new Promise<void>((resolve) => holder?.listen(busyPort, "127.0.0.1", resolve))
		database = await createDatabase("startup")
	})

	afterAll(async () => {
		await stopAll()
		await new Promise((resolve) => holder?.close(resolve))
		await database?.drop()
	}, 60_000)

	it(
		"runner without ENCRYPTION_KEYS: names the variable and its format, not <redacted>",
		async () => {
			const result = await failedStart("runner-no-keys", "runner", {
				DATABASE_URL: missingDatabaseUrl,
				REDIS_URL: redisUrl,
				RUNNER_PORT: String(await freePort()),
			})
			expectActionable(
				result,
				"runner: ENCRYPTION_KEYS is not set: expected id:base64key[,id:base64key…] where each key is 32 random bytes in base64",
			)
			expect(result.output).not.toContain("<redacted>")
		},
		exitBoundMs + 10_000,
	)

	it(
		"runner with a malformed ENCRYPTION_KEYS: says what is wrong and the format, never the value",
		async () => {
			const result = await failedStart("runner-bad-keys", "runner", {
				DATABASE_URL: missingDatabaseUrl,
				REDIS_URL: redisUrl,
				RUNNER_PORT: String(await freePort()),
				ENCRYPTION_KEYS: `k1:${shortKey}`,
			})
			expectActionable(
				result,
				"runner: ENCRYPTION_KEYS is invalid (entry 1: key must be base64 of exactly 32 bytes): expected id:base64key",
			)
			expect(result.output).not.toContain(shortKey)
		},
		exitBoundMs + 10_000,
	)

	it(
		"runner on a busy RUNNER_PORT: names the port and RUNNER_PORT",
		async () => {
			const result = await failedStart("runner-busy-port", "runner", {
				DATABASE_URL: missingDatabaseUrl,
				REDIS_URL: redisUrl,
				RUNNER_PORT: String(busyPort),
				ENCRYPTION_KEYS: testEncryptionKeys,
			})
			expectActionable(result, `runner: port ${busyPort} is in use: set RUNNER_PORT to a free port`)
		},
		exitBoundMs + 10_000,
	)

	it(
		"gateway on a busy GATEWAY_PORT: names the port and GATEWAY_PORT",
		async () => {
			const result = await failedStart("gateway-busy-port", "gateway", {
				DATABASE_URL: missingDatabaseUrl,
				REDIS_URL: redisUrl,
				GATEWAY_PORT: String(busyPort),
			})
			expectActionable(result, `gateway: port ${busyPort} is in use: set GATEWAY_PORT to a free port`)
		},
		exitBoundMs + 10_000,
	)

	it(
		"migrate against a database that does not exist: says how to create it",
		async () => {
			const name = missingDatabaseUrl.slice(missingDatabaseUrl.lastIndexOf("/") + 1)
			const result = await failedStart("migrate-missing-db", "migrate", { DATABASE_URL: missingDatabaseUrl })
			expectActionable(
				result,
				`migrate: database "${name}" (DATABASE_URL) does not exist: create it with \`createdb -h 127.0.0.1 -p 5432 -U postgres ${name}\`, then run \`npm run migrate\``,
			)
		},
		exitBoundMs + 10_000,
	)

	it(
		"gateway without ADMIN_TOKEN: starts, warns once that the admin API is off, logs where it serves; a runner logs that it joined",
		async () => {
			const [port, runnerPort] = [await freePort(), await freePort()]
			const runner: Managed = start("runner-joins", "runner", {
				LOG_FORMAT: "logfmt",
				DATABASE_URL: database?.url ?? "",
				REDIS_URL: redisUrl,
				REDIS_KEY_PREFIX: `startup-${port}:`,
				RUNNER_PORT: String(runnerPort),
				ENCRYPTION_KEYS: testEncryptionKeys,
			})
			const gateway: Managed = start("gateway-no-admin-token", "gateway", {
				LOG_FORMAT: "logfmt",
				DATABASE_URL: database?.url ?? "",
				REDIS_URL: redisUrl,
				REDIS_KEY_PREFIX: `startup-${port}:`,
				GATEWAY_PORT: String(port),
			})
			const serving = await waitFor(
				async () => gateway.output().includes(`gateway serving http://127.0.0.1:${port}`),
				exitBoundMs,
				250,
			)
			expect(serving, gateway.output()).toBe(true)
			const warnings = gateway.output().split("ADMIN_TOKEN is not set: the admin API (/admin/v1/*) is off")
			expect(warnings.length - 1, gateway.output()).toBe(1)
			expect(gateway.output()).toContain("set ADMIN_TOKEN to a secret of at least")
			expect(gateway.output()).toContain(`(API docs: http://127.0.0.1:${port}/docs)`)
			expect(await stop(gateway)).toBe(0)
			const joined = await waitFor(
				async () => runner.output().includes(`runner joined the cluster at 127.0.0.1:${runnerPort}`),
				exitBoundMs,
				250,
			)
			expect(joined, runner.output()).toBe(true)
			expect(await stop(runner)).toBe(0)
		},
		exitBoundMs + 30_000,
	)
})
