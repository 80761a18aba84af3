// The project's one tracing helper (the seed's `Telemetry.span` pattern): every service method and handler is
// wrapped in a span of its own name, and the span name also annotates its logs.
import { Effect } from "effect"

// --- [FUNCTIONS]

const span =
	(name: string, attributes: Record<string, unknown> = {}) =>
	<A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
		self.pipe(Effect.withSpan(name, { attributes }), Effect.withLogSpan(name))

// --- [EXPORT]

const Telemetry = { span } as const

export { Telemetry }
