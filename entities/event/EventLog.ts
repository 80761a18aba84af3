// The tenant event log (CONTRACT "Events"), read and written here only. `append` runs inside the caller's
// transaction: it draws the tenant's next `seq` from `event_sequences` (the row stays locked until that transaction
// ends, so seqs are handed out in commit order and a rolled-back change returns its number), stores the event with
// the request id of the RequestContext in scope, and queues `pg_notify('events', '<appId>:<seq>')`, which Postgres
// delivers only if the transaction commits. `list` and `after` read it back in `seq` order; consumers that follow
// the log (the realtime `events` channel, webhooks) keep their own last seq and call `after`.
import { SqlSchema } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { DateTime, Effect, Option, Schema } from "effect"
import { currentRequestMeta } from "../../platform/RequestContext.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import type { AuditOperation } from "../AuditLog.ts"
import { KeysetPage } from "../KeysetPage.ts"
import type { TenantId } from "../Tenancy.ts"
import { EventRow, NotificationChannel, Seq, type TenantEvent } from "./EventModel.ts"

// --- [CONSTANTS]

// The verb of an event recorded with an audit row of `operation` (`<subject>.<verb>`, e.g. `tenant.suspended`).
const Verbs: Record<AuditOperation, string> = {
	create: "created",
	update: "updated",
	delete: "deleted",
	sign: "signed",
	upload: "uploaded",
	enroll: "enrolled",
	disable: "disabled",
	suspend: "suspended",
	activate: "activated",
	login: "created",
	logout: "ended",
	revoke: "revoked",
	rotate: "rotated",
	evict: "evicted",
	link: "linked",
	unlink: "unlinked",
	deactivate: "deactivated",
	retry: "retried",
	drop: "dropped",
	cancel: "cancelled",
	reencrypt: "reencrypted",
	purge: "purged",
}

// --- [SCHEMA]

const Filter = Schema.Struct({
	appId: Schema.String,
	after: Schema.Int,
	since: Schema.NullOr(Schema.DateTimeUtcFromSelf),
	// An exact type, or a prefix ending in `.*`.
	type: Schema.NullOr(Schema.String),
	limit: Schema.Int,
})

// --- [FUNCTIONS]

// `api_key` + `rotate` → `apikey.rotated`.
const typeOfAudit = (subjectType: string, operation: AuditOperation) =>
	`${subjectType.replaceAll("_", "")}.${Verbs[operation]}`

const toEvent = (row: typeof EventRow.Type): TenantEvent => ({
	id: row.id,
	seq: row.seq,
	type: row.type,
	subject: row.subject,
	data: row.payload,
	correlationId: row.correlationId,
	requestId: row.requestId,
	occurredAt: row.createdAt,
})

// Appends one event of `appId` in the transaction in scope; answers its seq. `requestId` is the request in scope;
// `correlationId` too, unless the change continues a chain a stored record started (`origin`: a job's events carry
// the request that submitted the job, whichever request or workflow report moved it). A tenant being deleted (or
// deleted) records nothing more: its log is deleted with it, and nothing may number events for it again.
const append = (event: {
	readonly appId: TenantId
	readonly type: string
	readonly subject: string | null
	readonly data: Record<string, unknown>
	readonly origin?: string | null
}) =>
	Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const meta = yield* currentRequestMeta
		const rows = yield* sql<{ readonly seq: string }>`
			WITH live AS (
				SELECT id FROM apps WHERE id = ${event.appId} AND status NOT IN ('deleting', 'deleted')
			), next AS (
				INSERT INTO event_sequences (app_id, last_seq) SELECT id, 1 FROM live
				ON CONFLICT (app_id) DO UPDATE SET last_seq = event_sequences.last_seq + 1
				RETURNING last_seq
			), stored AS (
				INSERT INTO events (app_id, seq, type, subject, payload, correlation_id, request_id)
				SELECT ${event.appId}, last_seq, ${event.type}, ${event.subject}, ${sql.json(event.data)},
					${event.origin ?? meta.requestId}, ${meta.requestId}
				FROM next
				RETURNING seq
			)
			SELECT seq::text AS seq, pg_notify(${NotificationChannel}, ${event.appId}::text || ':' || seq::text)::text AS sent
			FROM stored`
		return yield* Effect.forEach(rows, (row) => Schema.decodeUnknown(Seq)(row.seq)).pipe(
			Effect.map((seqs) => Option.fromNullable(seqs[0])),
			Effect.orDie,
		)
	}).pipe(Telemetry.span("EventLog.append", { type: event.type }))

const select = Effect.map(PgClient.PgClient, (sql) =>
	SqlSchema.findAll({
		Request: Filter,
		Result: EventRow,
		execute: (filter) => sql`
			SELECT id::text AS id, seq::text AS seq, type, subject, payload, correlation_id, request_id, created_at
			FROM events
			WHERE ${sql.and([
				sql`app_id = ${filter.appId}`,
				sql`seq > ${filter.after}`,
				...(filter.since === null ? [] : [sql`created_at >= ${DateTime.toDateUtc(filter.since)}`]),
				...(filter.type === null
					? []
					: filter.type.endsWith(".*")
						? [sql`starts_with(type, ${filter.type.slice(0, -1)})`]
						: [sql`type = ${filter.type}`]),
			])}
			ORDER BY events.seq
			LIMIT ${filter.limit}`,
	}),
)

// One page of `appId`'s events in seq order; the cursor is the last seq of the page.
const list = (filter: typeof Filter.Type) =>
	Effect.flatMap(select, (query) => query({ ...filter, limit: filter.limit + 1 })).pipe(
		Effect.map((rows) => {
			const items = rows.slice(0, filter.limit).map(toEvent)
			const last = items.at(-1)
			return { items, nextCursor: rows.length > filter.limit && last !== undefined ? String(last.seq) : null }
		}),
		KeysetPage.settle,
		Telemetry.span("EventLog.list"),
	)

// Up to `limit` events of `appId` numbered after `seq`, in order.
const after = (appId: TenantId, seq: number, limit: number) =>
	Effect.flatMap(select, (query) => query({ appId, after: seq, since: null, type: null, limit })).pipe(
		Effect.map((rows) => rows.map(toEvent)),
		KeysetPage.settle,
	)

// The last seq handed out for `appId` (0 before its first event).
const lastSeq = (appId: TenantId) =>
	Effect.flatMap(
		PgClient.PgClient,
		(sql) =>
			sql<{
				readonly lastSeq: string
			}>`SELECT last_seq::text AS last_seq FROM event_sequences WHERE app_id = ${appId}`,
	).pipe(
		Effect.flatMap((rows) => Schema.decodeUnknown(Seq)(rows[0]?.lastSeq ?? "0")),
		KeysetPage.settle,
	)

// --- [EXPORT]

const EventLog = { append, after, lastSeq, list, typeOfAudit } as const

export { EventLog }
