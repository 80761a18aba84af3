// A job's lifecycle as a Machine: queued → running → succeeded | failed → dead_lettered, and cancelled from queued or
// running; a dead-lettered (or failed) job is requeued when its DLQ entry is retried. Every transition is written to
// `jobs` before the request is answered; an event not allowed from the current status fails with InvalidTransition.
import { Machine } from "@effect/experimental"
import { PgClient } from "@effect/sql-pg"
import { DateTime, Effect, Match, Option, Schema, Struct } from "effect"
import { RequestContext, RequestMeta } from "../../platform/RequestContext.ts"
import { orStorageUnavailable, StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { EventLog } from "../event/EventLog.ts"
import { InvalidTransition } from "../InvalidTransition.ts"
import { Lifecycle } from "../Lifecycle.ts"
import { AttemptLogLimit, Job, JobOwner, JobStatus } from "./JobModel.ts"
import { JobEvent, JobNotFound } from "./JobProtocol.ts"
import { JobRepo } from "./JobRepo.ts"
import { TenantId } from "../Tenancy.ts"

// --- [CONSTANTS]

type Status = typeof JobStatus.Type

const JobOperation = Schema.Literal("Started", "Attempted", "Succeeded", "Failed", "DeadLettered", "Requeued", "Cancel")

// Which statuses each event leaves from and where it leads. Job transitions are not audited: the workflow reports
// them, no person does.
const JobLifecycle = Lifecycle.table({
	subject: "job",
	states: JobStatus,
	operations: JobOperation,
	verb: (operation) => operation.toLowerCase(),
	rows: {
		Started: { from: ["queued", "running"], to: "running", audit: null },
		Attempted: { from: ["running"], to: "running", audit: null },
		Succeeded: { from: ["running"], to: "succeeded", audit: null },
		Failed: { from: ["queued", "running"], to: "failed", audit: null },
		DeadLettered: { from: ["failed"], to: "dead_lettered", audit: null },
		Requeued: { from: ["failed", "dead_lettered"], to: "queued", audit: null },
		Cancel: { from: ["queued", "running"], to: "cancelled", audit: null },
	},
})

const Terminal: ReadonlyArray<Status> = ["succeeded", "failed", "dead_lettered", "cancelled"]

// The transitions the tenant's event log records (`job.<status>`), besides `job.created`.
const Announced: ReadonlyArray<Status> = Terminal

// --- [SCHEMA]

const AbsentJob = Schema.TaggedStruct("Absent", {})
const PresentJob = Schema.TaggedStruct("Present", { job: Job })
const JobState = Schema.Union(AbsentJob, PresentJob)
type JobState = typeof JobState.Type

class CreateJob extends Schema.TaggedRequest<CreateJob>()("CreateJob", {
	failure: StorageUnavailable,
	success: Job,
	payload: {
		type: Schema.String,
		payload: Schema.Unknown,
		dedupeKey: Schema.NullOr(Schema.String),
		owner: JobOwner,
		ownerKeyId: Schema.NullOr(Schema.UUID),
		executionId: Schema.String,
		meta: RequestMeta,
	},
}) {}

class AdvanceJob extends Schema.TaggedRequest<AdvanceJob>()("AdvanceJob", {
	failure: Schema.Union(JobNotFound, InvalidTransition, StorageUnavailable),
	success: Job,
	payload: { event: Schema.Union(JobEvent, Schema.TaggedStruct("Cancel", {})), meta: RequestMeta },
}) {}

// --- [FUNCTIONS]

const requireJob = (state: JobState): Effect.Effect<Job, JobNotFound> =>
	Match.valueTags(state, {
		Absent: () => Effect.fail(new JobNotFound({ message: "job not found" })),
		Present: ({ job }) => Effect.succeed(job),
	})

// The row after `event`: status, attempts, last error, execution and finish time follow from the event.
const applyEvent = (job: Job, event: AdvanceJob["event"], status: Status, now: DateTime.Utc) => ({
	...job,
	status,
	attempts: Match.value(event).pipe(
		Match.tag("Attempted", ({ attempt }) => Math.max(job.attempts, attempt)),
		Match.tag("Requeued", () => 0),
		Match.orElse(() => job.attempts),
	),
	lastError: Match.value(event).pipe(
		Match.tag("Attempted", ({ error }) => error ?? job.lastError),
		Match.tag("Failed", ({ error }) => error),
		Match.tag("Requeued", "Succeeded", () => null),
		Match.orElse(() => job.lastError),
	),
	executionId: Match.value(event).pipe(
		Match.tag("Started", "Requeued", ({ executionId }) => executionId),
		Match.orElse(() => job.executionId),
	),
	finishedAt: Terminal.includes(status) ? (job.finishedAt ?? now) : null,
	result: Match.value(event).pipe(
		Match.tag("Succeeded", ({ result }) => result),
		Match.tag("Requeued", () => null),
		Match.orElse(() => job.result),
	),
	// One entry per run and attempt (a redelivered report replaces its entry), the newest AttemptLogLimit kept.
	attemptLog: Match.value(event).pipe(
		Match.tag("Attempted", ({ run, attempt, error, at }) =>
			[
				...job.attemptLog.filter((entry) => entry.run !== run || entry.attempt !== attempt),
				{ run, attempt, at: at ?? now, error },
			].slice(-AttemptLogLimit),
		),
		Match.orElse(() => job.attemptLog),
	),
})

// `job.<verb>` for `job`, in the transaction in scope: caused by the request in scope (the cancel, the workflow's
// report), correlated with the request that submitted the job.
const recordEvent = (job: Job, verb: string) =>
	EventLog.append({
		appId: job.appId,
		type: `job.${verb}`,
		subject: job.id,
		data: { type: job.type, status: job.status, attempts: job.attempts, lastError: job.lastError },
		origin: job.requestId,
	})

// --- [SERVICES]

const JobMachine = Lifecycle.machine<JobState, { readonly appId: TenantId; readonly jobId: string }>({
	name: "Job",
	initial: { _tag: "Absent" },
	key: (input) => `${input.appId}/${input.jobId}`,
})((input, empty) =>
	Effect.gen(function* () {
		const repo = yield* JobRepo
		const sql = yield* PgClient.PgClient
		const announce = (job: Job, verb: string, meta: RequestMeta) =>
			recordEvent(job, verb).pipe(
				Effect.provideService(PgClient.PgClient, sql),
				Effect.provideService(RequestContext, meta),
			)
		return empty.pipe(
			Machine.procedures.add<CreateJob>()("CreateJob", ({ request, state }) =>
				Schema.is(AbsentJob)(state)
					? repo
							.withTransaction(
								repo
									.insert(
										Job.insert.make({
											id: input.jobId as Job["id"],
											appId: input.appId,
											owner: request.owner,
											ownerKeyId: request.ownerKeyId,
											type: request.type,
											status: "queued",
											payload: request.payload,
											dedupeKey: request.dedupeKey,
											executionId: request.executionId,
											attempts: 0,
											requestId: request.meta.requestId,
											ipAddress: request.meta.ip,
											userAgent: request.meta.userAgent,
											lastError: null,
											finishedAt: null,
											result: null,
											attemptLog: [],
										}),
									)
									.pipe(
										Effect.tap(
											Option.match({
												onNone: () => Effect.void,
												onSome: (job) => announce(job, "created", request.meta),
											}),
										),
									),
							)
							.pipe(
								orStorageUnavailable,
								// A concurrent holder of the dedupe key won the insert: answer with that job.
								Effect.flatMap(
									Option.match({
										onSome: Effect.succeed,
										onNone: () =>
											Effect.flatMap(
												repo.findByDedupeKey(
													input.appId,
													request.owner,
													request.dedupeKey ?? "",
												),
												(existing) => Effect.orDie(existing),
											),
									}),
								),
								Effect.map((job) => [job, { _tag: "Present", job }] as const),
							)
					: // Submitting again (a redelivered message, a repeated dedupe key) answers with the job as it is.
						Effect.map(requireJob(state), (job) => [job, state] as const).pipe(Effect.orDie),
			),
			Machine.procedures.add<AdvanceJob>()("AdvanceJob", ({ request, state }) =>
				requireJob(state).pipe(
					Effect.flatMap((job) =>
						JobLifecycle.transition(job.status, request.event._tag).pipe(
							Effect.zip(DateTime.now),
							Effect.flatMap(([status, now]) =>
								repo
									.withTransaction(
										repo
											.update(
												Job.update.make(
													Struct.omit(
														applyEvent(job, request.event, status, now),
														"createdAt",
														"updatedAt",
													),
												),
											)
											.pipe(
												Effect.tap((updated) =>
													Effect.when(
														announce(updated, updated.status, request.meta),
														() =>
															updated.status !== job.status &&
															Announced.includes(updated.status),
													),
												),
											),
									)
									.pipe(orStorageUnavailable),
							),
						),
					),
					Effect.map((job) => [job, { _tag: "Present", job }] as const),
				),
			),
		)
	}),
)

// --- [EXPORT]

export { AdvanceJob, CreateJob, JobLifecycle, JobMachine, JobState, requireJob }
