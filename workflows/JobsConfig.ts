// Settings of job execution (JOBS_*): retry schedule and timeout of `http.call`, retention and the DLQ watcher.
import { Config } from "effect"

// --- [CONSTANTS]

const JobsConfig = Config.all({
	httpMaxAttempts: Config.integer("JOBS_HTTP_MAX_ATTEMPTS").pipe(
		Config.withDefault(5),
		Config.withDescription("Attempts of one http.call before it goes to the DLQ"),
	),
	httpBackoffBase: Config.duration("JOBS_HTTP_BACKOFF_BASE").pipe(
		Config.withDefault("1 second"),
		Config.withDescription("First retry delay of http.call; doubles per attempt, with jitter"),
	),
	httpBackoffCap: Config.duration("JOBS_HTTP_BACKOFF_CAP").pipe(
		Config.withDefault("1 minute"),
		Config.withDescription("Longest retry delay of http.call (also caps an honoured Retry-After)"),
	),
	httpTimeout: Config.duration("JOBS_HTTP_TIMEOUT").pipe(
		Config.withDefault("10 seconds"),
		Config.withDescription("Per-attempt timeout of http.call"),
	),
})

// --- [EXPORT]

export { JobsConfig }
