// Handlers of the Job entity (one instance per `<tenantId>/<jobId>`, single-threaded) and of JobDirectory. Submit
// stores the queued job together with the id of the execution that will run it, and only then starts that workflow.
// Starting is idempotent (the workflow's key is `<jobId>/<run>`). If a runner dies between the two steps, the
// persisted Submit is delivered again and finishes the job's start, so no job stays queued without its execution.
import { Entity } from "@effect/cluster"
import { Effect, Layer, Schema } from "effect"
import { RequestContextHeaders } from "../../platform/RequestContext.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { executionFor, interruptFor } from "../../workflows/JobWorkflows.ts"
import { Lifecycle } from "../Lifecycle.ts"
import { AdvanceJob, CreateJob, JobMachine, type JobState, requireJob } from "./JobMachine.ts"
import type { Job } from "./JobModel.ts"
import { JobDirectory, JobEntity, JobNotFound } from "./JobProtocol.ts"
import { JobRepo } from "./JobRepo.ts"
import { TenantId } from "../Tenancy.ts"

// --- [SCHEMA]

const JobAddress = Schema.TemplateLiteralParser(TenantId, "/", Schema.UUID)

// --- [LAYERS]

const JobEntityLive = JobEntity.toLayer(
	Effect.gen(function* () {
		const [appId, , jobId] = yield* Lifecycle.address(JobAddress)
		const repo = yield* JobRepo
		const actor = yield* Lifecycle.bootOnce(
			JobMachine,
			{ appId, jobId },
			Lifecycle.stored(repo.find(appId, jobId), { _tag: "Absent" }, (job): JobState => ({
				_tag: "Present",
				job,
			})),
		)
		const send = actor.send
		return {
			Submit: (request) =>
				Effect.gen(function* () {
					const meta = RequestContextHeaders.fromHeaders(request.headers)
					const execution = yield* executionFor(
						{
							appId,
							id: jobId as Job["id"],
							type: request.payload.type,
							payload: request.payload.payload,
							requestId: meta.requestId,
							ipAddress: meta.ip,
							userAgent: meta.userAgent,
						},
						0,
					)
					const executionId = execution.executionId
					const job = yield* send(
						new CreateJob({
							type: request.payload.type,
							payload: request.payload.payload,
							dedupeKey: request.payload.dedupeKey,
							owner: request.payload.owner,
							ownerKeyId: request.payload.ownerKeyId,
							executionId,
							meta,
						}),
					)
					// Started only for the job this message created; a repeated dedupe key answers with the job as is.
					yield* job.status === "queued" && job.executionId === executionId && job.id === jobId
						? execution.start
						: Effect.void
					return job
				}).pipe(Telemetry.span("Job.Submit", { jobId })),
			Cancel: (request) =>
				send(
					new AdvanceJob({
						event: { _tag: "Cancel" },
						meta: RequestContextHeaders.fromHeaders(request.headers),
					}),
				).pipe(
					Effect.tap((job) =>
						job.executionId === null ? Effect.void : interruptFor(job.type, job.executionId),
					),
					Telemetry.span("Job.Cancel", { jobId }),
				),
			Retry: (request) =>
				Effect.gen(function* () {
					const current = yield* actor.get.pipe(Effect.flatMap(requireJob))
					const execution = yield* executionFor(current, request.payload.run)
					const job = yield* send(
						new AdvanceJob({
							event: { _tag: "Requeued", executionId: execution.executionId },
							meta: RequestContextHeaders.fromHeaders(request.headers),
						}),
					)
					yield* execution.start
					return job
				}).pipe(Telemetry.span("Job.Retry", { jobId, run: request.payload.run })),
			Record: (request) =>
				send(
					new AdvanceJob({
						event: request.payload.event,
						meta: RequestContextHeaders.fromHeaders(request.headers),
					}),
				).pipe(Telemetry.span("Job.Record", { jobId, event: request.payload.event._tag })),
			// Read from the table, the system of record: a job purged while this entity was alive is gone.
			Get: () =>
				repo.find(appId, jobId).pipe(
					Effect.flatMap((found) =>
						Effect.mapError(found, () => new JobNotFound({ message: "job not found" })),
					),
					Telemetry.span("Job.Get", { jobId }),
				),
		}
	}),
	{ maxIdleTime: "2 minutes" },
)

const JobDirectoryLive = JobDirectory.toLayer(
	Effect.gen(function* () {
		const repo = yield* JobRepo
		const address = yield* Entity.CurrentAddress
		const appId = yield* Schema.decodeUnknown(TenantId)(address.entityId).pipe(Effect.orDie)
		return {
			List: ({ payload }) =>
				repo
					.list({
						appId,
						owner: payload.owner,
						status: payload.status,
						type: payload.type,
						limit: payload.limit,
						cursor: payload.cursor,
					})
					.pipe(Telemetry.span("JobDirectory.List")),
		}
	}),
	{ concurrency: "unbounded", maxIdleTime: "1 minute" },
)

const JobEntitiesLive = Layer.mergeAll(JobEntityLive, JobDirectoryLive)

// --- [EXPORT]

export { JobEntitiesLive }
