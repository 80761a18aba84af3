// Which SQL failures are "storage unavailable" (503, try again) and which are bugs (a logged defect, 500), decided
// from real errors of the machine's PostgreSQL: a refused connection and an administrator's termination are
// unavailable; a syntax error, a unique violation and bad data are defects.
import { layer } from "@effect/vitest"
import { SqlClient, type SqlError } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Cause, Effect, Exit, Layer, Option, Redacted } from "effect"
import { expect } from "vitest"
import { isStorageUnavailable, orStorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { freePort } from "../fixtures/Processes.ts"
import { TestSqlLive } from "../fixtures/TestSql.ts"

// --- [FUNCTIONS]

const failure = <A, R>(effect: Effect.Effect<A, SqlError.SqlError, R>) => Effect.flip(effect)

// A PgClient against a loopback port nobody listens on: its first connection is refused.
const closedPortError = Effect.promise(() => freePort()).pipe(
	Effect.flatMap((port) =>
		Layer.build(PgClient.layer({ url: Redacted.make(`postgres://postgres@127.0.0.1:${port}/postgres`) })).pipe(
			Effect.flatMap((context) => SqlClient.SqlClient.pipe(Effect.provide(context))),
			Effect.flatMap((sql) => sql`SELECT 1`),
			Effect.scoped,
			Effect.flip,
		),
	),
)

// --- [SUITE]

layer(TestSqlLive, { excludeTestServices: true, timeout: "60 seconds" })("storage failures", (it) => {
	it.effect("a syntax error, a unique violation and bad data are not storage unavailability", () =>
		Effect.gen(function* () {
			const sql = yield* SqlClient.SqlClient
			yield* sql`CREATE TABLE classify_unique (id int PRIMARY KEY)`
			yield* sql`INSERT INTO classify_unique VALUES (1)`
			const errors = yield* Effect.all([
				failure(sql`SELEC 1`),
				failure(sql`INSERT INTO classify_unique VALUES (1)`),
				failure(sql`SELECT 'not a number'::int`),
			])
			expect(errors.map(isStorageUnavailable)).toEqual([false, false, false])
		}),
	)

	it.effect("a refused connection is storage unavailability", () =>
		Effect.gen(function* () {
			const refused = yield* closedPortError
			expect(isStorageUnavailable(refused)).toBe(true)
		}),
	)

	it.effect("orStorageUnavailable: unavailability fails with StorageUnavailable, a bug becomes a defect", () =>
		Effect.gen(function* () {
			const sql = yield* SqlClient.SqlClient
			const syntax = yield* Effect.exit(orStorageUnavailable(sql`SELEC 1`))
			expect(Exit.isFailure(syntax) && Cause.isDie(syntax.cause)).toBe(true)
			expect(Exit.isFailure(syntax) && Option.isNone(Cause.failureOption(syntax.cause))).toBe(true)
			const refused = yield* Effect.exit(orStorageUnavailable(closedPortError.pipe(Effect.flatMap(Effect.fail))))
			expect(Exit.isFailure(refused) && Option.getOrNull(Cause.failureOption(refused.cause))).toMatchObject({
				message: "storage is temporarily unavailable",
			})
		}),
	)

	// Last: the pool's next query on the terminated connection fails too (as unavailable, rightly).
	it.effect("an administrator's termination of the connection (57P01) is storage unavailability", () =>
		Effect.gen(function* () {
			const sql = yield* SqlClient.SqlClient
			const terminated = yield* failure(sql`SELECT pg_terminate_backend(pg_backend_pid())`)
			expect(isStorageUnavailable(terminated)).toBe(true)
		}),
	)
})
