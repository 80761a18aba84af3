// SQL access to `webauthn_relying_parties` (one row per tenant) for the Tenant entity.
import { SqlSchema } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Schema } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import { KeysetPage } from "../KeysetPage.ts"
import { TenantId } from "../Tenancy.ts"
import { MfaPolicy, UserVerificationPolicy } from "./RelyingPartyModel.ts"

// --- [SCHEMA]

const RelyingPartyRow = Schema.Struct({
	appId: TenantId,
	rpId: Schema.String,
	rpName: Schema.String,
	origins: Schema.Array(Schema.String),
	mfa: MfaPolicy,
	userVerification: UserVerificationPolicy,
	updatedAt: Schema.DateTimeUtcFromDate,
})

// --- [SERVICES]

class RelyingPartyRepo extends Effect.Service<RelyingPartyRepo>()("entities/RelyingPartyRepo", {
	effect: Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const upsert = SqlSchema.single({
			Request: RelyingPartyRow.pipe(Schema.omit("updatedAt")),
			Result: RelyingPartyRow,
			execute: (row) => sql`
				INSERT INTO webauthn_relying_parties ${sql.insert({ ...row, origins: [...row.origins] })}
				ON CONFLICT (app_id) DO UPDATE SET rp_id = EXCLUDED.rp_id, rp_name = EXCLUDED.rp_name,
					origins = EXCLUDED.origins, mfa = EXCLUDED.mfa, user_verification = EXCLUDED.user_verification,
					updated_at = now()
				RETURNING app_id, rp_id, rp_name, origins, mfa, user_verification, updated_at`,
		})
		const find = SqlSchema.findOne({
			Request: TenantId,
			Result: RelyingPartyRow,
			execute: (appId) => sql`
				SELECT app_id, rp_id, rp_name, origins, mfa, user_verification, updated_at
				FROM webauthn_relying_parties WHERE app_id = ${appId}`,
		})
		return {
			upsert: (row: Omit<typeof RelyingPartyRow.Type, "updatedAt">) =>
				upsert(row).pipe(
					Effect.catchTag("NoSuchElementException", Effect.die),
					KeysetPage.settle,
					Telemetry.span("RelyingPartyRepo.upsert"),
				),
			find: (appId: TenantId) => find(appId).pipe(KeysetPage.settle, Telemetry.span("RelyingPartyRepo.find")),
		} as const
	}),
}) {}

// --- [EXPORT]

export { RelyingPartyRepo }
