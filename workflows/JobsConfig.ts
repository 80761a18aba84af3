// Settings of job execution (JOBS_*): retry schedule and timeout of `http.call`, retention and the DLQ watcher, and the
// test-only fault injection, which is refused (a start-up error naming it) unless NODE_ENV is `test`.
import { Config, ConfigError, Either } from "effect"

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
	retention: Config.duration("JOBS_RETENTION").pipe(
		Config.withDefault("7 days"),
		Config.withDescription("Finished jobs (and their workflow journal) older than this are purged"),
	),
	purgeCron: Config.string("JOBS_PURGE_CRON").pipe(
		Config.withDefault("0 */15 * * * *"),
		Config.withDescription("When jobs.purge runs (cron with seconds); exactly one runner runs it"),
	),
	purgeBatch: Config.integer("JOBS_PURGE_BATCH").pipe(
		Config.withDefault(500),
		Config.withDescription("Rows deleted per statement by jobs.purge"),
	),
	dlqWatchCron: Config.string("JOBS_DLQ_WATCH_CRON").pipe(
		Config.withDefault("0 * * * * *"),
		Config.withDescription("When dlq.watch runs (cron with seconds); exactly one runner runs it"),
	),
	dlqAutoRetries: Config.integer("JOBS_DLQ_AUTO_RETRIES").pipe(
		Config.withDefault(3),
		Config.withDescription("How many times dlq.watch retries an entry whose reason is retryable"),
	),
	dlqAlertThreshold: Config.integer("JOBS_DLQ_ALERT_THRESHOLD").pipe(
		Config.withDefault(10),
		Config.withDescription("Open DLQ entries above which dlq.watch raises an alert"),
	),
	faultInjection: Config.all({
		steps: Config.string("JOBS_FAULT_INJECTION").pipe(Config.withDefault("")),
		environment: Config.string("NODE_ENV").pipe(Config.withDefault("")),
	}).pipe(
		Config.mapOrFail(({ steps, environment }) =>
			steps === "" || environment === "test"
				? Either.right(steps)
				: Either.left(
						ConfigError.InvalidData(
							["JOBS_FAULT_INJECTION"],
							"it makes jobs fail on purpose and is accepted only in tests (NODE_ENV=test); unset it",
						),
					),
		),
		Config.withDescription(
			"Test only (NODE_ENV=test): `<job type>:<step>` makes that step fail (e.g. tenant.delete:complete); `…:defect` makes it die",
		),
	),
})

// --- [EXPORT]

export { JobsConfig }
