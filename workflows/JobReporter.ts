// What every job workflow does around its own work: report each step to the job's entity (idempotent messages, one
// per step and run; a late report to a cancelled job is ignored); when it succeeds, record the result and resolve the
// job's DLQ entry if a retry brought it here; when it gives up, dead-letter the job: the job's one DLQ entry (created,
// or reopened with one more failure; the same execution reporting again adds nothing) between the Failed and
// DeadLettered reports.
import { Effect, Option, Schedule } from "effect"
import { type DlqReason, JobDlq, JobId } from "../entities/job/JobModel.ts"
import { CancelJob, JobEntity, type JobEvent, RecordJobEvent } from "../entities/job/JobProtocol.ts"
import { JobRepo } from "../entities/job/JobRepo.ts"
import { entityId, type TenantId } from "../entities/Tenancy.ts"
import { deterministicId } from "../platform/DeterministicId.ts"
import type { RequestMeta } from "../platform/RequestContext.ts"

// --- [FUNCTIONS]

const makeJobReporter = (execution: {
	readonly tenantId: TenantId
	readonly jobId: string
	readonly run: number
	readonly meta: RequestMeta
	readonly type: string
	readonly executionId: string
}) =>
	Effect.gen(function* () {
		const repo = yield* JobRepo
		const job = (yield* JobEntity.client)(entityId(execution.tenantId, execution.jobId))
		const report = (step: string, event: JobEvent) =>
			job.Record(new RecordJobEvent({ step: `${execution.run}:${step}`, event })).pipe(
				Effect.map(Option.some),
				Effect.catchTag("InvalidTransition", () => Effect.succeed(Option.none())),
				Effect.retry({ times: 10, schedule: Schedule.exponential("200 millis") }),
				Effect.orDie,
			)
		const deadLetter = (reason: typeof DlqReason.Type, message: string, details: Record<string, unknown>) =>
			Effect.gen(function* () {
				const failed = yield* report("fail", { _tag: "Failed", reason, error: message })
				yield* repo
					.recordDlq(
						JobDlq.insert.make({
							id: deterministicId("dlq", execution.executionId),
							appId: execution.tenantId,
							jobId: JobId.make(execution.jobId),
							type: execution.type,
							errorReason: reason,
							lastError: message,
							attempts: {
								count: Option.match(failed, { onNone: () => null, onSome: (row) => row.attempts }),
								lastError: message,
								...details,
							},
							executionId: execution.executionId,
							retries: 0,
							retriedAt: null,
							requestId: execution.meta.requestId,
							ipAddress: execution.meta.ip,
							userAgent: execution.meta.userAgent,
							status: "open",
							failures: 1,
							resolvedAt: null,
						}),
					)
					.pipe(Effect.orDie)
				yield* report("dead-letter", { _tag: "DeadLettered" })
			})
		// The entry is resolved only when the job did succeed (a report to a job cancelled meanwhile changes nothing).
		const succeed = (result: unknown) =>
			report("succeed", { _tag: "Succeeded", result }).pipe(
				Effect.flatMap((reported) =>
					Effect.when(
						repo
							.resolveDlq(execution.tenantId, execution.jobId)
							.pipe(
								Effect.retry({ times: 10, schedule: Schedule.exponential("200 millis") }),
								Effect.orDie,
							),
						() => Option.isSome(reported),
					),
				),
				Effect.asVoid,
			)
		// Checked before each attempt: a cancelled job stops at the next step instead of running on to the DLQ.
		// A job whose entity cannot be reached right now (its runner just died) counts as not cancelled: the check must
		// never turn an attempt into a defect.
		const cancelled = job.Get().pipe(
			Effect.map((current) => current.status === "cancelled"),
			Effect.timeout("5 seconds"),
			Effect.catchAllCause(() => Effect.succeed(false)),
		)
		// Cancels the job (an operator interrupted its execution); a job already final stays as it is.
		const cancel = job.Cancel(new CancelJob({ requestKey: `${execution.run}:interrupted` })).pipe(
			Effect.asVoid,
			Effect.catchTag("InvalidTransition", () => Effect.void),
			Effect.catchAllCause((cause) => Effect.logWarning("could not cancel an interrupted job", cause)),
		)
		return { report, succeed, deadLetter, cancelled, cancel } as const
	})

// --- [EXPORT]

export { makeJobReporter }
