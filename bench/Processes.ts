// Child processes of the benchmark: the product's entrypoints through the test fixture, and bench/ scripts (servers,
// probes) spawned here. Every child is remembered and stopped by PID at the end, databases are dropped, and the
// run's Redis keys deleted.
import { type ChildProcess, spawn } from "node:child_process"
import net from "node:net"
import { fileURLToPath } from "node:url"
import { Redis } from "ioredis"
import pg from "pg"
import { type Managed, stop, stopAll, waitFor } from "../test/fixtures/Processes.ts"
import { createDatabase } from "../test/fixtures/TestDatabase.ts"

// --- [CONSTANTS]

const root = fileURLToPath(new URL("..", import.meta.url))

// --- [FUNCTIONS]

const scripts: Array<Managed> = []
const databases: Array<{ readonly name: string; readonly drop: () => Promise<void> }> = []

// Spawns `node [nodeArgs] --import tsx <script>` from the repository root with an explicit environment.
const startScript = (name: string, script: string, env: Record<string, string>, nodeArgs: Array<string> = []) => {
	const child: ChildProcess = spawn(process.execPath, [...nodeArgs, "--import", "tsx", script], {
		cwd: root,
		env: { PATH: process.env.PATH ?? "", HOME: process.env.HOME ?? "/root", ...env },
		stdio: ["ignore", "pipe", "pipe"],
	})
	const chunks: Array<string> = []
	child.stdout?.on("data", (chunk: Buffer) => chunks.push(chunk.toString()))
	child.stderr?.on("data", (chunk: Buffer) => chunks.push(chunk.toString()))
	const managed: Managed = { name, child, output: () => chunks.join("") }
	scripts.push(managed)
	return managed
}

const database = async (prefix: string) => {
	const created = await createDatabase(prefix)
	databases.push(created)
	return created
}

const httpOk =
	(url: string, headers: Record<string, string> = {}) =>
	async () =>
		(await fetch(url, { headers })).status === 200

// Whether a TCP connection to the port succeeds (it is closed at once).
const tcpOpen = (port: number) => () =>
	new Promise<boolean>((resolve) => {
		const socket = net.connect(port, "127.0.0.1", () => {
			socket.destroy()
			resolve(true)
		})
		socket.on("error", () => resolve(false))
	})

// Whether a healthy runner is in the cluster's table (which does not exist before the first member started).
const runnerRegistered = (databaseUrl: string) => async () => {
	const client = new pg.Client({ connectionString: databaseUrl })
	await client.connect()
	return client
		.query<{ runners: number }>("SELECT count(*)::int AS runners FROM cluster_runners WHERE healthy")
		.then((result) => (result.rows[0]?.runners ?? 0) > 0)
		.finally(() => client.end())
}

// Waits for `check`; on timeout throws with the child's output so a failed start explains itself.
const ready = async (managed: Managed, check: () => Promise<boolean>, timeoutMs: number) =>
	(await waitFor(check, timeoutMs))
		? managed
		: Promise.reject(
				new Error(`${managed.name} not ready after ${timeoutMs} ms:\n${managed.output().slice(-3000)}`),
			)

const deleteRedisKeys = (url: string, prefix: string) => {
	const redis = new Redis(url, { maxRetriesPerRequest: 1, lazyConnect: false })
	return redis
		.keys(`${prefix}*`)
		.then((keys) => (keys.length === 0 ? 0 : redis.del(...keys)))
		.finally(() => redis.disconnect())
}

// Stops every child (SIGTERM, SIGKILL after the grace period) and drops every database; never rejects.
const cleanup = async () => {
	await Promise.all([stopAll(), ...scripts.splice(0).map((managed) => stop(managed, "SIGTERM", 10_000))]).catch(
		(error: unknown) => console.error("cleanup: stopping processes failed", error),
	)
	await Promise.all(
		databases
			.splice(0)
			.map((created) =>
				created.drop().catch((error: unknown) => console.error(`cleanup: drop ${created.name} failed`, error)),
			),
	)
}

// --- [EXPORT]

export { cleanup, database, deleteRedisKeys, httpOk, ready, runnerRegistered, startScript, stop, tcpOpen }
export type { Managed }
