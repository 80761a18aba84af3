// Process-wide logging: logfmt lines at LOG_LEVEL (default Info).
import { Config, Effect, Layer, Logger, LogLevel } from "effect"

// --- [LAYERS]

const LoggingLive = Layer.unwrapEffect(
	Effect.map(
		Config.logLevel("LOG_LEVEL").pipe(
			Config.withDefault(LogLevel.Info),
			Config.withDescription("Effect log level"),
		),
		(level) =>
			Layer.merge(Logger.minimumLogLevel(level), Logger.replace(Logger.defaultLogger, Logger.logfmtLogger)),
	),
)

// --- [EXPORT]

export { LoggingLive }
