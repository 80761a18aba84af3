// events.purge against real Postgres: a tenant's events older than its `eventRetentionDays` (else
// EVENTS_RETENTION_DAYS) are deleted, newer ones and other tenants' stay, platform rows past the default go, and the
// numbering goes on where it was (event_sequences is never touched).
import { describe, expect, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { ConfigProvider, Effect, Layer, Option } from "effect"
import { EventLog } from "../../entities/event/EventLog.ts"
import type { TenantId } from "../../entities/Tenancy.ts"
import { purgeEvents } from "../../workflows/Maintenance.ts"
import { TestSqlLive } from "../fixtures/TestSql.ts"

// --- [FUNCTIONS]

const tenant = (settings: Record<string, unknown>) =>
	Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const id = crypto.randomUUID() as TenantId
		yield* sql`INSERT INTO apps ${sql.insert({
			id,
			slug: `p-${id.slice(0, 8)}`,
			name: "purge",
			status: "active",
			settings: sql.json(settings),
		})}`
		return id
	})

// Appends an event of `appId` that occurred `days` ago.
const aged = (appId: TenantId, days: number) =>
	Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const seq = yield* sql
			.withTransaction(EventLog.append({ appId, type: "user.updated", subject: null, data: {} }))
			.pipe(Effect.map(Option.getOrThrow))
		yield* sql`UPDATE events SET created_at = now() - make_interval(days => ${days}::int)
			WHERE app_id = ${appId} AND seq = ${seq}`
	})

// --- [TESTS]

layer(
	Layer.merge(
		TestSqlLive,
		Layer.setConfigProvider(ConfigProvider.fromMap(new Map([["EVENTS_RETENTION_DAYS", "10"]]))),
	),
	{ excludeTestServices: true },
)((it) => {
	describe("events.purge", () => {
		it.effect("deletes past each tenant's retention, keeps the rest and the numbering", () =>
			Effect.gen(function* () {
				const sql = yield* PgClient.PgClient
				const short = yield* tenant({ eventRetentionDays: 2 })
				const standard = yield* tenant({})
				yield* Effect.forEach([5, 3, 1], (days) => aged(short, days))
				yield* Effect.forEach([20, 11, 9, 1], (days) => aged(standard, days))
				yield* sql`INSERT INTO events (type, created_at) VALUES ('dlq.watch', now() - interval '11 days'),
					('dlq.watch', now())`
				const purged = yield* purgeEvents
				expect(purged.tenants).toBe(4)
				expect(purged.platform).toBeGreaterThanOrEqual(1)
				expect((yield* EventLog.after(short, 0, 10)).map((event) => event.seq)).toEqual([3])
				expect((yield* EventLog.after(standard, 0, 10)).map((event) => event.seq)).toEqual([3, 4])
				const platform = yield* sql<{ readonly count: string }>`
					SELECT count(*)::text AS count FROM events WHERE app_id IS NULL AND created_at > now() - interval '1 day'`
				expect(platform[0]?.count).toBe("1")
				// The numbering continues after the purge.
				yield* aged(short, 0)
				expect((yield* EventLog.after(short, 0, 10)).map((event) => event.seq)).toEqual([3, 4])
			}),
		)
	})
})
