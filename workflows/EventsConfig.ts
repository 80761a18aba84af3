// Settings of the event log (EVENTS_*): how long events are kept (a tenant's `eventRetentionDays` setting overrides
// the default) and when events.purge runs.
import { Config } from "effect"

// --- [CONSTANTS]

const EventsConfig = Config.all({
	retentionDays: Config.integer("EVENTS_RETENTION_DAYS").pipe(
		Config.withDefault(30),
		Config.validate({ message: "must be between 1 and 3650", validation: (days) => days >= 1 && days <= 3650 }),
		Config.withDescription(
			"Days a tenant's events are kept for replay, unless its `eventRetentionDays` setting says otherwise",
		),
	),
	purgeCron: Config.string("EVENTS_PURGE_CRON").pipe(
		Config.withDefault("0 5,35 * * * *"),
		Config.withDescription("When events.purge runs (cron with seconds); exactly one runner runs it"),
	),
})

// --- [EXPORT]

export { EventsConfig }
