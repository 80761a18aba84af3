// Process-wide logging: logfmt lines at LOG_LEVEL (default Info). Servers log to stdout; the CLI logs to stderr so its
// stdout carries only the command's output.
import { Config, Effect, Layer, Logger, LogLevel } from "effect"

// --- [LAYERS]

const logging = (target: "stdout" | "stderr") =>
	Layer.unwrapEffect(
		Effect.map(
			Config.logLevel("LOG_LEVEL").pipe(
				Config.withDefault(LogLevel.Info),
				Config.withDescription("Effect log level"),
			),
			(level) =>
				Layer.merge(
					Logger.minimumLogLevel(level),
					Logger.replace(
						Logger.defaultLogger,
						target === "stderr"
							? Logger.withConsoleError(Logger.logfmtLogger)
							: Logger.withConsoleLog(Logger.logfmtLogger),
					),
				),
		),
	)

const LoggingLive = logging("stdout")

const LoggingStderrLive = logging("stderr")

// --- [EXPORT]

export { LoggingLive, LoggingStderrLive }
