// The lifecycle kit's size claim, proven: a whole lifecycle entity (a door, closed ⇄ open, audited, stored in its own
// table, booted once from what Postgres holds) written with the kit, between the two TOY markers, and exercised through
// the cluster's in-memory entity test client against real Postgres.
import { Entity, ShardingConfig } from "@effect/cluster"
import { Machine } from "@effect/experimental"
import { Rpc } from "@effect/rpc"
import { PgClient } from "@effect/sql-pg"
import { describe, expect, it, layer } from "@effect/vitest"
import { Effect, Exit, Layer, Option, Schema } from "effect"
import { readFileSync } from "node:fs"
import { InvalidTransition } from "../../entities/InvalidTransition.ts"
import { Lifecycle } from "../../entities/Lifecycle.ts"
import { RequestContextHeaders, RequestMeta } from "../../platform/RequestContext.ts"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { TestSqlLive } from "../fixtures/TestSql.ts"

// --- TOY BEGIN
const DoorStatus = Schema.Literal("closed", "open")
const DoorOperation = Schema.Literal("open", "close")
const DoorLifecycle = Lifecycle.table({
	subject: "door",
	states: DoorStatus,
	operations: DoorOperation,
	rows: {
		open: { from: ["closed"], to: "open", audit: "activate" },
		close: { from: ["open"], to: "closed", audit: "suspend" },
	},
})
const Failure = Schema.Union(InvalidTransition, StorageUnavailable)
class Move extends Schema.TaggedRequest<Move>()("Move", {
	failure: Failure,
	success: DoorStatus,
	payload: { operation: DoorOperation, meta: RequestMeta },
}) {}
const DoorMachine = Lifecycle.machine<typeof DoorStatus.Type, string>({ name: "Door", initial: "closed", key: String })(
	(id, empty) =>
		Effect.map(PgClient.PgClient, (sql) =>
			empty.pipe(
				Machine.procedures.add<Move>()("Move", ({ request, state }) =>
					Lifecycle.advance(DoorLifecycle, state, request.operation, {
						write: (next) =>
							sql`INSERT INTO doors VALUES (${id}, ${next}) ON CONFLICT (id) DO UPDATE SET status = ${next}`,
						subject: { appId: null, actor: "test", subjectType: "door", subjectId: id },
						meta: request.meta,
					}).pipe(Effect.map((next) => [next, next] as const)),
				),
			),
		),
)
const Door = Entity.make("Door", [
	Rpc.make("Move", { payload: { operation: DoorOperation }, success: DoorStatus, error: Failure }),
	Rpc.make("Get", { success: DoorStatus }),
])
const DoorLive = Door.toLayer(
	Effect.gen(function* () {
		const id = yield* Lifecycle.address(Schema.String)
		const sql = yield* PgClient.PgClient
		const rows = sql<{ status: typeof DoorStatus.Type }>`SELECT status FROM doors WHERE id = ${id}`
		const loaded = Effect.map(rows, (found) => Option.fromNullable(found[0]))
		const actor = yield* Lifecycle.bootOnce(
			DoorMachine,
			id,
			Lifecycle.stored(Effect.orDie(loaded), "closed", (found) => found.status),
		)
		return {
			Move: ({ payload, headers }) =>
				actor.send(
					new Move({ operation: payload.operation, meta: RequestContextHeaders.fromHeaders(headers) }),
				),
			Get: () => actor.get,
		}
	}),
)
// --- TOY END

// --- [LAYERS]

const TestLive = ShardingConfig.layerDefaults.pipe(Layer.provideMerge(TestSqlLive))

const auditRows = (sql: PgClient.PgClient, id: string) =>
	sql<{ operation: string }>`SELECT operation FROM audit_logs WHERE subject_type = 'door' AND subject_id = ${id}
		ORDER BY created_at`.pipe(Effect.map((rows) => rows.map((row) => row.operation)))

describe("LifecycleKit", () => {
	it("the toy lifecycle entity is about 40 lines of its own", () => {
		const source = readFileSync(new URL(import.meta.url).pathname, "utf8")
		const toy = source.slice(source.indexOf("// --- TOY BEGIN"), source.indexOf("// --- TOY END")).split("\n")
		expect(toy.length - 1).toBeLessThanOrEqual(60)
	})

	layer(TestLive, { excludeTestServices: true })("through an in-memory entity client", (it) => {
		it.scoped("transitions commit state and audit row; an unlisted one is refused; a stored row boots", () =>
			Effect.gen(function* () {
				const sql = yield* PgClient.PgClient
				yield* sql`CREATE TABLE IF NOT EXISTS doors (id text PRIMARY KEY, status text NOT NULL)`
				const client = yield* Entity.makeTestClient(Door, DoorLive)
				const door = yield* client("front")
				expect(yield* door.Get()).toBe("closed")
				expect(yield* door.Move({ operation: "open" })).toBe("open")
				const refused = yield* Effect.exit(door.Move({ operation: "open" }))
				expect(refused).toStrictEqual(
					Exit.fail(
						new InvalidTransition({
							message: "cannot open a door that is open",
							from: "open",
							operation: "open",
						}),
					),
				)
				expect(yield* door.Move({ operation: "close" })).toBe("closed")
				expect(yield* sql`SELECT status FROM doors WHERE id = 'front'`).toEqual([{ status: "closed" }])
				expect(yield* auditRows(sql, "front")).toEqual(["activate", "suspend"])
				// A door stored open boots open: its first request is checked against the stored state.
				yield* sql`INSERT INTO doors VALUES ('back', 'open')`
				const back = yield* client("back")
				expect(yield* back.Get()).toBe("open")
				expect(yield* back.Move({ operation: "close" })).toBe("closed")
			}),
		)
	})
})
