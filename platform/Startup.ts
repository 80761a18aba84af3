// Process start-up that tells the operator what to do. A start that cannot succeed (a busy port, a DATA_DIR held by
// another process, a database that does not exist, a missing or malformed setting) ends with one line on stderr that
// names the setting or command to fix it, and a non-zero exit code, never a stack trace. Values of settings are never
// echoed: they may be secrets. Anything not recognised is still reported in full.
import { NodeRuntime } from "@effect/platform-node"
import {
	Array,
	Cause,
	Config,
	ConfigError,
	Console,
	Data,
	Effect,
	Match,
	Option,
	Predicate,
	Redacted,
	Schema,
} from "effect"
import { createServer } from "node:net"

// --- [SCHEMA]

// One setting a ConfigError names, and what is wrong with it.
const ConfigLeaf = Schema.Struct({
	kind: Schema.Literal("missing", "invalid"),
	name: Schema.String,
	message: Schema.String,
})
type ConfigLeaf = typeof ConfigLeaf.Type

// --- [CONSTANTS]

// What a setting should look like, said after "X is not set" / "X is invalid".
const SettingHints: Record<string, string> = {
	ENCRYPTION_KEYS:
		"expected id:base64key[,id:base64key…] where each key is 32 random bytes in base64 and the first one seals, e.g. ENCRYPTION_KEYS=key1:$(openssl rand -base64 32)",
	DATABASE_URL:
		"expected a PostgreSQL connection string, e.g. DATABASE_URL=postgres://postgres@127.0.0.1:5432/platform",
	REDIS_URL: "expected a Redis URL, e.g. REDIS_URL=redis://127.0.0.1:6379",
}

// Settings whose port is bound by one of our processes, with their defaults.
const PortSettings = [
	["GATEWAY_PORT", 8080],
	["RUNNER_PORT", 34431],
	["EMBEDDED_POSTGRES_PORT", 54329],
] as const

// --- [ERRORS]

// A start-up failure whose message already says what to do.
class StartupError extends Data.TaggedError("StartupError")<{ readonly message: string }> {}

// --- [FUNCTIONS]

const field = (value: unknown, name: string): unknown =>
	Predicate.isObject(value) && name in value ? (value as Record<string, unknown>)[name] : undefined

// The error and the errors it wraps (`cause`), outermost first.
const causeChain = (error: unknown, depth = 0): ReadonlyArray<unknown> =>
	depth > 8 || !Predicate.isObject(error) ? [] : [error, ...causeChain(field(error, "cause"), depth + 1)]

const configLeaves = (error: ConfigError.ConfigError): ReadonlyArray<ConfigLeaf> =>
	Match.value(error).pipe(
		Match.when({ _op: "And" }, (both) => [...configLeaves(both.left), ...configLeaves(both.right)]),
		Match.when({ _op: "Or" }, (either) => [...configLeaves(either.left), ...configLeaves(either.right)]),
		Match.when({ _op: "MissingData" }, (missing) => [
			{ kind: "missing" as const, name: missing.path.join("_"), message: "" },
		]),
		Match.when({ _op: "InvalidData" }, (invalid) => [
			{ kind: "invalid" as const, name: invalid.path.join("_"), message: invalid.message },
		]),
		Match.orElse(() => []),
	)

// "X is not set: <hint>" / "X is invalid (<reason>): <hint>"; the MissingData message is dropped (for a redacted
// setting it only says "<redacted>", about a value that does not exist).
const describeConfigError = (error: ConfigError.ConfigError) =>
	Array.head(
		Array.dedupeWith(configLeaves(error), (left, right) => left.name === right.name && left.kind === right.kind),
	).pipe(
		Option.map((leaf) => {
			const hint = Option.fromNullable(SettingHints[leaf.name]).pipe(
				Option.match({ onNone: () => "", onSome: (text) => `: ${text}` }),
			)
			const reason = leaf.message.replace(/^Invalid data at [^:]*: /, "")
			// A validation without a path (Config.validate) carries a message that already names its setting.
			return leaf.kind === "missing"
				? `${leaf.name} is not set${hint}`
				: leaf.name === ""
					? reason
					: `${leaf.name} is invalid (${reason})${hint}`
		}),
	)

const databaseTarget = Effect.gen(function* () {
	const url = yield* Config.option(Config.redacted("DATABASE_URL")).pipe(Effect.orElseSucceed(() => Option.none()))
	return Option.flatMap(url, (value) =>
		Option.liftThrowable(() => new URL(Redacted.value(value)))().pipe(
			Option.map((parsed) => ({
				host: parsed.hostname === "" ? "127.0.0.1" : parsed.hostname,
				port: parsed.port === "" ? "5432" : parsed.port,
				user: decodeURIComponent(parsed.username === "" ? "postgres" : parsed.username),
			})),
		),
	)
})

const portSetting = (port: number) =>
	Effect.forEach(PortSettings, ([name, fallback]) =>
		Config.integer(name).pipe(
			Config.withDefault(fallback),
			Effect.orElseSucceed(() => fallback),
			Effect.map((value) => (value === port ? Option.some(name) : Option.none())),
		),
	).pipe(Effect.map((names) => Array.head(Array.getSomes(names))))

const portInUse = (port: number, setting: Option.Option<string>) =>
	Option.match(setting, {
		onSome: (name) => `port ${port} is in use: set ${name} to a free port, or stop the process that holds it`,
		onNone: () => `port ${port} is in use: stop the process that holds it, or choose another port`,
	})

// One error of the chain → the line to print, when we recognise it.
const describeError = (error: unknown): Effect.Effect<Option.Option<string>> =>
	Match.value({ tag: field(error, "_tag"), code: field(error, "code") }).pipe(
		Match.when({ tag: "StartupError" }, () => Effect.succeed(Option.some(String(field(error, "message"))))),
		Match.when({ code: "EADDRINUSE" }, () =>
			Effect.map(portSetting(Number(field(error, "port"))), (setting) =>
				Option.some(portInUse(Number(field(error, "port")), setting)),
			),
		),
		// PostgreSQL: invalid_catalog_name, i.e. the database in DATABASE_URL does not exist.
		Match.when({ code: "3D000" }, () =>
			Effect.map(databaseTarget, (target) => {
				const name = /database "([^"]+)"/.exec(String(field(error, "message")))?.[1] ?? "<name>"
				const createdb = Option.match(target, {
					onNone: () => `createdb ${name}`,
					onSome: ({ host, port, user }) => `createdb -h ${host} -p ${port} -U ${user} ${name}`,
				})
				return Option.some(
					`database "${name}" (DATABASE_URL) does not exist: create it with \`${createdb}\`, then run \`npm run migrate\``,
				)
			}),
		),
		// undefined_table: the schema has not been applied.
		Match.when({ code: "42P01" }, () =>
			Effect.succeed(
				Option.some(
					"the database in DATABASE_URL has no schema yet: run `npm run migrate` with the same DATABASE_URL",
				),
			),
		),
		Match.when({ code: "28P01" }, () =>
			Effect.succeed(Option.some("PostgreSQL rejected the user or password in DATABASE_URL")),
		),
		Match.when({ code: "ECONNREFUSED" }, () =>
			Effect.map(databaseTarget, (target) => {
				const address = `${String(field(error, "address"))}:${String(field(error, "port"))}`
				const database = Option.exists(target, ({ port }) => port === String(field(error, "port")))
				return Option.some(
					database
						? `cannot reach PostgreSQL at ${address} (DATABASE_URL): connection refused; is it running?`
						: `cannot connect to ${address}: connection refused; is the service in REDIS_URL / DATABASE_URL running?`,
				)
			}),
		),
		Match.orElse(() =>
			Effect.succeed(ConfigError.isConfigError(error) ? describeConfigError(error) : Option.none<string>()),
		),
	)

// The first recognised error of a cause, searching its failures and defects and what they wrap.
const explain = (cause: Cause.Cause<unknown>): Effect.Effect<Option.Option<string>> =>
	Effect.reduce(
		[...Cause.failures(cause), ...Cause.defects(cause)].flatMap((error) => causeChain(error)),
		Option.none<string>(),
		(found, error) => (Option.isSome(found) ? Effect.succeed(found) : describeError(error)),
	)

const report = (name: string, cause: Cause.Cause<unknown>) =>
	Cause.isInterruptedOnly(cause)
		? Effect.void
		: Effect.flatMap(
				explain(cause),
				Option.match({
					onSome: (line) => Console.error(`${name}: ${line}`),
					onNone: () => Console.error(`${name}: start failed\n${Cause.pretty(cause)}`),
				}),
			)

// Fails with StartupError when host:port cannot be bound; checked before slow start-up work so that a busy port is
// reported at once (the server's own bind failure is recognised too, for a port taken in between).
const ensurePortFree = (setting: string, host: string, port: number) =>
	Effect.async<void, StartupError>((resume) => {
		const server = createServer()
		server.once("error", (error: NodeJS.ErrnoException) =>
			resume(
				Effect.fail(
					new StartupError({
						message:
							error.code === "EADDRINUSE"
								? portInUse(port, Option.some(setting))
								: `cannot listen on ${host}:${port} (${setting}): ${error.code ?? error.message}`,
					}),
				),
			),
		)
		server.listen(port, host, () => server.close(() => resume(Effect.void)))
	})

// NodeRuntime.runMain, reporting a failure as one line (see above); the exit code stays non-zero on failure and 0 on
// an interruption (SIGTERM).
const runMain =
	(name: string) =>
	<E>(program: Effect.Effect<unknown, E>): void =>
		NodeRuntime.runMain(program.pipe(Effect.tapErrorCause((cause) => report(name, cause))), {
			disableErrorReporting: true,
		})

// --- [EXPORT]

const Startup = { runMain, explain, ensurePortFree } as const

export { Startup, StartupError }
