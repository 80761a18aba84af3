// `events.append-vs-pg-insert`: events appended through real changes against raw Postgres inserts, in this process
// on a database of its own. A change is what an audited commit does: in one transaction, the state row updated
// (`apps.updated_at` of the tenant), its audit row and its event (`AuditLog.record` → `EventLog.append`: the tenant's
// next seq from `event_sequences`, the event row, `pg_notify`). The subject is 8 workers changing 8 tenants through
// the real code; the baseline 8 pg.Client connections inserting single rows (uuid, jsonb) into a scratch table. The
// bracket adds the same code on ONE tenant (its changes commit one at a time: the state row and the seq row stay
// locked until commit) and the very same statements sent by raw pg.Client connections, over 8 tenants and over one,
// which is what Postgres alone allows for such a transaction.
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, ManagedRuntime, Redacted, String as Str } from "effect"
import { randomUUID } from "node:crypto"
import pg from "pg"
import { AuditLog } from "../entities/AuditLog.ts"
import type { TenantId } from "../entities/Tenancy.ts"
import { migrate } from "../migrations/Migrator.ts"
import { RequestContext } from "../platform/RequestContext.ts"
import { BenchSettings, closedLoop, interleave, median, metric, ratioLine } from "./Harness.ts"
import { database } from "./Processes.ts"

// --- [CONSTANTS]

const Workers = 8
const Tenants = 8

// --- [FUNCTIONS]

const eventsBench = async () => {
	const created = await database("bench_ev")
	const runtime = ManagedRuntime.make(
		Layer.effectDiscard(migrate).pipe(
			Layer.provideMerge(
				PgClient.layer({
					url: Redacted.make(created.url),
					maxConnections: Workers + 2,
					transformQueryNames: Str.camelToSnake,
					transformResultNames: Str.snakeToCamel,
					transformJson: false,
				}),
			),
		),
	)
	const tenants = await runtime.runPromise(
		Effect.flatMap(PgClient.PgClient, (sql) =>
			Effect.forEach(
				Array.from({ length: Tenants }, () => randomUUID() as TenantId),
				(id) =>
					sql`INSERT INTO apps ${sql.insert({ id, slug: `ev-${id.slice(0, 8)}`, name: "bench", status: "active" })}`.pipe(
						Effect.as(id),
					),
			),
		),
	)
	const change = (appId: TenantId) =>
		runtime.runPromise(
			Effect.flatMap(PgClient.PgClient, (sql) =>
				sql.withTransaction(
					sql`UPDATE apps SET updated_at = now() WHERE id = ${appId}`.pipe(
						Effect.zipRight(
							AuditLog.record({
								appId,
								actor: "admin",
								operation: "update",
								subjectType: "tenant",
								subjectId: appId,
								details: { bench: true },
							}),
						),
					),
				),
			).pipe(
				Effect.provideService(RequestContext, { requestId: randomUUID(), ip: null, userAgent: null }),
				Effect.as(true),
			),
		)
	const clients = await Promise.all(
		Array.from({ length: Workers }, async () => {
			const client = new pg.Client({ connectionString: created.url })
			await client.connect()
			return client
		}),
	)
	await clients[0]?.query("CREATE TABLE bench_insert (id uuid primary key, payload jsonb)")
	const insert = (worker: number) =>
		clients[worker] === undefined
			? Promise.resolve(false)
			: clients[worker]
					.query("INSERT INTO bench_insert (id, payload) VALUES ($1, $2::jsonb)", [
						randomUUID(),
						'{"bench":true}',
					])
					.then(() => true)
	// The same transaction as `change`, statement for statement, from a raw pg.Client.
	const rawChange = (worker: number, appId: TenantId) =>
		clients[worker] === undefined
			? Promise.resolve(false)
			: (async (client: pg.Client) => {
					await client.query("BEGIN")
					await client.query("UPDATE apps SET updated_at = now() WHERE id = $1", [appId])
					await client.query(
						"INSERT INTO audit_logs (app_id, actor, operation, subject_type, subject_id, request_id, details) VALUES ($1, 'admin', 'update', 'tenant', $2, $3, '{}')",
						[appId, appId, randomUUID()],
					)
					await client.query(
						`WITH live AS (SELECT id FROM apps WHERE id = $1 AND status NOT IN ('deleting', 'deleted')),
						next AS (INSERT INTO event_sequences (app_id, last_seq) SELECT id, 1 FROM live
							ON CONFLICT (app_id) DO UPDATE SET last_seq = event_sequences.last_seq + 1 RETURNING last_seq),
						stored AS (INSERT INTO events (app_id, seq, type, subject, payload, correlation_id, request_id)
							SELECT $1, last_seq, 'tenant.updated', $2, '{}', $3, $3 FROM next RETURNING seq)
						SELECT pg_notify('events', $2 || ':' || seq::text) FROM stored`,
						[appId, appId, randomUUID()],
					)
					await client.query("COMMIT")
					return true
				})(clients[worker])
	const durationMs = BenchSettings.workflowPgMs
	const oneTenant = tenants[0] as TenantId
	const tenantOf = (worker: number) => tenants[worker % Tenants] as TenantId
	const [spread, single, rawSpread, rawSingle, inserts] = await interleave(BenchSettings.rounds, [
		{ name: "eight tenants", run: () => closedLoop((worker) => change(tenantOf(worker)), Workers, durationMs) },
		{ name: "one tenant", run: () => closedLoop(() => change(oneTenant), Workers, durationMs) },
		{
			name: "raw, eight tenants",
			run: () => closedLoop((worker) => rawChange(worker, tenantOf(worker)), Workers, durationMs),
		},
		{
			name: "raw, one tenant",
			run: () => closedLoop((worker) => rawChange(worker, oneTenant), Workers, durationMs),
		},
		{ name: "pg insert", run: () => closedLoop(insert, Workers, durationMs) },
	]).finally(() =>
		Promise.all(clients.map((client) => client.end().catch(() => undefined))).then(() => runtime.dispose()),
	)
	const rates = (results: ReadonlyArray<{ readonly rate: number }> | undefined) =>
		(results ?? []).map((result) => result.rate)
	const middle = (results: ReadonlyArray<{ readonly rate: number }> | undefined) => metric(median(rates(results)))
	return ratioLine({
		name: "events.append-vs-pg-insert",
		unit: "events/s",
		baselineUnit: "inserts/s",
		subject: rates(spread),
		baseline: rates(inserts),
		target: 0.3,
		extra:
			`[${Workers} workers; one tenant ${middle(single)} events/s; the same transaction from raw pg: ` +
			`${middle(rawSpread)}/s over ${Tenants} tenants, ${middle(rawSingle)}/s on one]`,
	})
}

// --- [EXPORT]

export { eventsBench }
