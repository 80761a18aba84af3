// Applies `migrations/` forward-only. Runs from `npm run migrate` and at every runner start: an
// advisory lock serialises concurrent starts, so two runners booting together apply each migration once.
import { NodeContext } from "@effect/platform-node"
import { SqlClient } from "@effect/sql"
import { PgMigrator } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { Telemetry } from "../platform/Telemetry.ts"
import { initial } from "./0001_initial.ts"
import { jobs } from "./0002_jobs.ts"
import { oauthProviders } from "./0003_oauth_providers.ts"
import { identity } from "./0004_identity.ts"
import { jobOwner } from "./0005_job_owner.ts"
import { emailVerified } from "./0006_email_verified.ts"
import { dlqDefect } from "./0007_dlq_defect.ts"
import { dlqOnePerJob } from "./0008_dlq_one_per_job.ts"
import { eventLog } from "./0009_event_log.ts"
import { passkeys } from "./0010_passkeys.ts"
import { webhooks } from "./0011_webhooks.ts"

// --- [CONSTANTS]

const MigrationLockKey = 7_246_013_581

// Applied migrations are frozen (a test pins each file's hash): a change to the schema is a new entry here.
const Migrations = {
	"0001_initial": initial,
	"0002_jobs": jobs,
	"0003_oauth_providers": oauthProviders,
	"0004_identity": identity,
	"0005_job_owner": jobOwner,
	"0006_email_verified": emailVerified,
	"0007_dlq_defect": dlqDefect,
	"0008_dlq_one_per_job": dlqOnePerJob,
	"0009_event_log": eventLog,
	"0010_passkeys": passkeys,
	"0011_webhooks": webhooks,
} as const

// --- [FUNCTIONS]

// The lock is session-level on one reserved connection (the migrator itself probes tables in ways that would abort
// an enclosing transaction), released when the scope closes.
const migrate = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	const connection = yield* sql.reserve
	yield* connection.executeRaw(`SELECT pg_advisory_lock(${MigrationLockKey})`, [])
	yield* Effect.addFinalizer(() =>
		connection.executeRaw(`SELECT pg_advisory_unlock(${MigrationLockKey})`, []).pipe(Effect.ignore),
	)
	return yield* PgMigrator.run({ loader: PgMigrator.fromRecord(Migrations) })
}).pipe(
	Effect.scoped,
	Effect.tap((applied) =>
		Effect.logInfo(
			`migrations applied: ${applied.map(([id, name]) => `${id}_${name}`).join(", ") || "none (up to date)"}`,
		),
	),
	Effect.provide(NodeContext.layer),
	Telemetry.span("Migrator.migrate"),
)

// --- [LAYERS]

const MigratorLive = Layer.effectDiscard(migrate)

// --- [EXPORT]

export { migrate, Migrations, MigratorLive }
