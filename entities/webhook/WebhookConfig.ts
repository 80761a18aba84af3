// The webhook settings: the delays before each delivery attempt (their count is the number of attempts), how long an
// endpoint may fail without a break before it is disabled, and how often the dispatcher looks for new events.
import { Config, ConfigError, Duration, Either } from "effect"

// --- [CONSTANTS]

// `0s,5s,5m`: each entry a number and a unit (ms, s, m, h, d).
const DelayPattern = /^(\d+)(ms|s|m|h|d)$/

const Units = { ms: "millis", s: "seconds", m: "minutes", h: "hours", d: "days" } as const

const WebhooksConfig = Config.all({
	retrySchedule: Config.array(Config.string(), "WEBHOOKS_RETRY_SCHEDULE").pipe(
		Config.withDefault(["0s", "5s", "5m", "30m", "2h", "5h", "10h", "10h"]),
		Config.mapOrFail((entries) => {
			const delays = entries.map((entry) => DelayPattern.exec(entry.trim()))
			return delays.length > 0 && delays.every((match) => match !== null)
				? Either.right(
						delays.map((match) =>
							Duration.decode(`${Number(match![1])} ${Units[match![2] as keyof typeof Units]}`),
						),
					)
				: Either.left(ConfigError.InvalidData([], "comma-separated delays such as 0s,5s,5m,30m,2h expected"))
		}),
		Config.withDescription("Delay before each webhook delivery attempt; the count is the number of attempts"),
	),
	disableAfter: Config.duration("WEBHOOKS_DISABLE_AFTER").pipe(
		Config.withDefault(Duration.days(5)),
		Config.withDescription("An endpoint failing without a success for this long is disabled"),
	),
	circuitThreshold: Config.integer("WEBHOOKS_CIRCUIT_THRESHOLD").pipe(
		Config.withDefault(5),
		Config.validate({ message: "at least 1", validation: (count) => count >= 1 }),
		Config.withDescription("Consecutive failures after which an endpoint's circuit opens"),
	),
	circuitCooldown: Config.duration("WEBHOOKS_CIRCUIT_COOLDOWN").pipe(
		Config.withDefault(Duration.minutes(1)),
		Config.withDescription("How long an open circuit refuses attempts before one probe is let through"),
	),
	dispatchInterval: Config.duration("WEBHOOKS_DISPATCH_INTERVAL").pipe(
		Config.withDefault(Duration.seconds(1)),
		Config.withDescription("How often the dispatcher reads new events for the active endpoints"),
	),
})

// --- [EXPORT]

export { WebhooksConfig }
