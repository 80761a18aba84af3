// A job's lifecycle as a Machine: queued → running → succeeded | failed → dead_lettered, and cancelled from queued or
// running; a dead-lettered (or failed) job is requeued when its DLQ entry is retried. Every transition is written to
// `jobs` before the request is answered; an event not allowed from the current status fails with InvalidTransition.
import { Machine } from "@effect/experimental"
import { DateTime, Effect, Match, Option, Schedule, Schema } from "effect"
import { RequestMeta } from "../../platform/RequestContext.ts"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { InvalidTransition } from "../InvalidTransition.ts"
import { AttemptLogLimit, Job, JobOwner, JobStatus } from "./JobModel.ts"
import { JobEvent, JobNotFound } from "./JobProtocol.ts"
import { JobRepo } from "./JobRepo.ts"
import { TenantId } from "../Tenancy.ts"

// --- [CONSTANTS]

type Status = typeof JobStatus.Type

// Which statuses each event leaves from and where it leads.
const Transitions: Record<JobEvent["_tag"] | "Cancel", { readonly from: ReadonlyArray<Status>; readonly to: Status }> =
	{
		Started: { from: ["queued", "running"], to: "running" },
		Attempted: { from: ["running"], to: "running" },
		Succeeded: { from: ["running"], to: "succeeded" },
		Failed: { from: ["queued", "running"], to: "failed" },
		DeadLettered: { from: ["failed"], to: "dead_lettered" },
		Requeued: { from: ["failed", "dead_lettered"], to: "queued" },
		Cancel: { from: ["queued", "running"], to: "cancelled" },
	}

const Terminal: ReadonlyArray<Status> = ["succeeded", "failed", "dead_lettered", "cancelled"]

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
	payload: { event: Schema.Union(JobEvent, Schema.TaggedStruct("Cancel", {})) },
}) {}

// --- [FUNCTIONS]

const requireJob = (state: JobState): Effect.Effect<Job, JobNotFound> =>
	Match.valueTags(state, {
		Absent: () => Effect.fail(new JobNotFound({ message: "job not found" })),
		Present: ({ job }) => Effect.succeed(job),
	})

const allowed = (job: Job, event: AdvanceJob["event"]): Effect.Effect<Status, InvalidTransition> =>
	Transitions[event._tag].from.includes(job.status)
		? Effect.succeed(Transitions[event._tag].to)
		: Effect.fail(
				new InvalidTransition({
					message: `cannot ${event._tag.toLowerCase()} a job that is ${job.status}`,
					from: job.status,
					operation: event._tag,
				}),
			)

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

// --- [SERVICES]

const JobMachine = Machine.makeWith<JobState, { readonly appId: TenantId; readonly jobId: string }>()(
	(input, previous) =>
		Effect.gen(function* () {
			const repo = yield* JobRepo
			return Machine.procedures
				.make<JobState>(previous ?? { _tag: "Absent" }, {
					identifier: `Job/${input.appId}/${input.jobId}`,
				})
				.pipe(
					Machine.procedures.add<CreateJob>()("CreateJob", ({ request, state }) =>
						Schema.is(AbsentJob)(state)
							? repo
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
								allowed(job, request.event).pipe(
									Effect.flatMap((status) =>
										Effect.flatMap(DateTime.now, (now) => {
											const next = applyEvent(job, request.event, status, now)
											return repo.update(
												Job.update.make({
													id: next.id,
													appId: next.appId,
													owner: next.owner,
													ownerKeyId: next.ownerKeyId,
													type: next.type,
													status: next.status,
													payload: next.payload,
													dedupeKey: next.dedupeKey,
													executionId: next.executionId,
													attempts: next.attempts,
													requestId: next.requestId,
													ipAddress: next.ipAddress,
													userAgent: next.userAgent,
													lastError: next.lastError,
													finishedAt: next.finishedAt,
													result: next.result,
													attemptLog: next.attemptLog,
												}),
											)
										}),
									),
								),
							),
							Effect.map((job) => [job, { _tag: "Present", job }] as const),
						),
					),
				)
		}).pipe(Telemetry.span("JobMachine.initialize")),
).pipe(Machine.retry(Schedule.spaced("200 millis")))

// --- [EXPORT]

export { AdvanceJob, CreateJob, JobMachine, JobState, requireJob, Transitions }
