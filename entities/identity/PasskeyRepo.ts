// SQL access to `passkeys` and `recovery_codes` for the UserSessions entity (the single writer of a user's identity
// data). Every statement is scoped by `app_id` and the user.
import { SqlSchema } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Schema } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import { KeysetPage } from "../KeysetPage.ts"
import { TenantId } from "../Tenancy.ts"
import { PasskeyId, PasskeyRow } from "./PasskeyModel.ts"
import { UserId } from "./UserModel.ts"

// --- [SCHEMA]

const Scoped = Schema.Struct({ appId: TenantId, userId: UserId })
const OnePasskey = Schema.Struct({ appId: TenantId, userId: UserId, id: PasskeyId })
const NewPasskey = Schema.Struct({
	id: PasskeyId,
	appId: TenantId,
	userId: UserId,
	credentialId: Schema.String,
	publicKey: Schema.Uint8ArrayFromSelf,
	counter: Schema.Number,
	transports: Schema.Array(Schema.String),
	backedUp: Schema.Boolean,
	aaguid: Schema.String,
	name: Schema.String,
})

// --- [SERVICES]

class PasskeyRepo extends Effect.Service<PasskeyRepo>()("entities/PasskeyRepo", {
	effect: Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		// A credential id is unique per tenant: registering one that is there already (this user's or another's)
		// inserts nothing.
		const insert = SqlSchema.findOne({
			Request: NewPasskey,
			Result: PasskeyRow,
			execute: (row) =>
				sql`INSERT INTO passkeys ${sql.insert({ ...row, transports: [...row.transports] })}
					ON CONFLICT (app_id, credential_id) DO NOTHING RETURNING *`,
		})
		const list = SqlSchema.findAll({
			Request: Scoped,
			Result: PasskeyRow,
			execute: ({ appId, userId }) =>
				sql`SELECT * FROM passkeys WHERE app_id = ${appId} AND user_id = ${userId} ORDER BY created_at, id`,
		})
		const rename = SqlSchema.findOne({
			Request: Schema.Struct({ ...OnePasskey.fields, name: Schema.String }),
			Result: PasskeyRow,
			execute: ({ appId, userId, id, name }) =>
				sql`UPDATE passkeys SET name = ${name}
					WHERE app_id = ${appId} AND user_id = ${userId} AND id = ${id} RETURNING *`,
		})
		const remove = SqlSchema.findOne({
			Request: OnePasskey,
			Result: PasskeyRow,
			execute: ({ appId, userId, id }) =>
				sql`DELETE FROM passkeys WHERE app_id = ${appId} AND user_id = ${userId} AND id = ${id} RETURNING *`,
		})
		// Compare-and-set on the counter the verification started from: of two racing uses, one moves it.
		const used = SqlSchema.findOne({
			Request: Schema.Struct({
				...OnePasskey.fields,
				from: Schema.Number,
				counter: Schema.Number,
				backedUp: Schema.Boolean,
			}),
			Result: PasskeyRow,
			execute: ({ appId, userId, id, from, counter, backedUp }) =>
				sql`UPDATE passkeys SET counter = ${counter}, backed_up = ${backedUp}, last_used_at = now()
					WHERE app_id = ${appId} AND user_id = ${userId} AND id = ${id} AND counter = ${from} AND NOT cloned
					RETURNING *`,
		})
		const markCloned = SqlSchema.void({
			Request: OnePasskey,
			execute: ({ appId, userId, id }) =>
				sql`UPDATE passkeys SET cloned = true WHERE app_id = ${appId} AND user_id = ${userId} AND id = ${id}`,
		})
		const dropRecoveryCodes = SqlSchema.void({
			Request: Scoped,
			execute: ({ appId, userId }) =>
				sql`DELETE FROM recovery_codes WHERE app_id = ${appId} AND user_id = ${userId}`,
		})
		const addRecoveryCodes = SqlSchema.void({
			Request: Schema.Struct({ ...Scoped.fields, hashes: Schema.Array(Schema.String) }),
			execute: ({ appId, userId, hashes }) =>
				sql`INSERT INTO recovery_codes ${sql.insert(hashes.map((codeHash) => ({ appId, userId, codeHash })))}`,
		})
		// Single use: of two racing uses of one code, one finds it unused.
		const useRecoveryCode = SqlSchema.findOne({
			Request: Schema.Struct({ ...Scoped.fields, codeHash: Schema.String }),
			Result: Schema.Struct({ codeHash: Schema.String }),
			execute: ({ appId, userId, codeHash }) =>
				sql`UPDATE recovery_codes SET used_at = now()
					WHERE app_id = ${appId} AND user_id = ${userId} AND code_hash = ${codeHash} AND used_at IS NULL
					RETURNING code_hash`,
		})
		return {
			// The new codes replace every earlier one, in one transaction.
			replaceRecoveryCodes: (appId: TenantId, userId: UserId, hashes: ReadonlyArray<string>) =>
				sql
					.withTransaction(
						dropRecoveryCodes({ appId, userId }).pipe(
							Effect.zipRight(addRecoveryCodes({ appId, userId, hashes })),
						),
					)
					.pipe(KeysetPage.settle, Telemetry.span("PasskeyRepo.replaceRecoveryCodes")),
			useRecoveryCode: (appId: TenantId, userId: UserId, codeHash: string) =>
				useRecoveryCode({ appId, userId, codeHash }).pipe(
					KeysetPage.settle,
					Telemetry.span("PasskeyRepo.useRecoveryCode"),
				),
			insert: (row: typeof NewPasskey.Type) =>
				insert(row).pipe(KeysetPage.settle, Telemetry.span("PasskeyRepo.insert")),
			list: (appId: TenantId, userId: UserId) =>
				list({ appId, userId }).pipe(KeysetPage.settle, Telemetry.span("PasskeyRepo.list")),
			rename: (appId: TenantId, userId: UserId, id: PasskeyId, name: string) =>
				rename({ appId, userId, id, name }).pipe(KeysetPage.settle, Telemetry.span("PasskeyRepo.rename")),
			remove: (appId: TenantId, userId: UserId, id: PasskeyId) =>
				remove({ appId, userId, id }).pipe(KeysetPage.settle, Telemetry.span("PasskeyRepo.remove")),
			used: (row: PasskeyRow, counter: number, backedUp: boolean) =>
				used({
					appId: row.appId,
					userId: row.userId,
					id: row.id,
					from: row.counter,
					counter,
					backedUp,
				}).pipe(KeysetPage.settle, Telemetry.span("PasskeyRepo.used")),
			markCloned: (row: PasskeyRow) =>
				markCloned({ appId: row.appId, userId: row.userId, id: row.id }).pipe(
					KeysetPage.settle,
					Telemetry.span("PasskeyRepo.markCloned"),
				),
		} as const
	}),
}) {}

// --- [EXPORT]

export { PasskeyRepo }
