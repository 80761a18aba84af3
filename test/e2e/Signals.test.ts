// SIGTERM to the documented commands (`npm run runner`, `npm run gateway`) reaches the node process: it drains and
// exits, npm exits with it, and no node process is left behind. A runner that drained has unregistered itself from
// cluster_runners (a process left running, or killed, keeps its row until its heartbeat expires).
import { type ChildProcess, spawn, spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, httpReady, run, sleep, testEncryptionKeys, waitFor } from "../fixtures/Processes.ts"
import { createDatabase } from "../fixtures/TestDatabase.ts"

// --- [CONSTANTS]

const root = fileURLToPath(new URL("../..", import.meta.url))

// --- [STATE]

let database: Awaited<ReturnType<typeof createDatabase>>
let env: Record<string, string> = {}
const spawned: Array<ChildProcess> = []

// --- [FUNCTIONS]

const npmRun = (script: string, extra: Record<string, string>) => {
	const output: Array<string> = []
	const child = spawn("npm", ["run", script], {
		cwd: root,
		env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env, ...extra },
		stdio: ["ignore", "pipe", "pipe"],
	})
	child.stdout?.on("data", (chunk: Buffer) => output.push(chunk.toString()))
	child.stderr?.on("data", (chunk: Buffer) => output.push(chunk.toString()))
	spawned.push(child)
	return { child, output: () => output.join("") }
}

// Every process below `pid` (npm → sh → node, or npm → node when the script execs).
const descendants = (pid: number): Array<number> => {
	const children = spawnSync("ps", ["-o", "pid=", "--ppid", String(pid)], { encoding: "utf8" })
		.stdout.split("\n")
		.map((line) => Number(line.trim()))
		.filter((child) => child > 0)
	return children.flatMap((child) => [child, ...descendants(child)])
}

// `ps -p` prints a row only for a live process.
const isAlive = (pid: number) =>
	spawnSync("ps", ["-o", "pid=", "-p", String(pid)], { encoding: "utf8" }).stdout.trim() !== ""

const exitCode = (child: ChildProcess, timeoutMs: number) =>
	new Promise<number | null | "timeout">((resolve) => {
		const timer = setTimeout(() => resolve("timeout"), timeoutMs)
		child.once("exit", (code) => {
			clearTimeout(timer)
			resolve(code)
		})
	})

const query = async <A extends pg.QueryResultRow>(text: string, values: Array<unknown> = []) => {
	const client = new pg.Client({ connectionString: database.url })
	await client.connect()
	return client.query<A>(text, values).finally(() => client.end())
}

const runnerRows = (address: string) =>
	query<{ count: number }>("SELECT count(*)::int AS count FROM cluster_runners WHERE address = $1", [address]).then(
		(result) => result.rows[0]?.count ?? 0,
	)

// SIGTERM to npm only (as a container runtime or a terminal's process group would deliver it to the command).
const terminate = async (child: ChildProcess) => {
	const below = descendants(child.pid ?? 0)
	child.kill("SIGTERM")
	const code = await exitCode(child, 30_000)
	await sleep(500)
	return { code, leftBehind: below.filter(isAlive) }
}

// --- [SUITE]

describe("e2e: SIGTERM to the documented commands", () => {
	beforeAll(async () => {
		database = await createDatabase("signals")
		env = {
			DATABASE_URL: database.url,
			REDIS_URL: "redis://127.0.0.1:6379",
			REDIS_KEY_PREFIX: `e2e-signals-${Math.random().toString(36).slice(2, 8)}:`,
			ENCRYPTION_KEYS: testEncryptionKeys,
			ADMIN_TOKEN: `e2e-signals-${crypto.randomUUID()}`,
			LOG_LEVEL: "Info",
		}
		expect((await run("migrate", env)).code).toBe(0)
	})

	afterAll(async () => {
		spawned.forEach((child) =>
			[child.pid ?? 0, ...descendants(child.pid ?? 0)].forEach(
				(pid) => isAlive(pid) && process.kill(pid, "SIGKILL"),
			),
		)
		await database.drop()
	})

	it("npm run runner: the runner drains (unregisters) and exits 0, nothing left running", async () => {
		const port = await freePort()
		const runner = npmRun("runner", { RUNNER_HOST: "127.0.0.1", RUNNER_PORT: String(port) })
		const address = `127.0.0.1:${port}`
		const registered = await waitFor(async () => (await runnerRows(address)) === 1, 90_000, 500)
		expect(registered, runner.output()).toBe(true)

		const { code, leftBehind } = await terminate(runner.child)
		expect(code, runner.output()).toBe(0)
		expect(leftBehind, runner.output()).toEqual([])
		expect(await runnerRows(address)).toBe(0)
	})

	it("npm run gateway: the gateway stops listening and exits 0, nothing left running", async () => {
		const runnerPort = await freePort()
		const runner = npmRun("runner", { RUNNER_HOST: "127.0.0.1", RUNNER_PORT: String(runnerPort) })
		const port = await freePort()
		const url = `http://127.0.0.1:${port}`
		const gateway = npmRun("gateway", { GATEWAY_PORT: String(port) })
		expect(await waitFor(httpReady(url), 90_000, 500), gateway.output() + runner.output()).toBe(true)

		const { code, leftBehind } = await terminate(gateway.child)
		expect(code, gateway.output()).toBe(0)
		expect(leftBehind, gateway.output()).toEqual([])
		const stillListening = await fetch(`${url}/health/live`).then(
			() => true,
			() => false,
		)
		expect(stillListening).toBe(false)

		expect((await terminate(runner.child)).code, runner.output()).toBe(0)
	})
})
