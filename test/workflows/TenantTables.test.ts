// The registry of tenant tables (workflows/TenantTables.ts) against a freshly migrated Postgres: every table of ours
// with a tenant column (`app_id`, or any column referencing `apps`) is either deleted or kept by `tenant.delete`,
// every registered table exists and has the tenant column, and the deletion order puts each table before the tables
// its foreign keys reference. A migration that adds a tenant table without registering it fails here.
import { layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Schema } from "effect"
import { expect } from "vitest"
import { DeletedTenantTables, KeptTenantTables, TenantColumn } from "../../workflows/TenantTables.ts"
import { TestSqlLive } from "../fixtures/TestSql.ts"

// --- [SCHEMA]

const Columns = Schema.Array(Schema.Struct({ tableName: Schema.String, columnName: Schema.String }))
const References = Schema.Array(Schema.Struct({ child: Schema.String, parent: Schema.String }))

// --- [CONSTANTS]

const deleted = DeletedTenantTables.map(({ table }) => table as string)
const registered = [...deleted, ...Object.keys(KeptTenantTables)]

// --- [SUITE]

layer(TestSqlLive, { excludeTestServices: true })("tenant tables against the migrated schema", (it) => {
	it.effect("every table with a tenant column, or a column referencing apps, is registered (deleted or kept)", () =>
		Effect.gen(function* () {
			const sql = (yield* PgClient.PgClient).withoutTransforms()
			// Our base tables only: cluster_* belong to @effect/cluster (its journal is keyed by entity, not tenant),
			// and apps is the tenant itself.
			const scoped = yield* sql`
				SELECT DISTINCT scoped.table_name AS "tableName", scoped.column_name AS "columnName" FROM (
					SELECT c.table_name, c.column_name
					FROM information_schema.columns c
					JOIN information_schema.tables t USING (table_schema, table_name)
					WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'
						AND c.column_name IN (${TenantColumn}, 'tenant_id')
					UNION
					SELECT kcu.table_name, kcu.column_name
					FROM information_schema.table_constraints tc
					JOIN information_schema.key_column_usage kcu USING (constraint_schema, constraint_name)
					JOIN information_schema.constraint_column_usage ccu USING (constraint_schema, constraint_name)
					WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.constraint_schema = current_schema()
						AND ccu.table_name = 'apps'
				) scoped
				WHERE scoped.table_name NOT LIKE 'cluster\\_%' AND scoped.table_name <> 'apps'
				ORDER BY 1, 2`.pipe(Effect.flatMap(Schema.decodeUnknown(Columns)))
			// Sanity: the query sees the tables this file is about.
			expect(scoped.map(({ tableName }) => tableName)).toEqual(
				expect.arrayContaining(["jobs", "users", "sessions", "audit_logs"]),
			)
			const unregistered = scoped.filter(({ tableName }) => !registered.includes(tableName))
			expect(unregistered, "tenant tables missing from workflows/TenantTables.ts").toEqual([])
			// Every tenant table holds its tenant in the one column the deletion filters on.
			expect(scoped.filter(({ columnName }) => columnName !== TenantColumn)).toEqual([])
			// And the registry names no table that is gone, or that has no tenant column.
			expect([...new Set(scoped.map(({ tableName }) => tableName))].sort()).toEqual([...registered].sort())
		}),
	)

	it.effect("the deletion order puts each table before the tables its foreign keys reference", () =>
		Effect.gen(function* () {
			const sql = (yield* PgClient.PgClient).withoutTransforms()
			const references = yield* sql`
				SELECT DISTINCT tc.table_name AS "child", ccu.table_name AS "parent"
				FROM information_schema.table_constraints tc
				JOIN information_schema.constraint_column_usage ccu USING (constraint_schema, constraint_name)
				WHERE tc.constraint_type = 'FOREIGN KEY' AND tc.constraint_schema = current_schema()
					AND tc.table_name <> ccu.table_name`.pipe(Effect.flatMap(Schema.decodeUnknown(References)))
			const between = references.filter(
				({ child, parent }) => deleted.includes(child) && deleted.includes(parent),
			)
			expect(between).toEqual(expect.arrayContaining([{ child: "sessions", parent: "users" }]))
			expect(between.filter(({ child, parent }) => deleted.indexOf(child) > deleted.indexOf(parent))).toEqual([])
		}),
	)

	it.effect("each spared column exists in its table (the delete job's own rows stay)", () =>
		Effect.gen(function* () {
			const sql = (yield* PgClient.PgClient).withoutTransforms()
			const spared = DeletedTenantTables.flatMap(({ table, spare }) =>
				spare === null ? [] : [{ tableName: table as string, columnName: spare as string }],
			)
			const present = yield* sql`
				SELECT table_name AS "tableName", column_name AS "columnName" FROM information_schema.columns
				WHERE table_schema = current_schema() AND ${sql.or(
					spared.map(
						({ tableName, columnName }) => sql`(table_name = ${tableName} AND column_name = ${columnName})`,
					),
				)}
				ORDER BY 1`.pipe(Effect.flatMap(Schema.decodeUnknown(Columns)))
			expect(present).toEqual([...spared].sort((left, right) => left.tableName.localeCompare(right.tableName)))
		}),
	)
})
