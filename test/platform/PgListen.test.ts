// LISTEN as a Stream against real Postgres: a connection begins with `Listening`, passes on the channel's
// notifications (only that channel's, only committed ones), and when its backend is terminated the stream reconnects
// on its own and begins again with `Listening`, so a consumer knows to catch up.
import { describe, expect, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Fiber, Queue, Stream } from "effect"
import { type ListenNotice, PgListen } from "../../platform/PgListen.ts"
import { TestSqlLive } from "../fixtures/TestSql.ts"

// --- [TESTS]

layer(TestSqlLive, { excludeTestServices: true })((it) => {
	describe("PgListen", () => {
		it.effect("notifications, then a terminated backend: reconnects and says Listening again", () =>
			Effect.gen(function* () {
				const sql = yield* PgClient.PgClient
				const received = yield* Queue.unbounded<ListenNotice>()
				const fiber = yield* PgListen.listen("listen_probe", { maxBackoff: "200 millis" }).pipe(
					Stream.runForEach((notice) => Queue.offer(received, notice)),
					Effect.fork,
				)
				expect(yield* Queue.take(received)).toEqual({ _tag: "Listening" })
				yield* sql`SELECT pg_notify('other_channel', 'ignored')`
				const rolledBack = yield* Effect.exit(
					sql.withTransaction(
						sql`SELECT pg_notify('listen_probe', 'rolled-back')`.pipe(Effect.zipRight(Effect.fail("no"))),
					),
				)
				expect(Exit.isFailure(rolledBack)).toBe(true)
				yield* sql`SELECT pg_notify('listen_probe', 'app:1')`
				expect(yield* Queue.take(received)).toEqual({ _tag: "Notification", payload: "app:1" })

				const terminated = yield* sql<{ readonly done: boolean }>`
					SELECT pg_terminate_backend(pid) AS done FROM pg_stat_activity
					WHERE application_name = 'listen:listen_probe' AND datname = current_database()`
				expect(terminated.map((row) => row.done)).toEqual([true])
				expect(yield* Queue.take(received)).toEqual({ _tag: "Listening" })
				yield* sql`SELECT pg_notify('listen_probe', 'app:2')`
				expect(yield* Queue.take(received)).toEqual({ _tag: "Notification", payload: "app:2" })
				expect(yield* Queue.size(received)).toBe(0)
				yield* Fiber.interrupt(fiber)
			}),
		)
	})
})
