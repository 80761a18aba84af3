// Readiness needs more than a registered runner: every shard must be assigned (its advisory lock held in this
// database). A healthy runner row without shards is not ready, naming `shards`; once every shard lock of the default
// group is held it is; one shard missing makes it fail again. The locks are taken here the way a runner takes them.
import { layer } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect } from "effect"
import pg from "pg"
import { expect } from "vitest"
import { Health } from "../../platform/Health.ts"
import { TestSqlLive } from "../fixtures/TestSql.ts"

// --- [CONSTANTS]

const shardsPerGroup = 300
const lockKeys = Array.from({ length: shardsPerGroup }, (_, index) => 1_000_001 + index)

// --- [FUNCTIONS]

// A second session on the test database holding the given shard locks until the scope closes.
const holdLocks = (keys: ReadonlyArray<number>) =>
	Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const database = yield* sql`SELECT current_database() AS name`.pipe(Effect.map((rows) => String(rows[0]?.name)))
		const client = yield* Effect.acquireRelease(
			Effect.promise(async () => {
				const session = new pg.Client({ connectionString: `postgres://postgres@127.0.0.1:5432/${database}` })
				await session.connect()
				return session
			}),
			(session) => Effect.promise(() => session.end()),
		)
		yield* Effect.promise(() =>
			client.query("SELECT pg_advisory_lock(key) FROM unnest($1::bigint[]) AS key", [keys]),
		)
	})

// --- [SUITE]

layer(TestSqlLive, { excludeTestServices: true, timeout: "60 seconds" })("readiness", (it) => {
	it.scoped("a registered runner without shards is not ready; every shard lock held is", () =>
		Effect.gen(function* () {
			const sql = yield* SqlClient.SqlClient
			expect(yield* Health.checks(shardsPerGroup)).toEqual({
				database: "ok",
				cluster: "failing",
				shards: "failing",
			})
			yield* sql`CREATE TABLE IF NOT EXISTS cluster_runners (
				machine_id SERIAL PRIMARY KEY, address VARCHAR(255) NOT NULL UNIQUE, runner TEXT NOT NULL,
				healthy BOOLEAN NOT NULL DEFAULT TRUE, last_heartbeat TIMESTAMP NOT NULL DEFAULT NOW())`
			yield* sql`INSERT INTO cluster_runners (address, runner) VALUES ('127.0.0.1:1', 'runner')`
			expect(yield* Health.checks(shardsPerGroup)).toEqual({ database: "ok", cluster: "ok", shards: "failing" })
			yield* holdLocks(lockKeys.slice(0, -1))
			expect(yield* Health.checks(shardsPerGroup)).toEqual({ database: "ok", cluster: "ok", shards: "failing" })
			yield* holdLocks(lockKeys.slice(-1))
			expect(yield* Health.checks(shardsPerGroup)).toEqual({ database: "ok", cluster: "ok", shards: "ok" })
		}),
	)
})
