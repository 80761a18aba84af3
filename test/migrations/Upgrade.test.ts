// Migrations are frozen once applied: each file's content is pinned here (a change to the schema is a new migration,
// whose hash is added). Because of the pins, the files up to an earlier head are that release's files, so a database
// migrated with them is what that release left behind; upgraded, it has exactly the schema of a fresh one (tables,
// columns, defaults, constraints with their CHECK lists, indexes).
import { createHash } from "node:crypto"
import { readFileSync } from "node:fs"
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { PgClient, PgMigrator } from "@effect/sql-pg"
import { Effect, Layer, Record, Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { Migrations } from "../../migrations/Migrator.ts"
import { createDatabase } from "../fixtures/TestDatabase.ts"

// --- [CONSTANTS]

const Pinned: Record<string, string> = {
	"0001_initial": "2732ef6cc75244dc5fb8a181a6443924fe598aa642390148275812ceb498d4e4",
	"0002_jobs": "f85e63f3cdae87f9d92bd434534f9951c95b417b669e28f8fb4c14020a44f7b0",
	"0003_oauth_providers": "03cc5974a89517bbf4ff498ab73a0d09ba5cbf7b85c6502a82b1a85ce3bb32fd",
	"0004_identity": "ce785c0ef79d87f87b96fab8e8971ac8e801112ede091a51cf85c15667e37224",
	"0005_job_owner": "f9fe9534b882998e4b90dc9c00289bb4ece6ccb6ba20eaa26ec1a938d9ccde14",
	"0006_email_verified": "9afd337e46fef4d3282731263c46ea5849dbe1599a15c043fed431caa9d10bd7",
	"0007_dlq_defect": "44ea44160e81c3c8e74b9e960013849ed61b4cbc0a854322db30aa76ad49d652",
	"0008_dlq_one_per_job": "d2b0a9c0fa0bc2713f4a40028eeab9645fb06e585d6bbb1245cc9e3d865ae0cc",
	"0009_event_log": "e2165e229ce23f0468ec9542fe6ad5be085bce08a861bb1fc1abb3c1f1dc746e",
	"0010_passkeys": "bb55500a29d9c4f9791bd50bb66e55f6fa054ec387ca6ab5c0027134fd44c8f6",
	"0011_webhooks": "0fbbaad63087788174039d0cdba6b3dc824efe87b02cd09ee5d7f86bb4c5201e",
}

const Names = Object.keys(Migrations)

// --- [FUNCTIONS]

// The schema as the catalog describes it, in a stable order.
const schemaOf = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	const columns = yield* sql<{ line: string }>`
		SELECT concat_ws(' ', table_name, column_name, data_type, is_nullable, column_default) AS line
		FROM information_schema.columns WHERE table_schema = 'public' ORDER BY table_name, column_name`
	const constraints = yield* sql<{ line: string }>`
		SELECT concat_ws(' ', conrelid::regclass::text, conname, pg_get_constraintdef(oid)) AS line
		FROM pg_constraint WHERE connamespace = 'public'::regnamespace ORDER BY conrelid::regclass::text, conname`
	const indexes = yield* sql<{ line: string }>`
		SELECT indexdef AS line FROM pg_indexes WHERE schemaname = 'public' ORDER BY tablename, indexname`
	return [...columns, ...constraints, ...indexes].map((row) => row.line)
})

// Migrates a new database with the first `count` migrations, then with all of them; answers its schema.
const upgradedFrom = (count: number) =>
	Effect.promise(() => createDatabase("upgrade")).pipe(
		Effect.flatMap((database) =>
			Effect.gen(function* () {
				const run = (names: ReadonlyArray<string>) =>
					PgMigrator.run({
						loader: PgMigrator.fromRecord(Record.filter(Migrations, (_, name) => names.includes(name))),
					})
				yield* run(Names.slice(0, count))
				yield* run(Names)
				return yield* schemaOf
			}).pipe(
				Effect.provide(
					Layer.merge(
						PgClient.layer({ url: Redacted.make(database.url) }).pipe(Layer.orDie),
						NodeContext.layer,
					),
				),
				Effect.scoped,
				Effect.ensuring(Effect.promise(() => database.drop())),
			),
		),
	)

// --- [TESTS]

describe("frozen migrations", () => {
	it("no applied migration changed: each file's hash is pinned (a change is a new migration)", () => {
		const actual = Object.fromEntries(
			Names.map((name) => [
				name,
				createHash("sha256")
					.update(readFileSync(new URL(`../../migrations/${name}.ts`, import.meta.url)))
					.digest("hex"),
			]),
		)
		expect(actual).toEqual(Pinned)
	})

	it("a database migrated at any earlier head and upgraded has the schema of a fresh one", async () => {
		const fresh = await Effect.runPromise(upgradedFrom(Names.length))
		expect(fresh.some((line) => line.includes("job_dlq_error_reason_check"))).toBe(true)
		const upgraded = await Effect.runPromise(
			Effect.forEach(
				Names.slice(0, -1).map((_, index) => index + 1),
				upgradedFrom,
				{ concurrency: 2 },
			),
		)
		upgraded.forEach((schema) => expect(schema).toEqual(fresh))
	}, 120_000)
})
