// What a child process costs, read from outside without changing it: the V8 heap after a full GC through the child's
// inspector (started with `--inspect=127.0.0.1:0`; HeapProfiler.collectGarbage, then Runtime.getHeapUsage over the
// DevTools protocol on the `ws` package), optionally a CPU profile the same way, and CPU time and resident memory from
// /proc/<pid>. Linux only.
import { readFile, writeFile } from "node:fs/promises"
import { Schema } from "effect"
import WebSocket from "ws"
import { sleep } from "./Harness.ts"
import type { Managed } from "./Processes.ts"

// --- [CONSTANTS]

// Node picks a free port and prints where it listens.
const InspectArg = "--inspect=127.0.0.1:0"
const ListeningPattern = /Debugger listening on (ws:\/\/\S+)/
// Clock ticks of /proc/<pid>/stat (USER_HZ, 100 on Linux).
const TicksPerSecond = 100
const CallTimeoutMs = 30_000

// --- [SCHEMA]

const Reply = Schema.parseJson(
	Schema.Struct({
		id: Schema.optional(Schema.Number),
		result: Schema.optional(Schema.Unknown),
		error: Schema.optional(Schema.Unknown),
	}),
)
const HeapUsage = Schema.Struct({ usedSize: Schema.Number, totalSize: Schema.Number })
const ProfileResult = Schema.Struct({ profile: Schema.Unknown })

// --- [FUNCTIONS]

const encode = Schema.encodeSync(Schema.parseJson(Schema.Unknown))
const decodeReply = Schema.decodeUnknownSync(Reply)
const decodeHeapUsage = Schema.decodeUnknownSync(HeapUsage)
const decodeProfile = Schema.decodeUnknownSync(ProfileResult)

const inspectorUrl = (managed: Managed) => ListeningPattern.exec(managed.output())?.[1]

// One DevTools session: `call(method)` resolves to the result of that method.
const openSession = (url: string) =>
	new Promise<{ readonly call: (method: string) => Promise<unknown>; readonly close: () => void }>(
		(resolve, reject) => {
			const socket = new WebSocket(url, { perMessageDeflate: false })
			const pending = new Map<number, { resolve: (value: unknown) => void; reject: (error: Error) => void }>()
			let nextId = 0
			socket.on("message", (data) => {
				const reply = decodeReply(data.toString())
				const waiter = pending.get(reply.id ?? -1)
				pending.delete(reply.id ?? -1)
				return reply.error === undefined
					? waiter?.resolve(reply.result)
					: waiter?.reject(new Error(`inspector: ${encode(reply.error)}`))
			})
			socket.once("error", reject)
			socket.once("open", () =>
				resolve({
					call: (method) =>
						new Promise((done, failed) => {
							nextId += 1
							const timer = setTimeout(
								() => failed(new Error(`inspector: ${method} timed out`)),
								CallTimeoutMs,
							)
							pending.set(nextId, {
								resolve: (value) => (clearTimeout(timer), done(value)),
								reject: (error) => (clearTimeout(timer), failed(error)),
							})
							socket.send(encode({ id: nextId, method }))
						}),
					close: () => socket.close(),
				}),
			)
		},
	)

// Used V8 heap after three full collections (like bench/MemoryProbe.ts), in bytes.
const heapAfterGc = async (managed: Managed) => {
	const url = inspectorUrl(managed)
	const session = await (url === undefined
		? Promise.reject(new Error(`${managed.name}: no inspector URL in its output (started with ${InspectArg}?)`))
		: openSession(url))
	const collect = async (rounds: number): Promise<void> =>
		rounds === 0
			? undefined
			: session
					.call("HeapProfiler.collectGarbage")
					.then(() => sleep(50))
					.then(() => collect(rounds - 1))
	return collect(3)
		.then(() => session.call("Runtime.getHeapUsage"))
		.then((usage) => decodeHeapUsage(usage).usedSize)
		.finally(() => session.close())
}

// Runs `work` while the child's V8 CPU profiler records (Profiler.start/stop over the inspector) and writes the profile
// (a .cpuprofile file, open it in Chrome DevTools or speedscope) to `file`.
const profiled = async <A>(managed: Managed, file: string, work: () => Promise<A>) => {
	const url = inspectorUrl(managed)
	const session = await (url === undefined
		? Promise.reject(new Error(`${managed.name}: no inspector URL in its output (started with ${InspectArg}?)`))
		: openSession(url))
	await session.call("Profiler.enable")
	await session.call("Profiler.start")
	return work().finally(() =>
		session
			.call("Profiler.stop")
			.then((result) => writeFile(file, encode(decodeProfile(result).profile)))
			.finally(() => session.close()),
	)
}

// User + system CPU seconds of a process so far (NaN once it is gone).
const cpuSeconds = (pid: number | undefined) =>
	readFile(`/proc/${pid ?? 0}/stat`, "utf8").then(
		(stat) => {
			// Fields after the command name (which may contain spaces): state is the first, utime the 12th, stime the 13th.
			const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ")
			return (Number(fields[11]) + Number(fields[12])) / TicksPerSecond
		},
		() => Number.NaN,
	)

// Resident set size in bytes (NaN once the process is gone).
const rssBytes = (pid: number | undefined) =>
	readFile(`/proc/${pid ?? 0}/status`, "utf8").then(
		(status) => Number(/^VmRSS:\s+(\d+) kB/m.exec(status)?.[1] ?? Number.NaN) * 1024,
		() => Number.NaN,
	)

// --- [EXPORT]

export { cpuSeconds, heapAfterGc, InspectArg, profiled, rssBytes }
