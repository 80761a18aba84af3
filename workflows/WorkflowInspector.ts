// Handlers of the WorkflowInspector entity. Each execution is read from the library's journal. Its `run` message
// gives the payload and, through its reply, the outcome. Its `activity` messages, one per attempt, give each step with
// its error and timing; times come from the snowflake ids. The job and DLQ rows linked to the execution come from our
// own tables. Payload header values are redacted: engineers debug the flow, not the credentials in it. Only an
// execution that has not finished can be resumed or interrupted (ExecutionFinished otherwise).
import { Snowflake } from "@effect/cluster"
import type { Statement } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { DateTime, Effect, Match, Option, Predicate, Schema } from "effect"
import { toDlqEntryView } from "../entities/job/DlqProtocol.ts"
import { JobDlq } from "../entities/job/JobModel.ts"
import { orStorageUnavailable } from "../platform/StorageUnavailable.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { ControllableWorkflows } from "./JobWorkflows.ts"
import {
	type CausedStep,
	ExecutionFinished,
	ExecutionNotFound,
	ExecutionSummary,
	WorkflowInspector,
} from "./WorkflowInspectorProtocol.ts"

// --- [CONSTANTS]

// The workflow engine's durable clocks are messages of this entity, tagged `run` like executions, keyed by execution id.
const DurableClockEntity = "Workflow/-/DurableClock"

// The most rows of each kind a request's causal view reads.
const CausedLimit = 200

const statusSql = `CASE
	WHEN r.payload IS NULL THEN 'running'
	WHEN r.payload::jsonb #>> '{value,_tag}' = 'Suspended' THEN 'suspended'
	WHEN r.payload::jsonb #>> '{value,exit,_tag}' = 'Success' THEN 'succeeded'
	ELSE 'failed' END`

// --- [SCHEMA]

const RunRow = Schema.Struct({
	id: Schema.String,
	entityType: Schema.String,
	entityId: Schema.String,
	payload: Schema.String,
	reply: Schema.NullOr(Schema.String),
	replyId: Schema.NullOr(Schema.String),
	status: Schema.Literal("running", "suspended", "succeeded", "failed"),
})

const ActivityRow = Schema.Struct({
	id: Schema.String,
	tag: Schema.NullOr(Schema.String),
	payload: Schema.NullOr(Schema.String),
	reply: Schema.NullOr(Schema.String),
	replyId: Schema.NullOr(Schema.String),
})

const Json = Schema.parseJson(Schema.Unknown)

const RunPayload = Schema.parseJson(
	Schema.Struct({
		tenantId: Schema.optional(Schema.String),
		jobId: Schema.optional(Schema.String),
		meta: Schema.optional(Schema.Struct({ requestId: Schema.optional(Schema.String) })),
	}),
)

const ActivityPayload = Schema.parseJson(Schema.Struct({ name: Schema.String, attempt: Schema.Int }))

// A reply's exit: `{"_tag":"Success","value":{"_tag":"Complete","exit":{…}}}`.
const ReplyExit = Schema.parseJson(
	Schema.Struct({
		_tag: Schema.String,
		value: Schema.optional(
			Schema.Struct({
				_tag: Schema.String,
				exit: Schema.optional(
					Schema.Struct({
						_tag: Schema.Literal("Success", "Failure"),
						value: Schema.optional(Schema.Unknown),
						cause: Schema.optional(Schema.Unknown),
					}),
				),
			}),
		),
	}),
)

// --- [FUNCTIONS]

const timeOf = (id: string) => Snowflake.dateTime(Snowflake.Snowflake(id))

const snowflakeAt = (instant: DateTime.Utc) =>
	String((BigInt(DateTime.toEpochMillis(instant) - Snowflake.constEpochMillis) << 22n) | 0n)

const redactHeaders = (payload: unknown): unknown =>
	Schema.decodeUnknownOption(
		Schema.Struct({
			request: Schema.Struct({ headers: Schema.Record({ key: Schema.String, value: Schema.String }) }),
		}),
	)(payload).pipe(
		Option.match({
			onNone: () => payload,
			onSome: (withHeaders) => ({
				...(payload as object),
				request: {
					...(payload as { readonly request: object }).request,
					headers: Object.fromEntries(
						Object.keys(withHeaders.request.headers).map((name) => [name, "[redacted]"]),
					),
				},
			}),
		}),
	)

const summaryOf = (row: typeof RunRow.Type): typeof ExecutionSummary.Type => {
	const payload = Option.getOrElse(
		Schema.decodeUnknownOption(RunPayload)(row.payload),
		() => ({}) as typeof RunPayload.Type,
	)
	return {
		executionId: row.entityId,
		workflow: row.entityType.replace(/^Workflow\//, ""),
		status: row.status,
		tenantId: payload.tenantId ?? null,
		jobId: payload.jobId ?? null,
		requestId: payload.meta?.requestId ?? null,
		startedAt: timeOf(row.id),
		finishedAt: row.replyId === null || row.status === "suspended" ? null : timeOf(row.replyId),
	}
}

const property = (value: unknown, name: string): unknown =>
	Predicate.isObject(value) && name in value ? (value as Record<string, unknown>)[name] : undefined

const textOf = (value: unknown): string | null =>
	typeof value === "string"
		? value
		: typeof property(value, "message") === "string"
			? String(property(value, "message"))
			: value === undefined || value === null
				? null
				: String(value)

// The first failure or defect of an encoded Cause, in words (a DeliveryFailed's message, a defect's message).
const causeMessage = (cause: unknown): string | null =>
	Match.value(property(cause, "_tag")).pipe(
		Match.when("Fail", () => textOf(property(cause, "error") ?? property(cause, "failure"))),
		Match.when("Die", () => textOf(property(cause, "defect"))),
		Match.when("Interrupt", () => "interrupted"),
		Match.when(Match.is("Sequential", "Parallel"), () =>
			Option.getOrNull(
				Option.orElse(Option.fromNullable(causeMessage(property(cause, "left"))), () =>
					Option.fromNullable(causeMessage(property(cause, "right"))),
				),
			),
		),
		Match.orElse(() => null),
	)

const attemptOf = (row: typeof ActivityRow.Type) => {
	const exit = Option.flatMap(Option.fromNullable(row.reply), Schema.decodeUnknownOption(ReplyExit))
	const outcome = Option.flatMap(exit, (reply) => Option.fromNullable(reply.value?.exit))
	return {
		attempt: Option.match(
			Option.flatMap(Option.fromNullable(row.payload), Schema.decodeUnknownOption(ActivityPayload)),
			{
				onNone: () => 1,
				onSome: (payload) => payload.attempt,
			},
		),
		status: Option.match(outcome, {
			onNone: () => "running" as const,
			onSome: (result) =>
				Match.valueTags(result, { Success: () => "succeeded" as const, Failure: () => "failed" as const }),
		}),
		error: Option.match(outcome, {
			onNone: () => null,
			onSome: (result) => result.cause ?? null,
		}),
		message: Option.getOrNull(Option.flatMap(outcome, (result) => Option.fromNullable(causeMessage(result.cause)))),
		startedAt: timeOf(row.id),
		finishedAt: row.replyId === null ? null : timeOf(row.replyId),
	}
}

// --- [LAYERS]

const WorkflowInspectorLive = WorkflowInspector.toLayer(
	Effect.gen(function* () {
		const sql = (yield* PgClient.PgClient).withoutTransforms()
		const typed = yield* PgClient.PgClient
		const runs = (conditions: ReadonlyArray<Statement.Fragment>, limit: number) =>
			sql`SELECT m.id::text AS "id", m.entity_type AS "entityType", m.entity_id AS "entityId", m.payload AS "payload",
					r.payload AS "reply", r.id::text AS "replyId", ${sql.literal(statusSql)} AS "status"
				FROM cluster_messages m
				LEFT JOIN cluster_replies r ON r.request_id = m.id AND r.kind = 0
				WHERE ${sql.and([sql`m.entity_type LIKE 'Workflow/%'`, sql`m.entity_type <> ${DurableClockEntity}`, sql`m.tag = 'run'`, ...conditions])}
				ORDER BY m.id DESC LIMIT ${limit}`.pipe(Effect.flatMap(Schema.decodeUnknown(Schema.Array(RunRow))))
		const findRun = (executionId: string) =>
			runs([sql`m.entity_id = ${executionId}`], 1).pipe(
				Effect.flatMap((rows) =>
					Option.match(Option.fromNullable(rows[0]), {
						onNone: () =>
							Effect.fail(new ExecutionNotFound({ message: `no workflow execution ${executionId}` })),
						onSome: Effect.succeed,
					}),
				),
			)
		const control = (executionId: string, action: "resume" | "interrupt") =>
			Effect.gen(function* () {
				const run = yield* findRun(executionId).pipe(
					Effect.filterOrFail(
						(found) => found.status !== "succeeded" && found.status !== "failed",
						(found) =>
							new ExecutionFinished({
								message: `execution ${executionId} has already ${found.status}: there is nothing to ${action}`,
								executionId,
								status: found.status,
							}),
					),
				)
				// Every workflow the runner hosts is controllable (JobWorkflows.ts registers them).
				const workflow = ControllableWorkflows.get(run.entityType.replace(/^Workflow\//, ""))
				yield* Option.match(Option.fromNullable(workflow), {
					onNone: () =>
						Effect.fail(
							new ExecutionNotFound({ message: `workflow ${run.entityType} cannot be controlled here` }),
						),
					onSome: (known) => (action === "resume" ? known.resume(executionId) : known.interrupt(executionId)),
				})
				return summaryOf(yield* findRun(executionId))
			})
		// One execution in full: its payload, outcome, activities with their attempts, job and DLQ entry.
		const detailOf = (run: typeof RunRow.Type) =>
			Effect.gen(function* () {
				const summary = summaryOf(run)
				const exit = Option.flatMap(Option.fromNullable(run.reply), Schema.decodeUnknownOption(ReplyExit)).pipe(
					Option.flatMap((reply) => Option.fromNullable(reply.value?.exit)),
				)
				const activities = yield* sql`SELECT m.id::text AS "id", m.tag AS "tag", m.payload AS "payload",
					r.payload AS "reply", r.id::text AS "replyId"
				FROM cluster_messages m LEFT JOIN cluster_replies r ON r.request_id = m.id AND r.kind = 0
				WHERE m.entity_type = ${run.entityType} AND m.entity_id = ${run.entityId} AND m.tag = 'activity'
				ORDER BY m.id`.pipe(Effect.flatMap(Schema.decodeUnknown(Schema.Array(ActivityRow))))
				const byName = activities.reduce((groups, row) => {
					const name = Option.match(
						Option.flatMap(Option.fromNullable(row.payload), Schema.decodeUnknownOption(ActivityPayload)),
						{ onNone: () => row.tag ?? "activity", onSome: (activity) => activity.name },
					)
					return new Map(groups).set(name, [...(groups.get(name) ?? []), attemptOf(row)])
				}, new Map<string, ReadonlyArray<ReturnType<typeof attemptOf>>>())
				const job =
					summary.jobId === null || summary.tenantId === null
						? []
						: yield* typed`SELECT id, type, status, attempts, attempt_log, result, execution_id, last_error,
						request_id, created_at, finished_at
					FROM jobs WHERE id = ${summary.jobId} AND app_id = ${summary.tenantId}`
				// The job's one entry (it names the job's latest failed execution), else one naming this execution.
				const deadLetters = yield* typed`SELECT * FROM job_dlq WHERE ${
					summary.jobId === null || summary.tenantId === null
						? typed`execution_id = ${run.entityId}`
						: typed`(app_id = ${summary.tenantId} AND job_id = ${summary.jobId}) OR execution_id = ${run.entityId}`
				}`.pipe(Effect.flatMap(Schema.decodeUnknown(Schema.Array(JobDlq))))
				return {
					...summary,
					payload: redactHeaders(Option.getOrNull(Schema.decodeUnknownOption(Json)(run.payload))),
					result: Option.getOrNull(exit),
					failure: Option.getOrNull(
						// Only a failure carries a cause.
						Option.flatMap(exit, (outcome) => Option.fromNullable(causeMessage(outcome.cause))),
					),
					activities: [...byName].map(([name, attempts]) => ({
						name,
						compensation: name.startsWith("compensate"),
						attempts,
					})),
					job: job[0] ?? null,
					deadLetters: deadLetters.map(toDlqEntryView),
				}
			})
		return {
			List: ({ payload }) =>
				Effect.gen(function* () {
					const rows = yield* runs(
						[
							...(payload.workflow === null
								? []
								: [sql`m.entity_type = ${`Workflow/${payload.workflow}`}`]),
							...(payload.tenantId === null
								? []
								: [sql`m.payload::jsonb->>'tenantId' = ${payload.tenantId}`]),
							...(payload.status === null ? [] : [sql`${sql.literal(statusSql)} = ${payload.status}`]),
							...(payload.since === null ? [] : [sql`m.id >= ${snowflakeAt(payload.since)}::bigint`]),
							...(payload.until === null ? [] : [sql`m.id < ${snowflakeAt(payload.until)}::bigint`]),
							...(payload.cursor === null || !/^\d{1,20}$/.test(payload.cursor)
								? []
								: [sql`m.id < ${payload.cursor}::bigint`]),
						],
						payload.limit + 1,
					)
					const items = rows.slice(0, payload.limit)
					return {
						items: items.map(summaryOf),
						nextCursor: rows.length > payload.limit ? (items.at(-1)?.id ?? null) : null,
					}
				}).pipe(
					Effect.catchTag("ParseError", Effect.die),
					orStorageUnavailable,
					Telemetry.span("WorkflowInspector.List"),
				),
			Show: ({ payload }) =>
				findRun(payload.executionId).pipe(
					Effect.flatMap(detailOf),
					Effect.catchTag("ParseError", Effect.die),
					orStorageUnavailable,
					Telemetry.span("WorkflowInspector.Show"),
				),
			Caused: ({ payload }) =>
				Effect.gen(function* () {
					const requestId = payload.requestId
					const [audits, events, jobs, deadLetters, traces] = yield* Effect.all(
						[
							sql`SELECT id::text AS "id", operation, subject_type AS "subjectType", subject_id AS "subjectId",
									actor, app_id AS "tenantId", details, created_at AS "at"
								FROM audit_logs WHERE request_id = ${requestId} ORDER BY id LIMIT ${CausedLimit}`,
							sql`SELECT id::text AS "id", type, subject, seq::text AS "seq", app_id AS "tenantId",
									correlation_id AS "correlationId", created_at AS "at"
								FROM events WHERE request_id = ${requestId} OR correlation_id = ${requestId}
								ORDER BY id LIMIT ${CausedLimit}`,
							sql`SELECT id, app_id AS "tenantId", type, status, execution_id AS "executionId", attempts,
									last_error AS "lastError", created_at AS "at", finished_at AS "finishedAt"
								FROM jobs WHERE request_id = ${requestId} ORDER BY created_at LIMIT ${CausedLimit}`,
							typed`SELECT * FROM job_dlq WHERE request_id = ${requestId} LIMIT ${CausedLimit}`.pipe(
								Effect.flatMap(Schema.decodeUnknown(Schema.Array(JobDlq))),
							),
							sql`SELECT trace_id AS "traceId" FROM cluster_messages
								WHERE trace_id IS NOT NULL AND headers::jsonb ->> 'x-request-id' = ${requestId}
								ORDER BY id LIMIT 1`,
						],
						{ concurrency: "unbounded" },
					)
					const executionIds = jobs.flatMap((job) =>
						typeof job["executionId"] === "string" ? [job["executionId"]] : [],
					)
					const executions = yield* runs(
						[
							sql.or([
								sql`m.payload::jsonb #>> '{meta,requestId}' = ${requestId}`,
								...(executionIds.length === 0 ? [] : [sql`m.entity_id IN ${sql.in(executionIds)}`]),
							]),
						],
						CausedLimit,
					).pipe(Effect.flatMap(Effect.forEach(detailOf, { concurrency: 4 })))
					const at = (value: unknown) => DateTime.unsafeMake(value as Date)
					const steps: ReadonlyArray<typeof CausedStep.Type> = [
						...audits.map((row) => ({
							at: at(row["at"]),
							kind: "audit" as const,
							name: `${String(row["operation"])} ${String(row["subjectType"])}`,
							detail: row,
						})),
						...events.map((row) => ({
							at: at(row["at"]),
							kind: "event" as const,
							name: String(row["type"]),
							detail: row,
						})),
						...jobs.map((row) => ({
							at: at(row["at"]),
							kind: "job" as const,
							name: `${String(row["type"])} ${String(row["status"])}`,
							detail: row,
						})),
						...executions.flatMap((execution) => [
							{
								at: execution.startedAt,
								kind: "execution" as const,
								name: `${execution.workflow} ${execution.status}`,
								detail: { ...execution, activities: undefined },
							},
							...execution.activities.flatMap((activity) =>
								activity.attempts.map((attempt) => ({
									at: attempt.startedAt,
									kind: "activity" as const,
									name: `${activity.name} attempt ${attempt.attempt} ${attempt.status}`,
									detail: { executionId: execution.executionId, ...attempt },
								})),
							),
						]),
						...deadLetters.map((entry) => ({
							at: DateTime.unsafeMake(entry.failedAt),
							kind: "dead_letter" as const,
							name: `${entry.type} ${entry.errorReason}`,
							detail: toDlqEntryView(entry),
						})),
					]
					return {
						requestId,
						traceId: traces[0]?.["traceId"] === undefined ? null : String(traces[0]["traceId"]),
						steps: [...steps].sort((left, right) => DateTime.Order(left.at, right.at)),
					}
				}).pipe(
					Effect.catchTag("ParseError", Effect.die),
					orStorageUnavailable,
					Telemetry.span("WorkflowInspector.Caused"),
				),
			Resume: ({ payload }) =>
				control(payload.executionId, "resume").pipe(
					Effect.catchTag("ParseError", Effect.die),
					orStorageUnavailable,
					Telemetry.span("WorkflowInspector.Resume"),
				),
			Interrupt: ({ payload }) =>
				control(payload.executionId, "interrupt").pipe(
					Effect.catchTag("ParseError", Effect.die),
					orStorageUnavailable,
					Telemetry.span("WorkflowInspector.Interrupt"),
				),
		}
	}),
	{ concurrency: "unbounded", maxIdleTime: "1 minute" },
)

// --- [EXPORT]

export { WorkflowInspectorLive }
