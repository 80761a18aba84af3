// Handler of the `tenant.delete` workflow. "begin" moves the tenant to deleting; its compensation moves it back to
// suspended if the workflow fails later. "remove-rows" deletes the tenant's rows in batches, table by table as
// TenantTables.ts lists them; audit rows and this job's own row and DLQ entry are kept. "complete" moves the tenant
// to deleted. On failure the job is dead-lettered. Every transition carries a request key derived from the job run,
// so a step that runs again is applied once.
import { PgClient } from "@effect/sql-pg"
import { Activity } from "@effect/workflow"
import { Effect, Match, Schema } from "effect"
import { Tenant, TransitionTenant, type TenantOperation } from "../entities/tenant/TenantProtocol.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { JobFailed } from "./HttpCallProtocol.ts"
import { makeJobReporter } from "./JobReporter.ts"
import { JobsConfig } from "./JobsConfig.ts"
import { drain } from "./Maintenance.ts"
import { TenantDeleteWorkflow } from "./TenantDeleteProtocol.ts"
import { DeletedTenantTables, TenantColumn } from "./TenantTables.ts"

// --- [CONSTANTS]

const Batch = 1000

// --- [SCHEMA]

const Deleted = Schema.Array(Schema.Struct({ id: Schema.Unknown }))

// --- [LAYERS]

const TenantDeleteWorkflowLive = TenantDeleteWorkflow.toLayer((payload, executionId) =>
	Effect.gen(function* () {
		const config = yield* Effect.orDie(JobsConfig)
		const sql = (yield* PgClient.PgClient).withoutTransforms()
		const tenant = (yield* Tenant.client)(payload.tenantId)
		const { report, succeed, deadLetter } = yield* makeJobReporter({
			...payload,
			type: "tenant.delete",
			executionId,
		})
		const fail = (message: string) => new JobFailed({ reason: "NonRetryable", message })
		const transition = (operation: TenantOperation) =>
			tenant
				.Transition(
					new TransitionTenant({ requestKey: `${payload.jobId}:${payload.run}:${operation}`, operation }),
				)
				.pipe(
					Effect.asVoid,
					Effect.catchTags({
						TenantNotFound: (error) => Effect.fail(fail(error.message)),
						// The gateway moved the tenant to deleting before submitting this job: that is where "begin" leads.
						InvalidTransition: (error) =>
							operation === "delete" && error.from === "deleting"
								? Effect.void
								: Effect.fail(fail(error.message)),
						StorageUnavailable: Effect.die,
						MailboxFull: Effect.die,
						AlreadyProcessingMessage: Effect.die,
						PersistenceError: Effect.die,
					}),
				)
		// `tenant.delete:<step>` fails the step; `tenant.delete:<step>:defect` makes it die (a defect, no DLQ entry).
		const injected = (step: string) =>
			Match.value(config.faultInjection).pipe(
				Match.when(`tenant.delete:${step}`, () =>
					Effect.fail(fail(`fault injected at ${step} (JOBS_FAULT_INJECTION)`)),
				),
				Match.when(`tenant.delete:${step}:defect`, () =>
					Effect.dieMessage(`defect injected at ${step} (JOBS_FAULT_INJECTION)`),
				),
				Match.orElse(() => Effect.void),
			)
		const removeRows = Effect.forEach(DeletedTenantTables, ({ table, spare }) =>
			drain(
				Batch,
				sql`DELETE FROM ${sql(table)} WHERE ctid IN (
						SELECT ctid FROM ${sql(table)}
						WHERE ${sql(TenantColumn)} = ${payload.tenantId}
							AND ${spare === null ? sql`true` : sql`${sql(spare)} <> ${payload.jobId}`}
						LIMIT ${Batch}
					) RETURNING 1 AS id`.pipe(
					Effect.flatMap(Schema.decodeUnknown(Deleted)),
					Effect.map((rows) => rows.length),
					Effect.orDie,
				),
			),
		).pipe(Effect.map((counts) => counts.reduce((sum, count) => sum + count, 0)))
		yield* Activity.make({
			name: "start",
			execute: Effect.asVoid(report("start", { _tag: "Started", executionId })),
		})
		return yield* Effect.gen(function* () {
			yield* Activity.make({
				name: "begin",
				error: JobFailed,
				execute: Effect.zipRight(injected("begin"), transition("delete")),
			}).pipe(
				TenantDeleteWorkflow.withCompensation(() =>
					Activity.make({
						name: "compensate:restore",
						execute: transition("restore").pipe(Effect.orDie),
					}).pipe(Effect.orDie),
				),
			)
			const removedRows = yield* Activity.make({
				name: "remove-rows",
				success: Schema.Int,
				error: JobFailed,
				execute: Effect.zipRight(injected("remove-rows"), removeRows),
			})
			yield* Activity.make({
				name: "complete",
				error: JobFailed,
				execute: Effect.zipRight(injected("complete"), transition("complete-delete")),
			})
			yield* Activity.make({ name: "succeed", execute: succeed({ removedRows }) })
			return { removedRows }
		}).pipe(
			Effect.catchTag("JobFailed", (error) =>
				Activity.make({ name: "dead-letter", execute: deadLetter(error.reason, error.message, {}) }).pipe(
					Effect.zipRight(Effect.fail(error)),
				),
			),
		)
	}).pipe(Telemetry.span("TenantDeleteWorkflow.run", { tenantId: payload.tenantId })),
)

// --- [EXPORT]

export { TenantDeleteWorkflowLive }
