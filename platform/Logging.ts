// Process-wide logging: exactly one logger, at LOG_LEVEL (default info). LOG_FORMAT picks Effect's human-readable
// pretty lines, logfmt or JSON (one object per line); `auto` is pretty on a terminal and logfmt otherwise. Servers log
// to stdout; the CLI logs to stderr so its stdout carries only the command's output.
import { Config, ConfigError, Effect, Either, FiberRef, HashSet, Layer, Logger, LogLevel, Match, Record } from "effect"

// --- [CONSTANTS]

// Lower-cased names an operator may write, Effect's own labels among them (`WARN`, `Warning`, `OFF`, `None`, `All`).
const LevelNames: Record<string, LogLevel.LogLevel> = {
	all: LogLevel.All,
	trace: LogLevel.Trace,
	debug: LogLevel.Debug,
	info: LogLevel.Info,
	warn: LogLevel.Warning,
	warning: LogLevel.Warning,
	error: LogLevel.Error,
	fatal: LogLevel.Fatal,
	none: LogLevel.None,
	off: LogLevel.None,
}

const LoggingConfig = Config.all({
	level: Config.string("LOG_LEVEL").pipe(
		Config.mapOrFail((name) =>
			Either.fromOption(Record.get(LevelNames, name.trim().toLowerCase()), () =>
				ConfigError.InvalidData(
					[],
					`expected one of trace, debug, info, warn, error, fatal, none (any case), got "${name}"`,
				),
			),
		),
		Config.withDefault(LogLevel.Info),
		Config.withDescription("Least severe level logged: trace, debug, info, warn, error, fatal or none"),
	),
	format: Config.literal(
		"auto",
		"pretty",
		"logfmt",
		"json",
	)("LOG_FORMAT").pipe(
		Config.withDefault("auto" as const),
		Config.withDescription("pretty, logfmt or json; auto is pretty on a terminal, logfmt otherwise"),
	),
})

// --- [LAYERS]

// Replaces every console logger (Effect's default one, and the pretty one NodeRuntime.runMain installs) with ours;
// other loggers (the tracer's) stay.
const logging = (target: "stdout" | "stderr") =>
	Layer.scopedDiscard(
		Effect.gen(function* () {
			const config = yield* LoggingConfig
			const toConsole = target === "stderr" ? Logger.withConsoleError : Logger.withConsoleLog
			const terminal = (target === "stderr" ? process.stderr : process.stdout).isTTY === true
			const logger = Match.value(
				config.format === "auto" ? (terminal ? ("pretty" as const) : ("logfmt" as const)) : config.format,
			).pipe(
				Match.when("pretty", () => Logger.prettyLogger({ stderr: target === "stderr" })),
				Match.when("logfmt", () => toConsole(Logger.logfmtLogger)),
				Match.when("json", () => toConsole(Logger.jsonLogger)),
				Match.exhaustive,
			)
			yield* Effect.locallyScopedWith(FiberRef.currentLoggers, (loggers) =>
				loggers.pipe(
					HashSet.remove(Logger.defaultLogger),
					HashSet.remove(Logger.prettyLoggerDefault),
					HashSet.add(logger),
				),
			)
			yield* Effect.locallyScoped(FiberRef.currentMinimumLogLevel, config.level)
		}),
	)

const LoggingLive = logging("stdout")

const LoggingStderrLive = logging("stderr")

// --- [EXPORT]

export { LoggingConfig, LoggingLive, LoggingStderrLive }
