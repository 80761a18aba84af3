// Process logging as an operator sees it: a real all-in-one process (against a private database, in-process cache)
// writes each log line once on stdout, as logfmt when stdout is not a terminal, as one JSON object per line with
// LOG_FORMAT=json; LOG_LEVEL takes the usual names in any case (`warning` starts, and hides info lines).
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { ConfigProvider, Effect, LogLevel, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { LoggingConfig } from "../../platform/Logging.ts"
import { freePort, type Managed, start, stop, testEncryptionKeys, waitFor } from "../fixtures/Processes.ts"
import { createDatabase } from "../fixtures/TestDatabase.ts"

// --- [CONSTANTS]

const JsonLine = Schema.parseJson(Schema.Struct({ message: Schema.Unknown, logLevel: Schema.String }))

// --- [STATE]

let database: Awaited<ReturnType<typeof createDatabase>>
let dataDir = ""

// --- [FUNCTIONS]

// Starts the all-in-one with `env` added, waits until it serves /health/live and `logged` holds for its lines
// (or 45 s passed), stops it and returns its stdout lines.
const stdoutOf = async (env: Record<string, string>, logged: (lines: ReadonlyArray<string>) => boolean) => {
	const [gatewayPort, runnerPort] = [await freePort(), await freePort()]
	const managed: Managed = start("allinone-logging", "allinone", {
		DATABASE_URL: database.url,
		DATA_DIR: dataDir,
		GATEWAY_PORT: String(gatewayPort),
		RUNNER_PORT: String(runnerPort),
		ADMIN_TOKEN: `admin-${crypto.randomUUID()}`,
		ENCRYPTION_KEYS: testEncryptionKeys,
		...env,
	})
	const chunks: Array<string> = []
	managed.child.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk.toString()))
	const lines = () =>
		chunks
			.join("")
			.split("\n")
			.filter((line) => line.length > 0)
	const live = await waitFor(
		async () => (await fetch(`http://127.0.0.1:${gatewayPort}/health/live`)).status === 200 && logged(lines()),
		45_000,
		250,
	)
	await stop(managed)
	expect(live, managed.output()).toBe(true)
	return lines()
}

const listening = (lines: ReadonlyArray<string>) => lines.some((line) => line.includes("Listening on http://"))

// --- [SUITE]

describe("Logging", () => {
	beforeAll(async () => {
		database = await createDatabase("logging")
		dataDir = mkdtempSync(join(tmpdir(), "logging-"))
	})

	afterAll(async () => {
		await database.drop()
		rmSync(dataDir, { recursive: true, force: true })
	})

	it("LOG_LEVEL accepts the usual names in any case, and Effect's labels", async () => {
		const level = (value: string) =>
			Effect.runPromise(
				LoggingConfig.pipe(
					Effect.map((config) => config.level),
					Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["LOG_LEVEL", value]]))),
				),
			)
		expect(await level("warning")).toBe(LogLevel.Warning)
		expect(await level("WARN")).toBe(LogLevel.Warning)
		expect(await level("Warning")).toBe(LogLevel.Warning)
		expect(await level("debug")).toBe(LogLevel.Debug)
		expect(await level("TRACE")).toBe(LogLevel.Trace)
		expect(await level("info")).toBe(LogLevel.Info)
		expect(await level("error")).toBe(LogLevel.Error)
		expect(await level("Fatal")).toBe(LogLevel.Fatal)
		expect(await level("none")).toBe(LogLevel.None)
		expect(await level("OFF")).toBe(LogLevel.None)
		expect(await level("all")).toBe(LogLevel.All)
		await expect(level("loud")).rejects.toThrow(/LOG_LEVEL/)
	})

	it("stdout that is not a terminal gets each line once, as logfmt", async () => {
		const lines = await stdoutOf({ LOG_LEVEL: "info" }, listening)
		expect(lines.filter((line) => line.includes("Listening on http://"))).toHaveLength(1)
		expect(lines.filter((line) => line.includes("migrations applied"))).toHaveLength(1)
		lines.forEach((line) => expect(line).toMatch(/^timestamp=\S+ level=[A-Z]+ fiber=#\d+ message=/))
	})

	it("LOG_FORMAT=json gives one JSON object per line, each once", async () => {
		const lines = await stdoutOf({ LOG_LEVEL: "info", LOG_FORMAT: "json" }, listening)
		const entries = lines.map((line) => Schema.decodeUnknownSync(JsonLine)(line))
		const messages = entries.map((entry) => String(entry.message))
		expect(messages.filter((message) => message.includes("Listening on http://"))).toHaveLength(1)
		expect(new Set(entries.map((entry) => entry.logLevel))).toContain("INFO")
	})

	it("LOG_LEVEL=warning starts the process and hides info lines", async () => {
		const lines = await stdoutOf({ LOG_LEVEL: "warning" }, () => true)
		expect(lines.filter((line) => /level=(INFO|DEBUG)|\bINFO\b/.test(line))).toEqual([])
	})
})
