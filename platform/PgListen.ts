// Postgres LISTEN as an Effect Stream, on a connection of its own (not the pool's: a pooled connection is shared and
// recycled, and sql-pg's `listen` does not report a lost connection). The stream starts each connection with
// `Listening`, then passes on every notification of the channel. A lost connection (terminated backend, server
// restart, network) fails that connection's stream and the stream reconnects with backoff, starting again with
// `Listening`. Notifications sent while no connection listened are lost: a consumer treats `Listening` as "catch up
// from the table" and notifications as hints, so nothing is missed. Payloads are whatever senders put there; ours
// carry ids only (`pg_notify(channel, '<appId>:<seq>')`).
import { PgClient } from "@effect/sql-pg"
import { Data, Duration, Effect, Option, Redacted, Schedule, Schema, Stream } from "effect"
import pg from "pg"

// --- [CONSTANTS]

// A listening connection is asked `SELECT 1` this often, so a connection that died silently is noticed.
const HeartbeatInterval = Duration.seconds(15)

// --- [SCHEMA]

const ListenNotice = Schema.Union(
	Schema.TaggedStruct("Listening", {}),
	Schema.TaggedStruct("Notification", { payload: Schema.String }),
)
type ListenNotice = typeof ListenNotice.Type

// --- [ERRORS]

// Never leaves this module: the stream reconnects.
class ListenLost extends Data.TaggedError("ListenLost")<{ readonly cause: unknown }> {}

// --- [FUNCTIONS]

const clientConfig = (config: PgClient.PgClientConfig, applicationName: string): pg.ClientConfig => ({
	...Option.match(Option.fromNullable(config.url), {
		onNone: () => ({}),
		onSome: (url) => ({ connectionString: Redacted.value(url) }),
	}),
	...(config.host === undefined ? {} : { host: config.host }),
	...(config.port === undefined ? {} : { port: config.port }),
	...(config.database === undefined ? {} : { database: config.database }),
	...(config.username === undefined ? {} : { user: config.username }),
	...(config.password === undefined ? {} : { password: Redacted.value(config.password) }),
	...(config.ssl === undefined ? {} : { ssl: config.ssl }),
	application_name: applicationName,
	keepAlive: true,
})

// One connection's notifications: `Listening` once LISTEN is in place, then the channel's payloads; fails with
// ListenLost when the connection goes.
const connection = (config: pg.ClientConfig, channel: string) =>
	Stream.asyncScoped<ListenNotice, ListenLost>((emit) =>
		Effect.gen(function* () {
			const lost = (cause: unknown) => void emit.fail(new ListenLost({ cause }))
			const client = yield* Effect.acquireRelease(
				Effect.suspend(() => {
					const fresh = new pg.Client(config)
					fresh.on("error", lost)
					fresh.on("end", () => lost("connection ended"))
					fresh.on("notification", (message) =>
						message.channel === channel
							? void emit.single({ _tag: "Notification", payload: message.payload ?? "" })
							: undefined,
					)
					return Effect.tryPromise({
						try: () => fresh.connect(),
						catch: (cause) => new ListenLost({ cause }),
					}).pipe(
						Effect.as(fresh),
						Effect.tapError(() => Effect.promise(() => fresh.end().catch(() => undefined))),
					)
				}),
				(open) =>
					Effect.sync(() => open.removeAllListeners()).pipe(
						Effect.zipRight(Effect.promise(() => open.end().catch(() => undefined))),
						Effect.timeoutOption("1 second"),
					),
			)
			yield* Effect.tryPromise({
				try: () => client.query(`LISTEN ${client.escapeIdentifier(channel)}`),
				catch: (cause) => new ListenLost({ cause }),
			})
			yield* Effect.promise(() => emit.single({ _tag: "Listening" }))
			yield* Effect.tryPromise({
				try: () => client.query("SELECT 1"),
				catch: (cause) => new ListenLost({ cause }),
			}).pipe(
				Effect.timeoutFail({ duration: "10 seconds", onTimeout: () => new ListenLost({ cause: "heartbeat" }) }),
				Effect.tapError((error) => Effect.sync(() => lost(error.cause))),
				Effect.repeat(Schedule.spaced(HeartbeatInterval)),
				Effect.ignore,
				Effect.forkScoped,
			)
		}),
	)

// Every notification of `channel`, on a dedicated connection made from the PgClient's configuration, reconnecting
// with backoff (100 ms doubling up to `maxBackoff`) for as long as the stream is consumed. Never fails.
const listen = (channel: string, options: { readonly maxBackoff?: Duration.DurationInput } = {}) =>
	Stream.unwrap(
		Effect.map(PgClient.PgClient, (sql) =>
			connection(clientConfig(sql.config, `listen:${channel}`), channel).pipe(
				Stream.tapError((error) => Effect.logWarning(`LISTEN ${channel} lost; reconnecting`, error.cause)),
				Stream.retry(
					Schedule.exponential("100 millis").pipe(
						Schedule.union(Schedule.spaced(options.maxBackoff ?? "5 seconds")),
						Schedule.jittered,
					),
				),
				Stream.catchAll(() => Stream.empty),
			),
		),
	)

// --- [EXPORT]

const PgListen = { listen } as const

export { ListenNotice, PgListen }
