// The `audit_logs` table and the one function that writes it. The operation list is closed: its Schema literal and
// the SQL CHECK come from `AuditOperations` (seed C3). Correlation fields come from the RequestContext in scope.
import { Model, SqlClient } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Option, Schema } from "effect"
import { TenantId } from "./Tenancy.ts"
import { EventLog } from "./event/EventLog.ts"
import { currentRequestMeta, RequestContext, type RequestMeta } from "../platform/RequestContext.ts"
import { orStorageUnavailable } from "../platform/StorageUnavailable.ts"
import { Telemetry } from "../platform/Telemetry.ts"

// --- [CONSTANTS]

const AuditOperations = [
	"create",
	"update",
	"delete",
	"sign",
	"upload",
	"enroll",
	"disable",
	"suspend",
	"activate",
	"login",
	"logout",
	"revoke",
	"rotate",
	"evict",
	"link",
	"unlink",
	"deactivate",
	"retry",
	"drop",
	"cancel",
	"reencrypt",
	"purge",
] as const

// --- [SCHEMA]

const AuditOperation = Schema.Literal(...AuditOperations)
type AuditOperation = typeof AuditOperation.Type

class AuditLogRow extends Model.Class<AuditLogRow>("AuditLogRow")({
	id: Model.Generated(Schema.String),
	appId: Schema.NullOr(TenantId),
	actor: Schema.String,
	operation: AuditOperation,
	subjectType: Schema.String,
	subjectId: Schema.String,
	requestId: Schema.NullOr(Schema.String),
	ipAddress: Schema.NullOr(Schema.String),
	userAgent: Schema.NullOr(Schema.String),
	details: Schema.Unknown,
	createdAt: Model.DateTimeInsertFromDate,
}) {}

// --- [FUNCTIONS]

// The audit row and, for a tenant's change, its event (`<subjectType>.<verb>`, CONTRACT "Events") in one transaction
// (the caller's when there is one), so the log holds exactly the audited changes that committed.
const record = (entry: {
	readonly appId: TenantId | null
	readonly actor: string
	readonly operation: AuditOperation
	readonly subjectType: string
	readonly subjectId: string
	readonly details?: Record<string, unknown>
}) =>
	Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const meta = yield* currentRequestMeta
		const audit = sql`INSERT INTO audit_logs ${sql.insert({
			appId: entry.appId,
			actor: entry.actor,
			operation: entry.operation,
			subjectType: entry.subjectType,
			subjectId: entry.subjectId,
			requestId: meta.requestId,
			ipAddress: meta.ip,
			userAgent: meta.userAgent,
			details: sql.json(entry.details ?? {}),
		})}`
		const write =
			entry.appId === null
				? Effect.asVoid(audit)
				: audit.pipe(
						Effect.zipRight(
							EventLog.append({
								appId: entry.appId,
								type: EventLog.typeOfAudit(entry.subjectType, entry.operation),
								subject: entry.subjectId,
								data: entry.details ?? {},
							}),
						),
						Effect.asVoid,
					)
		// Inside the caller's transaction as it is; on its own, in a transaction of its own.
		const inTransaction = yield* Effect.serviceOption(SqlClient.TransactionConnection)
		yield* Option.isSome(inTransaction) || entry.appId === null ? write : sql.withTransaction(write)
	}).pipe(Telemetry.span("AuditLog.record", { operation: entry.operation }))

// An audit row written on its own (a lifecycle's rows go with their state change, `Lifecycle.committer`): for the
// request `meta` describes, storage failures as StorageUnavailable.
const recordFor = (meta: RequestMeta, entry: Parameters<typeof record>[0]) =>
	record(entry).pipe(orStorageUnavailable, Effect.provideService(RequestContext, meta))

// --- [EXPORT]

const AuditLog = { record, recordFor } as const

export { AuditLog, AuditLogRow, AuditOperation, AuditOperations }
