// SQL access to `oauth_providers` for the Tenant entity and the key re-encryption workflow. Every query is scoped by
// `app_id`, except the re-encryption scan, which walks every tenant's rows in key order. Secrets stay sealed here:
// sealing and opening is the caller's, with Crypto.
import { SqlSchema } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Schema } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import { KeysetPage } from "../KeysetPage.ts"
import { ProviderName } from "./OAuthProviderModel.ts"
import { TenantId } from "../Tenancy.ts"

// --- [SCHEMA]

const OAuthProviderRow = Schema.Struct({
	appId: TenantId,
	provider: ProviderName,
	issuer: Schema.String,
	clientId: Schema.String,
	clientSecretEnc: Schema.String,
	scopes: Schema.Array(Schema.String),
	createdAt: Schema.DateTimeUtcFromDate,
	updatedAt: Schema.DateTimeUtcFromDate,
})
type OAuthProviderRow = typeof OAuthProviderRow.Type

// --- [FUNCTIONS]

// Where a provider's client secret is bound: a ciphertext sealed for one row does not open for another.
const secretBinding = (appId: string, provider: string) => `oauth_providers:${appId}:${provider}:client_secret`

// --- [SERVICES]

class OAuthProviderRepo extends Effect.Service<OAuthProviderRepo>()("entities/OAuthProviderRepo", {
	effect: Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const upsert = SqlSchema.single({
			Request: Schema.Struct({
				appId: TenantId,
				provider: ProviderName,
				issuer: Schema.String,
				clientId: Schema.String,
				clientSecretEnc: Schema.String,
				scopes: Schema.Array(Schema.String),
			}),
			Result: OAuthProviderRow,
			execute: (row) => sql`
				INSERT INTO oauth_providers ${sql.insert({ ...row, scopes: [...row.scopes] })}
				ON CONFLICT (app_id, provider) DO UPDATE SET issuer = EXCLUDED.issuer, client_id = EXCLUDED.client_id,
					client_secret_enc = EXCLUDED.client_secret_enc, scopes = EXCLUDED.scopes, updated_at = now()
				RETURNING *`,
		})
		const list = SqlSchema.findAll({
			Request: TenantId,
			Result: OAuthProviderRow,
			execute: (appId) => sql`SELECT * FROM oauth_providers WHERE app_id = ${appId} ORDER BY provider`,
		})
		const remove = SqlSchema.findOne({
			Request: Schema.Struct({ appId: TenantId, provider: Schema.String }),
			Result: OAuthProviderRow,
			execute: ({ appId, provider }) =>
				sql`DELETE FROM oauth_providers WHERE app_id = ${appId} AND provider = ${provider} RETURNING *`,
		})
		const scan = SqlSchema.findAll({
			Request: Schema.Struct({
				after: Schema.NullOr(Schema.Tuple(Schema.String, Schema.String)),
				limit: Schema.Int,
			}),
			Result: OAuthProviderRow,
			execute: ({ after, limit }) =>
				after === null
					? sql`SELECT * FROM oauth_providers ORDER BY app_id, provider LIMIT ${limit}`
					: sql`SELECT * FROM oauth_providers WHERE (app_id::text, provider) > (${after[0]}, ${after[1]})
						ORDER BY app_id, provider LIMIT ${limit}`,
		})
		const reseal = SqlSchema.void({
			Request: Schema.Struct({
				appId: TenantId,
				provider: Schema.String,
				from: Schema.String,
				to: Schema.String,
			}),
			execute: ({ appId, provider, from, to }) =>
				sql`UPDATE oauth_providers SET client_secret_enc = ${to}
					WHERE app_id = ${appId} AND provider = ${provider} AND client_secret_enc = ${from}`,
		})
		return {
			upsert: (row: Parameters<typeof upsert>[0]) =>
				KeysetPage.settle(upsert(row).pipe(Effect.catchTag("NoSuchElementException", Effect.die))).pipe(
					Telemetry.span("OAuthProviderRepo.upsert"),
				),
			list: (appId: TenantId) => KeysetPage.settle(list(appId)).pipe(Telemetry.span("OAuthProviderRepo.list")),
			remove: (appId: TenantId, provider: string) =>
				KeysetPage.settle(remove({ appId, provider })).pipe(Telemetry.span("OAuthProviderRepo.remove")),
			scan: (after: readonly [string, string] | null, limit: number) =>
				KeysetPage.settle(scan({ after, limit })).pipe(Telemetry.span("OAuthProviderRepo.scan")),
			// Compare-and-set: a row changed since it was read is left for the next run.
			reseal: (row: { appId: TenantId; provider: string; from: string; to: string }) =>
				KeysetPage.settle(reseal(row)).pipe(Telemetry.span("OAuthProviderRepo.reseal")),
		} as const
	}),
}) {}

// --- [EXPORT]

export { OAuthProviderRepo, OAuthProviderRow, secretBinding }
