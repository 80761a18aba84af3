// SQL access to `webhook_endpoints`, `webhook_attempts` and `webhook_cursors`, used by the WebhookEndpoint entity and
// the listing on runners. A row that does not decode is a defect; Postgres not answering is StorageUnavailable.
import { SqlSchema } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Schema } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import { KeysetPage } from "../KeysetPage.ts"
import { AttemptRow, WebhookRow, WebhookStatus } from "./WebhookModel.ts"

// --- [SCHEMA]

const EndpointKey = Schema.Struct({ appId: Schema.String, id: Schema.String })

const NewEndpoint = Schema.Struct({
	appId: Schema.String,
	id: Schema.String,
	url: Schema.String,
	eventTypes: Schema.Array(Schema.String),
	description: Schema.NullOr(Schema.String),
	secretEnc: Schema.String,
})

const NewAttempt = Schema.Struct({
	appId: Schema.String,
	endpointId: Schema.String,
	webhookId: Schema.String,
	eventType: Schema.String,
	eventSeq: Schema.NullOr(Schema.Number),
	attempt: Schema.Int,
	statusCode: Schema.NullOr(Schema.Int),
	durationMs: Schema.Int,
	error: Schema.NullOr(Schema.String),
})

// --- [SERVICES]

class WebhookRepo extends Effect.Service<WebhookRepo>()("entities/WebhookRepo", {
	effect: Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const find = SqlSchema.findOne({
			Request: EndpointKey,
			Result: WebhookRow,
			execute: ({ appId, id }) => sql`SELECT * FROM webhook_endpoints WHERE app_id = ${appId} AND id = ${id}`,
		})
		const insert = SqlSchema.single({
			Request: NewEndpoint,
			Result: WebhookRow,
			execute: (row) =>
				sql`WITH endpoint AS (INSERT INTO webhook_endpoints (app_id, id, url, event_types, description, status, secret_enc)
					VALUES (${row.appId}, ${row.id}, ${row.url}, string_to_array(${row.eventTypes.join(",")}, ','), ${row.description},
						'pending_verification', ${row.secretEnc})
					RETURNING *),
				cursor AS (INSERT INTO webhook_cursors (app_id, endpoint_id, last_seq)
					SELECT endpoint.app_id, endpoint.id,
						COALESCE((SELECT last_seq FROM event_sequences WHERE app_id = endpoint.app_id), 0) FROM endpoint)
				SELECT * FROM endpoint`,
		})
		const setStatus = SqlSchema.single({
			Request: Schema.Struct({ ...EndpointKey.fields, status: WebhookStatus }),
			Result: WebhookRow,
			execute: ({ appId, id, status }) =>
				sql`UPDATE webhook_endpoints SET status = ${status}, updated_at = now(),
						consecutive_failures = CASE WHEN ${status} = 'active' THEN 0 ELSE consecutive_failures END,
						failing_since = CASE WHEN ${status} = 'active' THEN NULL ELSE failing_since END
					WHERE app_id = ${appId} AND id = ${id} RETURNING *`,
		})
		const edit = SqlSchema.single({
			Request: Schema.Struct({
				...EndpointKey.fields,
				url: Schema.String,
				eventTypes: Schema.Array(Schema.String),
				description: Schema.NullOr(Schema.String),
			}),
			Result: WebhookRow,
			execute: (row) =>
				sql`UPDATE webhook_endpoints SET url = ${row.url}, event_types = string_to_array(${row.eventTypes.join(",")}, ','),
						description = ${row.description}, updated_at = now()
					WHERE app_id = ${row.appId} AND id = ${row.id} RETURNING *`,
		})
		// The new secret signs from now on; the previous one also signs until `graceSeconds` from now.
		const rotate = SqlSchema.single({
			Request: Schema.Struct({ ...EndpointKey.fields, secretEnc: Schema.String, graceSeconds: Schema.Int }),
			Result: WebhookRow,
			execute: ({ appId, id, secretEnc, graceSeconds }) =>
				sql`UPDATE webhook_endpoints SET previous_secret_enc = secret_enc,
						previous_secret_until = now() + make_interval(secs => ${graceSeconds}),
						secret_enc = ${secretEnc}, updated_at = now()
					WHERE app_id = ${appId} AND id = ${id} RETURNING *`,
		})
		// One more failure: the endpoint is failing since the first of a run of failures.
		const failed = SqlSchema.single({
			Request: EndpointKey,
			Result: WebhookRow,
			execute: ({ appId, id }) =>
				sql`UPDATE webhook_endpoints SET consecutive_failures = consecutive_failures + 1,
						failing_since = COALESCE(failing_since, now()), last_failure_at = now(), updated_at = now()
					WHERE app_id = ${appId} AND id = ${id} RETURNING *`,
		})
		const event = SqlSchema.findOne({
			Request: Schema.Struct({ appId: Schema.String, seq: Schema.Number }),
			Result: Schema.Struct({ type: Schema.String, payload: Schema.Unknown }),
			execute: ({ appId, seq }) => sql`SELECT type, payload FROM events WHERE app_id = ${appId} AND seq = ${seq}`,
		})
		// Moves the cursor back to `after` (or to the last event before `since`) in a new generation, so the dispatcher
		// submits those events again as new jobs.
		const replay = (appId: string, id: string, from: { readonly after: number } | { readonly since: Date }) =>
			"after" in from
				? sql`UPDATE webhook_cursors SET last_seq = ${from.after}, generation = generation + 1
					WHERE app_id = ${appId} AND endpoint_id = ${id}`
				: sql`UPDATE webhook_cursors SET generation = generation + 1, last_seq = COALESCE(
						(SELECT max(seq) FROM events WHERE app_id = ${appId} AND seq IS NOT NULL AND created_at < ${from.since}), 0)
					WHERE app_id = ${appId} AND endpoint_id = ${id}`
		const remove = (appId: string, id: string) =>
			sql.withTransaction(
				Effect.all([
					sql`DELETE FROM webhook_attempts WHERE app_id = ${appId} AND endpoint_id = ${id}`,
					sql`DELETE FROM webhook_cursors WHERE app_id = ${appId} AND endpoint_id = ${id}`,
					sql`DELETE FROM webhook_endpoints WHERE app_id = ${appId} AND id = ${id}`,
				]),
			)
		const list = SqlSchema.findAll({
			Request: Schema.Struct({
				appId: Schema.String,
				limit: Schema.Number,
				after: Schema.NullOr(KeysetPage.CursorKey),
			}),
			Result: WebhookRow,
			execute: ({ appId, limit, after }) =>
				after === null
					? sql`SELECT * FROM webhook_endpoints WHERE app_id = ${appId} ORDER BY created_at, id LIMIT ${limit}`
					: sql`SELECT * FROM webhook_endpoints WHERE app_id = ${appId}
						AND (created_at, id) > (${after[0]}::timestamptz, ${after[1]}::uuid)
						ORDER BY created_at, id LIMIT ${limit}`,
		})
		const recordAttempt = SqlSchema.void({
			Request: NewAttempt,
			execute: (row) => sql`INSERT INTO webhook_attempts ${sql.insert(row)}`,
		})
		const attempts = SqlSchema.findAll({
			Request: Schema.Struct({
				...EndpointKey.fields,
				limit: Schema.Number,
				before: Schema.NullOr(Schema.String),
			}),
			Result: AttemptRow,
			execute: ({ appId, id, limit, before }) =>
				before === null
					? sql`SELECT * FROM webhook_attempts WHERE app_id = ${appId} AND endpoint_id = ${id}
						ORDER BY id DESC LIMIT ${limit}`
					: sql`SELECT * FROM webhook_attempts WHERE app_id = ${appId} AND endpoint_id = ${id}
						AND id < ${before}::bigint ORDER BY id DESC LIMIT ${limit}`,
		})
		const settle = KeysetPage.settle
		return {
			find: (appId: string, id: string) => find({ appId, id }).pipe(settle, Telemetry.span("WebhookRepo.find")),
			insert: (row: typeof NewEndpoint.Type) =>
				insert(row).pipe(
					Effect.catchTag("NoSuchElementException", Effect.die),
					settle,
					Telemetry.span("WebhookRepo.insert"),
				),
			setStatus: (appId: string, id: string, status: WebhookStatus) =>
				setStatus({ appId, id, status }).pipe(
					Effect.catchTag("NoSuchElementException", Effect.die),
					settle,
					Telemetry.span("WebhookRepo.setStatus"),
				),
			edit: (row: Parameters<typeof edit>[0]) =>
				edit(row).pipe(
					Effect.catchTag("NoSuchElementException", Effect.die),
					settle,
					Telemetry.span("WebhookRepo.edit"),
				),
			rotate: (appId: string, id: string, secretEnc: string, graceSeconds: number) =>
				rotate({ appId, id, secretEnc, graceSeconds }).pipe(
					Effect.catchTag("NoSuchElementException", Effect.die),
					settle,
					Telemetry.span("WebhookRepo.rotate"),
				),
			failed: (appId: string, id: string) =>
				failed({ appId, id }).pipe(
					Effect.catchTag("NoSuchElementException", Effect.die),
					settle,
					Telemetry.span("WebhookRepo.failed"),
				),
			event: (appId: string, seq: number) =>
				event({ appId, seq }).pipe(settle, Telemetry.span("WebhookRepo.event")),
			replay: (appId: string, id: string, from: { readonly after: number } | { readonly since: Date }) =>
				replay(appId, id, from).pipe(Effect.asVoid, settle, Telemetry.span("WebhookRepo.replay")),
			remove: (appId: string, id: string) =>
				remove(appId, id).pipe(Effect.asVoid, settle, Telemetry.span("WebhookRepo.remove")),
			list: (appId: string, limit: number, cursor: string | null) =>
				Effect.flatMap(KeysetPage.after(cursor), (after) => list({ appId, limit: limit + 1, after })).pipe(
					Effect.flatMap((rows) => KeysetPage.page(rows, limit)),
					settle,
					Telemetry.span("WebhookRepo.list"),
				),
			recordAttempt: (row: typeof NewAttempt.Type) =>
				recordAttempt(row).pipe(settle, Telemetry.span("WebhookRepo.recordAttempt")),
			attempts: (appId: string, id: string, limit: number, before: string | null) =>
				attempts({ appId, id, limit, before }).pipe(settle, Telemetry.span("WebhookRepo.attempts")),
		} as const
	}),
}) {}

// --- [EXPORT]

export { WebhookRepo }
