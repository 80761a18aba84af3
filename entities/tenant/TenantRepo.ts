// SQL access to `apps`, used only by the Tenant and TenantDirectory handlers on runners. A row that does not decode
// is a defect; Postgres not answering is StorageUnavailable (503 at the edge); the slug's uniqueness is decided by the
// insert itself.
import { SqlSchema } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Option, Schema } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import { KeysetPage } from "../KeysetPage.ts"
import { TenantId } from "../Tenancy.ts"
import { TenantModel } from "./TenantModel.ts"

// --- [FUNCTIONS]

const classify = KeysetPage.settle

// --- [SERVICES]

class TenantRepo extends Effect.Service<TenantRepo>()("entities/TenantRepo", {
	effect: Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const findById = SqlSchema.findOne({
			Request: TenantId,
			Result: TenantModel,
			execute: (id) => sql`SELECT * FROM apps WHERE id = ${id}`,
		})
		const findBySlug = SqlSchema.findOne({
			Request: Schema.String,
			Result: TenantModel,
			execute: (slug) => sql`SELECT * FROM apps WHERE slug = ${slug}`,
		})
		const insertIfSlugFree = SqlSchema.findOne({
			Request: TenantModel.insert,
			Result: TenantModel,
			execute: (row) =>
				sql`INSERT INTO apps ${sql.insert({ ...row, settings: sql.json(row.settings) })}
					ON CONFLICT (slug) DO NOTHING RETURNING *`,
		})
		const update = SqlSchema.single({
			Request: TenantModel.update,
			Result: TenantModel,
			execute: (row) =>
				sql`UPDATE apps SET ${sql.update({ ...row, settings: sql.json(row.settings) }, ["id"])}
					WHERE id = ${row.id} RETURNING *`,
		})
		const page = SqlSchema.findAll({
			Request: Schema.Struct({
				limit: Schema.Number,
				after: Schema.NullOr(KeysetPage.CursorKey),
			}),
			Result: TenantModel,
			execute: ({ limit, after }) =>
				after === null
					? sql`SELECT * FROM apps ORDER BY created_at, id LIMIT ${limit}`
					: sql`SELECT * FROM apps WHERE (created_at, id) > (${after[0]}::timestamptz, ${after[1]})
						ORDER BY created_at, id LIMIT ${limit}`,
		})
		const list = (limit: number, cursor: string | null) =>
			Effect.flatMap(KeysetPage.after(cursor), (after) => page({ limit: limit + 1, after })).pipe(
				Effect.flatMap((rows) => KeysetPage.page(rows, limit)),
			)
		return {
			findById: (id: TenantId) => findById(id).pipe(classify, Telemetry.span("TenantRepo.findById")),
			findByKey: (key: string) =>
				Option.match(Schema.decodeUnknownOption(TenantId)(key), {
					onNone: () => findBySlug(key),
					onSome: findById,
				}).pipe(classify, Telemetry.span("TenantRepo.findByKey")),
			insertIfSlugFree: (row: typeof TenantModel.insert.Type) =>
				insertIfSlugFree(row).pipe(classify, Telemetry.span("TenantRepo.insertIfSlugFree")),
			update: (row: typeof TenantModel.update.Type) =>
				update(row).pipe(
					Effect.catchTag("NoSuchElementException", Effect.die),
					classify,
					Telemetry.span("TenantRepo.update"),
				),
			list: (limit: number, cursor: string | null) =>
				list(limit, cursor).pipe(classify, Telemetry.span("TenantRepo.list")),
			withTransaction: sql.withTransaction,
		} as const
	}),
}) {}

// --- [LAYERS]

const TenantRepoLive = TenantRepo.Default

// --- [EXPORT]

export { TenantRepo, TenantRepoLive }
