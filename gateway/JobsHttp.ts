// Handlers of /v1/jobs. A submission is validated whole first: the kind, its payload schema, and the destination
// policy, which is checked before any connection is made. Only then is each job handed to its Job entity
// `<tenantId>/<jobId>`. A dedupe key gives a deterministic job id, so repeating it reaches the same entity and
// returns the existing job.
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Either, ParseResult, Schema, Struct } from "effect"
import { JobEntity, JobDirectory, JobNotFound, SubmitJob, type JobView } from "../entities/JobProtocol.ts"
import { CancelJob } from "../entities/JobProtocol.ts"
import { entityId } from "../entities/Tenancy.ts"
import { deterministicId } from "../platform/DeterministicId.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { Destination } from "../workflows/Destination.ts"
import { JobPayloads, SubmittableJobType } from "../workflows/JobKinds.ts"
import { Api } from "./Api.ts"
import { callEntity } from "./EntityCall.ts"
import { ValidationError } from "./HttpErrors.ts"
import { entityKey } from "./IdempotencyKey.ts"
import { type JobSubmission, UnknownJobType } from "./JobsApi.ts"
import { CurrentTenant } from "./TenantMiddleware.ts"

// --- [FUNCTIONS]

const publicJob = (job: JobView) => Struct.omit(job, "payload", "appId", "ipAddress", "userAgent")

const validate = (submission: typeof JobSubmission.Type, index: number | null, allowedHosts: ReadonlyArray<string>) =>
	Effect.gen(function* () {
		const at = (path: ReadonlyArray<PropertyKey>) => [...(index === null ? [] : [index]), ...path].map(String)
		const type = yield* Schema.decodeUnknown(SubmittableJobType)(submission.type).pipe(
			Effect.mapError(
				() =>
					new UnknownJobType({
						message: `unknown job type '${submission.type}'${index === null ? "" : ` at index ${index}`}`,
						type: submission.type,
						index,
					}),
			),
		)
		const payload = yield* Schema.decodeUnknown(JobPayloads[type])(submission.payload, { errors: "all" }).pipe(
			Effect.mapError((error) => {
				const issues = ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
					path: at(["payload", ...issue.path]),
					message: issue.message,
				}))
				return new ValidationError({
					message: `${issues[0]?.path.join(".") ?? "payload"}: ${issues[0]?.message ?? "invalid"}`,
					issues,
				})
			}),
		)
		yield* Destination.checkUrl(payload.url, allowedHosts)
		return { type, payload: Schema.encodeSync(JobPayloads[type])(payload), dedupeKey: submission.dedupeKey ?? null }
	})

// --- [LAYERS]

const JobsHttpLive = HttpApiBuilder.group(Api, "jobs", (handlers) =>
	Effect.gen(function* () {
		const jobs = yield* JobEntity.client
		const directory = yield* JobDirectory.client
		const allowedHosts = yield* Destination.config
		const jobOf = (tenantId: string, id: string) =>
			Schema.decodeUnknown(Schema.UUID)(id).pipe(
				Effect.mapError(() => new JobNotFound({ message: "job not found" })),
				Effect.map((jobId) => jobs(entityId(tenantId as never, jobId))),
			)
		return handlers
			.handle("submit", ({ payload }) =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					const many = Either.isRight(Either.liftPredicate(payload, Array.isArray, () => payload))
					const submissions: ReadonlyArray<typeof JobSubmission.Type> = Array.isArray(payload)
						? payload
						: [payload]
					const valid = yield* Effect.forEach(submissions, (submission, index) =>
						validate(submission, many ? index : null, allowedHosts),
					)
					const key = yield* entityKey
					const accepted = yield* Effect.forEach(
						valid,
						(job, index) =>
							callEntity(
								jobs(
									entityId(
										tenant.id,
										job.dedupeKey === null
											? // A repeated Idempotency-Key reaches the same jobs.
												deterministicId("job", tenant.id, "idempotency", key, String(index))
											: deterministicId("job", tenant.id, job.dedupeKey),
									),
								).Submit(
									new SubmitJob({ type: job.type, payload: job.payload, dedupeKey: job.dedupeKey }),
								),
							).pipe(
								// Submit is a persisted message that replays its first reply; a repeated dedupe key must
								// answer with the job as it is now.
								Effect.flatMap((submitted) =>
									job.dedupeKey === null
										? Effect.succeed(submitted)
										: callEntity(jobs(entityId(tenant.id, submitted.id)).Get()).pipe(
												Effect.catchTag("JobNotFound", Effect.die),
											),
								),
								Effect.map(publicJob),
							),
						{ concurrency: 16 },
					)
					return many ? accepted : accepted[0]!
				}).pipe(Telemetry.span("JobsHttp.submit")),
			)
			.handle("list", ({ urlParams }) =>
				Effect.flatMap(CurrentTenant, (tenant) =>
					callEntity(
						directory(tenant.id).List({
							status: urlParams.status ?? null,
							type: urlParams.type ?? null,
							limit: urlParams.limit,
							cursor: urlParams.cursor ?? null,
						}),
					),
				).pipe(
					Effect.map((page) => ({ items: page.items.map(publicJob), nextCursor: page.nextCursor })),
					Telemetry.span("JobsHttp.list"),
				),
			)
			.handle("get", ({ path }) =>
				Effect.flatMap(CurrentTenant, (tenant) => jobOf(tenant.id, path.id)).pipe(
					Effect.flatMap((job) => callEntity(job.Get())),
					Effect.map(publicJob),
					Telemetry.span("JobsHttp.get"),
				),
			)
			.handle("cancel", ({ path }) =>
				Effect.flatMap(CurrentTenant, (tenant) => jobOf(tenant.id, path.id)).pipe(
					Effect.flatMap((job) =>
						Effect.flatMap(entityKey, (requestKey) =>
							callEntity(job.Cancel(new CancelJob({ requestKey }))),
						),
					),
					Effect.map(publicJob),
					Telemetry.span("JobsHttp.cancel"),
				),
			)
	}),
)

// --- [EXPORT]

export { JobsHttpLive }
