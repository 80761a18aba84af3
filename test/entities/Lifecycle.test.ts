// The lifecycle kit against real Postgres: a probe lifecycle (draft → live → gone) over its own table shows that the
// table refuses what it does not list without writing, that a commit writes the state and its audit row in one
// transaction (or neither), and that an actor is booted once from what Postgres holds.
import { describe, expect, it, layer } from "@effect/vitest"
import { Machine } from "@effect/experimental"
import { PgClient } from "@effect/sql-pg"
import { Effect, Either, Exit, Option, Ref, Schema } from "effect"
import type { AuditOperation } from "../../entities/AuditLog.ts"
import { InvalidTransition } from "../../entities/InvalidTransition.ts"
import { Lifecycle } from "../../entities/Lifecycle.ts"
import { RequestMeta } from "../../platform/RequestContext.ts"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { TestSqlLive } from "../fixtures/TestSql.ts"

// --- [CONSTANTS]

const ProbeStatus = Schema.Literal("draft", "live", "gone")
type ProbeStatus = typeof ProbeStatus.Type

const ProbeOperation = Schema.Literal("publish", "retire", "broken")

const ProbeLifecycle = Lifecycle.table({
	subject: "probe",
	states: ProbeStatus,
	operations: ProbeOperation,
	rows: {
		publish: { from: ["draft"], to: "live", audit: "activate" },
		retire: { from: ["live"], to: "gone", audit: "delete" },
		// Its audit operation is one the audit_logs CHECK constraint refuses: the audit insert fails.
		broken: { from: ["draft", "live"], to: "gone", audit: "no-such-operation" as AuditOperation },
	},
})

const meta = (requestId: string) => ({ requestId, ip: "203.0.113.7", userAgent: "lifecycle-test" })

// --- [SCHEMA]

class Move extends Schema.TaggedRequest<Move>()("Move", {
	failure: Schema.Union(InvalidTransition, StorageUnavailable),
	success: ProbeStatus,
	payload: { operation: ProbeOperation, meta: RequestMeta, unavailable: Schema.Boolean },
}) {}

// --- [SERVICES]

const ProbeMachine = Machine.makeWith<ProbeStatus, string>()((id, previous) =>
	Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const commit = yield* Lifecycle.committer
		return Machine.procedures.make<ProbeStatus>(previous ?? "draft").pipe(
			Machine.procedures.add<Move>()("Move", ({ request, state }) =>
				Effect.all([
					ProbeLifecycle.allow(state, request.operation),
					ProbeLifecycle.transition(state, request.operation),
				]).pipe(
					Effect.flatMap(([row, next]) =>
						commit({
							write: Effect.when(
								Effect.fail(new StorageUnavailable({ message: "storage is temporarily unavailable" })),
								() => request.unavailable,
							).pipe(
								Effect.zipRight(sql`UPDATE lifecycle_probe SET status = ${next} WHERE id = ${id}`),
								Effect.as(next),
							),
							audit: () =>
								Option.map(Option.fromNullable(row.audit), (operation) => ({
									appId: null,
									actor: "test",
									operation,
									subjectType: "probe",
									subjectId: id,
								})),
							meta: request.meta,
						}),
					),
					Effect.map((next) => [next, next] as const),
				),
			),
		)
	}),
)

// --- [FUNCTIONS]

const probe = (status: ProbeStatus) =>
	Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const id = crypto.randomUUID()
		yield* sql`CREATE TABLE IF NOT EXISTS lifecycle_probe (id text PRIMARY KEY, status text NOT NULL)`
		yield* sql`INSERT INTO lifecycle_probe (id, status) VALUES (${id}, ${status})`
		const loads = yield* Ref.make(0)
		const stored = Ref.update(loads, (count) => count + 1).pipe(
			Effect.zipRight(sql<{ status: ProbeStatus }>`SELECT status FROM lifecycle_probe WHERE id = ${id}`),
			Effect.map((rows) => rows[0]?.status ?? "draft"),
			Effect.orDie,
		)
		const actor = yield* Lifecycle.bootOnce(ProbeMachine, id, stored)
		const written = Effect.all({
			status: sql<{
				status: string
				xmin: string
			}>`SELECT status, xmin::text FROM lifecycle_probe WHERE id = ${id}`,
			audits: sql<{ operation: string; requestId: string; xmin: string }>`
				SELECT operation, request_id, xmin::text FROM audit_logs WHERE subject_id = ${id}`,
		})
		return { actor, loads, written }
	})

// --- [TESTS]

describe("Lifecycle", () => {
	it("a table answers every state × operation: the row's target, or InvalidTransition naming both", () => {
		const table = Object.fromEntries(
			ProbeLifecycle.states.map((state) => [
				state,
				Object.fromEntries(
					ProbeLifecycle.operations.map((operation) => [
						operation,
						Either.match(ProbeLifecycle.transition(state, operation), {
							onLeft: (error) => `${error._tag}: ${error.message}`,
							onRight: (next) => next,
						}),
					]),
				),
			]),
		)
		expect(table).toEqual({
			draft: {
				publish: "live",
				retire: "InvalidTransition: cannot retire a probe that is draft",
				broken: "gone",
			},
			live: { publish: "InvalidTransition: cannot publish a probe that is live", retire: "gone", broken: "gone" },
			gone: {
				publish: "InvalidTransition: cannot publish a probe that is gone",
				retire: "InvalidTransition: cannot retire a probe that is gone",
				broken: "InvalidTransition: cannot broken a probe that is gone",
			},
		})
	})

	layer(TestSqlLive, { excludeTestServices: true })("against Postgres", (it) => {
		it.scoped("an illegal transition fails with InvalidTransition and writes nothing", () =>
			Effect.gen(function* () {
				const { actor, written } = yield* probe("draft")
				const error = yield* Effect.flip(
					actor.send(new Move({ operation: "retire", meta: meta("r-illegal"), unavailable: false })),
				)
				const after = yield* written
				expect(error).toBeInstanceOf(InvalidTransition)
				expect(error).toMatchObject({ from: "draft", operation: "retire" })
				expect(after.status.map((row) => row.status)).toEqual(["draft"])
				expect(after.audits).toEqual([])
				expect(yield* actor.get).toBe("draft")
			}),
		)

		it.scoped("a legal transition writes the state and its audit row in one transaction", () =>
			Effect.gen(function* () {
				const { actor, written } = yield* probe("draft")
				const next = yield* actor.send(
					new Move({ operation: "publish", meta: meta("r-legal"), unavailable: false }),
				)
				const after = yield* written
				expect(next).toBe("live")
				expect(after.status.map((row) => row.status)).toEqual(["live"])
				expect(after.audits).toEqual([
					{ operation: "activate", requestId: "r-legal", xmin: after.status[0]?.xmin },
				])
				expect(yield* actor.get).toBe("live")
			}),
		)

		it.scoped(
			"a failed audit insert (a CHECK violation) leaves the state as it was, in Postgres and in memory",
			() =>
				Effect.gen(function* () {
					const { actor, written } = yield* probe("live")
					const exit = yield* Effect.exit(
						actor.send(new Move({ operation: "broken", meta: meta("r-broken"), unavailable: false })),
					)
					const after = yield* written
					expect(Exit.isFailure(exit)).toBe(true)
					expect(after.status.map((row) => row.status)).toEqual(["live"])
					expect(after.audits).toEqual([])
				}),
		)

		it.scoped("an actor boots once from Postgres, and again only after its storage was unavailable", () =>
			Effect.gen(function* () {
				const { actor, loads } = yield* probe("draft")
				yield* actor.get
				yield* actor.get
				expect(yield* Ref.get(loads)).toBe(1)
				const unavailable = yield* Effect.flip(
					actor.send(new Move({ operation: "publish", meta: meta("r-down"), unavailable: true })),
				)
				expect(unavailable).toBeInstanceOf(StorageUnavailable)
				expect(
					yield* actor.send(new Move({ operation: "publish", meta: meta("r-up"), unavailable: false })),
				).toBe("live")
				expect(yield* Ref.get(loads)).toBe(2)
			}),
		)
	})
})
