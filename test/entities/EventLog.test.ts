// The event log against real Postgres: concurrent audited changes of one tenant are numbered 1..N with no gap, a
// rolled-back change consumes no number, each event carries the request id of the context it was written in, and
// tenants are numbered apart. Reads come back in seq order, filtered by type (exact or prefix) and time.
import { describe, expect, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Array, DateTime, Effect, Exit, Option } from "effect"
import { AuditLog } from "../../entities/AuditLog.ts"
import { EventLog } from "../../entities/event/EventLog.ts"
import type { TenantId } from "../../entities/Tenancy.ts"
import { RequestContext } from "../../platform/RequestContext.ts"
import { TestSqlLive } from "../fixtures/TestSql.ts"

// --- [FUNCTIONS]

const tenant = Effect.gen(function* () {
	const sql = yield* PgClient.PgClient
	const id = crypto.randomUUID() as TenantId
	yield* sql`INSERT INTO apps ${sql.insert({ id, slug: `t-${id.slice(0, 8)}`, name: "events", status: "active" })}`
	return id
})

const change = (appId: TenantId, requestId: string, fail = false) =>
	Effect.flatMap(PgClient.PgClient, (sql) =>
		sql.withTransaction(
			AuditLog.record({
				appId,
				actor: "admin",
				operation: "update",
				subjectType: "tenant",
				subjectId: appId,
				details: { requestId },
			}).pipe(Effect.zipRight(fail ? Effect.fail("rolled back" as const) : Effect.void)),
		),
	).pipe(Effect.provideService(RequestContext, { requestId, ip: null, userAgent: null }))

// --- [TESTS]

layer(TestSqlLive, { excludeTestServices: true })((it) => {
	describe("EventLog", () => {
		it.effect("numbers concurrent changes of a tenant 1..N without gaps; a rollback consumes no seq", () =>
			Effect.gen(function* () {
				const appId = yield* tenant
				const other = yield* tenant
				yield* Effect.forEach(Array.range(1, 25), (index) => change(appId, `req-${index}`), {
					concurrency: 25,
				})
				const rolledBack = yield* Effect.exit(change(appId, "req-rolled-back", true))
				expect(Exit.isFailure(rolledBack)).toBe(true)
				yield* change(appId, "req-last")
				yield* change(other, "req-other")

				const all = yield* EventLog.after(appId, 0, 100)
				expect(all.map((event) => event.seq)).toEqual(Array.range(1, 26))
				expect(all.every((event) => event.type === "tenant.updated" && event.subject === appId)).toBe(true)
				expect(all.some((event) => event.requestId === "req-rolled-back")).toBe(false)
				expect(all.at(-1)).toMatchObject({ requestId: "req-last", correlationId: "req-last" })
				expect(new Set(all.map((event) => event.requestId)).size).toBe(26)
				expect(yield* EventLog.lastSeq(appId)).toBe(26)
				// The other tenant has its own numbering and never sees this tenant's events.
				const theirs = yield* EventLog.after(other, 0, 100)
				expect(theirs.map((event) => [event.seq, event.requestId])).toEqual([[1, "req-other"]])
			}),
		)

		it.effect("a tenant being deleted records no more events and numbers nothing", () =>
			Effect.gen(function* () {
				const sql = yield* PgClient.PgClient
				const appId = yield* tenant
				yield* change(appId, "req-before")
				yield* sql`UPDATE apps SET status = 'deleting' WHERE id = ${appId}`
				const skipped = yield* sql.withTransaction(
					EventLog.append({ appId, type: "tenant.deleted", subject: appId, data: {} }),
				)
				expect(Option.isNone(skipped)).toBe(true)
				yield* change(appId, "req-during")
				expect((yield* EventLog.after(appId, 0, 10)).map((event) => event.requestId)).toEqual(["req-before"])
				expect(yield* EventLog.lastSeq(appId)).toBe(1)
			}),
		)

		it.effect("lists in seq order by page, by type (exact or prefix.*) and by time", () =>
			Effect.gen(function* () {
				const sql = yield* PgClient.PgClient
				const appId = yield* tenant
				const types = ["job.created", "job.succeeded", "user.created", "job.created", "jobs.other"]
				yield* Effect.forEach(types, (type, index) =>
					sql.withTransaction(EventLog.append({ appId, type, subject: `s${index}`, data: { index } })),
				)
				const first = yield* EventLog.list({ appId, after: 0, since: null, type: null, limit: 2 })
				expect(first.items.map((event) => event.seq)).toEqual([1, 2])
				expect(first.nextCursor).toBe("2")
				const rest = yield* EventLog.list({ appId, after: 2, since: null, type: null, limit: 10 })
				expect(rest.items.map((event) => event.seq)).toEqual([3, 4, 5])
				expect(rest.nextCursor).toBeNull()
				const jobs = yield* EventLog.list({ appId, after: 0, since: null, type: "job.*", limit: 10 })
				expect(jobs.items.map((event) => event.type)).toEqual(["job.created", "job.succeeded", "job.created"])
				const exact = yield* EventLog.list({ appId, after: 0, since: null, type: "job.created", limit: 10 })
				expect(exact.items.map((event) => event.seq)).toEqual([1, 4])
				const future = DateTime.add(DateTime.unsafeNow(), { hours: 1 })
				const none = yield* EventLog.list({ appId, after: 0, since: future, type: null, limit: 10 })
				expect(none.items).toEqual([])
				const past = DateTime.subtract(DateTime.unsafeNow(), { hours: 1 })
				const since = yield* EventLog.list({ appId, after: 0, since: past, type: null, limit: 10 })
				expect(since.items.map((event) => event.data)).toEqual(types.map((_, index) => ({ index })))
			}),
		)
	})
})
