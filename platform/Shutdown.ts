// A process must never hang on exit: on SIGTERM/SIGINT the runtime drains (shards are handed over, sockets close),
// and if that has not finished within the deadline the process exits anyway.
import { Duration, Effect, Layer } from "effect"

// --- [CONSTANTS]

const ShutdownDeadline = Duration.seconds(18)

// --- [LAYERS]

const ShutdownDeadlineLive = Layer.effectDiscard(
	Effect.sync(() =>
		["SIGTERM", "SIGINT"].map((signal) =>
			process.once(signal, () => setTimeout(() => process.exit(0), Duration.toMillis(ShutdownDeadline)).unref()),
		),
	),
)

// --- [EXPORT]

export { ShutdownDeadlineLive }
