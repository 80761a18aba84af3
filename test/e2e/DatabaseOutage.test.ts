// PostgreSQL goes away under a running runner and gateway: readiness says which check fails, requests that need the
// database answer 503 with Retry-After and a tagged JSON body (never 500), and when PostgreSQL is back everything
// recovers by itself, without restarting our processes.
//
// The suite runs its own PostgreSQL (Debian's binaries, a temporary data directory owned by the `postgres` OS user,
// trust auth, a free port) so the machine's shared server is never stopped.
import { execFile } from "node:child_process"
import { mkdtempSync, readdirSync, rmSync } from "node:fs"
import { join } from "node:path"
import { promisify } from "node:util"
import { Option, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import {
	freePort,
	httpReady,
	type Managed,
	run,
	sleep,
	start,
	stopAll,
	testEncryptionKeys,
	waitFor,
} from "../fixtures/Processes.ts"

// --- [CONSTANTS]

const adminToken = `e2e-outage-admin-token-${crypto.randomUUID()}`
const suffix = Math.random().toString(36).slice(2, 8)
const postgresBin = join(
	"/usr/lib/postgresql",
	readdirSync("/usr/lib/postgresql").sort((a, b) => Number(b) - Number(a))[0] ?? "15",
	"bin",
)
const CreateBody = Schema.parseJson(Schema.Struct({ slug: Schema.String, name: Schema.String }))
const JsonBody = Schema.parseJson(Schema.Record({ key: Schema.String, value: Schema.Unknown }))

// --- [TYPES]

type Answer = {
	readonly status: number
	readonly retryAfter: string | null
	readonly body: Record<string, unknown> | null
	readonly text: string
}

// --- [STATE]

let tempDir = ""
let port = 0
let gatewayUrl = ""
let runner: Managed | undefined

// --- [FUNCTIONS]

const exec = promisify(execFile)

const asPostgres = (binary: string, args: Array<string>) =>
	exec("runuser", ["-u", "postgres", "--", join(postgresBin, binary), ...args])

const dataDir = () => join(tempDir, "data")

const startPostgres = () =>
	asPostgres("pg_ctl", [
		"-D",
		dataDir(),
		"-o",
		`-p ${port} -k ${tempDir} -c listen_addresses=127.0.0.1`,
		"-l",
		join(tempDir, "postgres.log"),
		"-w",
		"-t",
		"60",
		"start",
	])

const stopPostgres = () => asPostgres("pg_ctl", ["-D", dataDir(), "-m", "immediate", "-w", "stop"])

const request = (path: string, init: RequestInit = {}, timeoutMs = 5_000): Promise<Answer> =>
	fetch(`${gatewayUrl}${path}`, {
		...init,
		headers: { authorization: `Bearer ${adminToken}`, "content-type": "application/json" },
		signal: AbortSignal.timeout(timeoutMs),
	}).then(async (res) => {
		const text = await res.text()
		return {
			status: res.status,
			retryAfter: res.headers.get("retry-after"),
			body: Option.getOrNull(Schema.decodeUnknownOption(JsonBody)(text)),
			text,
		}
	})

// Polls `path` until `accept` holds or the time runs out; every answer (or failure) seen on the way is kept.
const pollAnswer = async (path: string, accept: (answer: Answer) => boolean, budgetMs: number) => {
	const startedAt = Date.now()
	const deadline = startedAt + budgetMs
	const seen: Array<string> = []
	let last: Answer | null = null
	let done = false
	while (!done && Date.now() < deadline) {
		last = await request(path, {}, Math.max(1, Math.min(5_000, deadline - Date.now()))).catch((error: unknown) => {
			seen.push(error instanceof Error ? error.name : "failed")
			return null
		})
		seen.push(last === null ? "" : String(last.status))
		done = last !== null && accept(last)
		await (done ? Promise.resolve() : sleep(500))
	}
	return { done, last, elapsedMs: Date.now() - startedAt, seen: seen.filter((entry) => entry.length > 0) }
}

const summarize = (seen: ReadonlyArray<string>) =>
	seen.reduce<Array<string>>(
		(runs, entry) =>
			runs.length > 0 && runs[runs.length - 1]?.startsWith(`${entry}×`)
				? [...runs.slice(0, -1), `${entry}×${Number(runs[runs.length - 1]?.split("×")[1]) + 1}`]
				: [...runs, `${entry}×1`],
		[],
	)

// --- [SUITE]

describe("e2e: postgres outage", () => {
	beforeAll(async () => {
		tempDir = mkdtempSync("/tmp/e2e-pgoutage-")
		await exec("chown", ["postgres:postgres", tempDir])
		await asPostgres("initdb", ["-D", dataDir(), "-A", "trust", "-U", "postgres", "--no-sync"])
		port = await freePort()
		await startPostgres()
		const env = {
			DATABASE_URL: `postgres://postgres@127.0.0.1:${port}/postgres`,
			REDIS_URL: "redis://127.0.0.1:6379",
			REDIS_KEY_PREFIX: `e2e-outage-${suffix}:`,
			ENCRYPTION_KEYS: testEncryptionKeys,
			ADMIN_TOKEN: adminToken,
		}
		const migrated = await run("migrate", env)
		expect(migrated.code, migrated.output).toBe(0)
		const started = start("runner", "runner", {
			...env,
			RUNNER_HOST: "127.0.0.1",
			RUNNER_PORT: String(await freePort()),
		})
		runner = started
		// The runner registers first, so the two members never race on creating the cluster's tables.
		const registered = await waitFor(async () => started.output().includes("Listening on:"), 90_000, 250)
		expect(registered, started.output()).toBe(true)
		const gatewayPort = await freePort()
		gatewayUrl = `http://127.0.0.1:${gatewayPort}`
		const gateway = start("gateway", "gateway", {
			...env,
			GATEWAY_HOST: "127.0.0.1",
			GATEWAY_PORT: String(gatewayPort),
		})
		const ready = await waitFor(httpReady(gatewayUrl), 90_000, 500)
		expect(ready, `${gateway.output()}\n--- runner ---\n${started.output()}`).toBe(true)
	}, 240_000)

	afterAll(async () => {
		await stopAll()
		await (tempDir === "" ? Promise.resolve() : stopPostgres().catch(() => undefined))
		rmSync(tempDir, { recursive: true, force: true })
	}, 60_000)

	it("answers 503 with Retry-After while PostgreSQL is down and recovers by itself when it is back", async () => {
		const created = await request(
			"/admin/v1/tenants",
			{ method: "POST", body: Schema.encodeSync(CreateBody)({ slug: `outage-${suffix}`, name: "Outage" }) },
			15_000,
		)
		expect(created.status, created.text).toBe(201)
		const tenantId = String(created.body?.["id"])
		const listed = await request("/admin/v1/tenants", {}, 15_000)
		expect(listed.status, listed.text).toBe(200)

		const outputBefore = runner?.output().length ?? 0
		await stopPostgres()

		const notReady = await pollAnswer("/health/ready", (answer) => answer.status === 503, 30_000)
		console.log(
			`[outage] /health/ready: 503 after ${notReady.elapsedMs} ms (${summarize(notReady.seen).join(", ")}): ${notReady.last?.text}`,
		)
		expect(notReady.done, notReady.last?.text).toBe(true)
		expect(notReady.last?.body).toMatchObject({ checks: { database: "failing" } })
		expect(notReady.last?.retryAfter).not.toBeNull()

		const unavailable = await pollAnswer("/admin/v1/tenants", (answer) => answer.status === 503, 30_000)
		console.log(
			`[outage] GET /admin/v1/tenants: ${unavailable.last?.status} after ${unavailable.elapsedMs} ms (${summarize(unavailable.seen).join(", ")}): ${unavailable.last?.text}`,
		)
		// Soft: a request that hangs instead of answering 503 is reported, and the recovery below is still exercised.
		expect.soft(unavailable.seen, "a 500 during the outage").not.toContain("500")
		expect.soft(unavailable.done, "GET /admin/v1/tenants never answered 503 while PostgreSQL was down").toBe(true)
		expect.soft(unavailable.last?.retryAfter ?? null, "Retry-After on the 503").not.toBeNull()
		expect
			.soft(unavailable.last?.body ?? null)
			.toMatchObject({ _tag: expect.any(String), message: expect.any(String) })
		const restarts = runner?.output().slice(outputBefore).split("Defect in entity, restarting").length ?? 1
		console.log(`[outage] runner logged "Defect in entity, restarting" ${restarts - 1} times during the outage`)

		const restartedAt = Date.now()
		await startPostgres()
		const readyAgain = await pollAnswer("/health/ready", (answer) => answer.status === 200, 60_000)
		const listAgain = await pollAnswer(
			"/admin/v1/tenants",
			(answer) => answer.status === 200,
			Math.max(1, 60_000 - (Date.now() - restartedAt)),
		)
		console.log(
			`[outage] recovery after PostgreSQL restart: ready ${readyAgain.done ? `after ${readyAgain.elapsedMs} ms` : "NOT"} ` +
				`(${summarize(readyAgain.seen).join(", ")}); tenant list ${listAgain.done ? `after ${Date.now() - restartedAt} ms` : "NOT"} ` +
				`(${summarize(listAgain.seen).join(", ")})`,
		)
		expect(readyAgain.done, readyAgain.last?.text).toBe(true)
		expect(listAgain.done, listAgain.last?.text).toBe(true)
		expect(listAgain.seen).not.toContain("500")
		const items = (listAgain.last?.body?.["items"] ?? []) as ReadonlyArray<{ readonly id: string }>
		expect(items.map((item) => item.id)).toContain(tenantId)
	}, 240_000)
})
