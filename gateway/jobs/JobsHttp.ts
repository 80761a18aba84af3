// Handlers of /v1/jobs. A submission is validated whole first: the kind, its payload schema, and the destination
// policy, which is checked before any connection is made. Only then is each job handed to its Job entity
// `<tenantId>/<jobId>`. A dedupe key gives a deterministic job id, so repeating it reaches the same entity and
// returns the existing job. Jobs belong to their submitter (`service` or `user:<userId>`): a user's credential reads,
// lists and cancels only that user's jobs, the service principal all of the tenant's; dedupe keys are per owner.
// `http.call` needs an API key or the service principal, or the tenant setting `allowUserHttpCalls` for sessions.
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Either, ParseResult, Schema, Struct } from "effect"
import { JobEntity, JobDirectory, JobNotFound, SubmitJob, type JobView } from "../../entities/job/JobProtocol.ts"
import { CancelJob } from "../../entities/job/JobProtocol.ts"
import { entityId, Uuid } from "../../entities/Tenancy.ts"
import { deterministicId } from "../../platform/DeterministicId.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Destination } from "../../workflows/Destination.ts"
import { JobKinds, SubmittableJobType } from "../../workflows/JobKinds.ts"
import { Api } from "../Api.ts"
import { callEntity } from "../EntityCall.ts"
import { entityKey } from "../IdempotencyKey.ts"
import { Forbidden, type JobSubmission, UnknownJobType } from "./JobsApi.ts"
import { type CallerPrincipal, CurrentPrincipal } from "../identity/PrincipalMiddleware.ts"
import { CurrentTenant } from "../tenant/TenantMiddleware.ts"
import { validationError } from "../ValidationMessages.ts"

// --- [FUNCTIONS]

const publicJob = (job: JobView) => Struct.omit(job, "payload", "appId", "ipAddress", "userAgent")

const ownerOf = (caller: CallerPrincipal) =>
	caller.kind === "service"
		? { owner: "service", ownerKeyId: null }
		: {
				owner: `user:${caller.principal.userId}`,
				ownerKeyId: caller.principal.kind === "apiKey" ? caller.principal.credentialId : null,
			}

const isSubmittable = Schema.is(SubmittableJobType)

const notFound = () => new JobNotFound({ message: "job not found" })

// Another owner's job answers exactly like an unknown one.
const visibleTo = (caller: CallerPrincipal, job: JobView) =>
	caller.kind === "service" || job.owner === ownerOf(caller).owner

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
		const accepted = yield* JobKinds[type].accept(submission.payload).pipe(
			Effect.mapError((error) =>
				validationError(
					ParseResult.ArrayFormatter.formatErrorSync(error).map((issue) => ({
						path: at(["payload", ...issue.path]),
						message: issue.message,
					})),
					"payload: invalid",
				),
			),
		)
		yield* accepted.destination === null ? Effect.void : Destination.checkUrl(accepted.destination, allowedHosts)
		return { type, payload: accepted.stored, dedupeKey: submission.dedupeKey ?? null }
	})

// --- [LAYERS]

const JobsHttpLive = HttpApiBuilder.group(Api, "jobs", (handlers) =>
	Effect.gen(function* () {
		const jobs = yield* JobEntity.client
		const directory = yield* JobDirectory.client
		const allowedHosts = yield* Destination.config
		const jobOf = (tenantId: string, id: string) =>
			Schema.decodeUnknown(Uuid)(id).pipe(
				Effect.mapError(notFound),
				Effect.map((jobId) => jobs(entityId(tenantId as never, jobId))),
			)
		// The caller's job: read it, and answer JobNotFound unless the caller may see it.
		const ownJob = (id: string) =>
			Effect.gen(function* () {
				const [tenant, caller] = yield* Effect.all([CurrentTenant, CurrentPrincipal])
				const job = yield* jobOf(tenant.id, id)
				const view = yield* callEntity(job.Get()).pipe(
					Effect.filterOrFail((found) => visibleTo(caller, found), notFound),
				)
				return { job, view } as const
			})
		return handlers
			.handle("submit", ({ payload }) =>
				Effect.gen(function* () {
					const [tenant, caller] = yield* Effect.all([CurrentTenant, CurrentPrincipal])
					const owner = ownerOf(caller)
					const many = Either.isRight(Either.liftPredicate(payload, Array.isArray, () => payload))
					const submissions: ReadonlyArray<typeof JobSubmission.Type> = Array.isArray(payload)
						? payload
						: [payload]
					// A plain session may submit a kind with a `sessionSetting` only where the tenant turned that setting on.
					const sessionOnly = caller.kind === "user" && caller.principal.kind === "session"
					const refused = submissions
						.map((submission) => submission.type)
						.filter(isSubmittable)
						.flatMap((type) => {
							const setting = JobKinds[type].submittable.sessionSetting
							return sessionOnly && setting !== null && tenant.settings[setting] !== true
								? [{ type, setting }]
								: []
						})
					yield* refused[0] === undefined
						? Effect.void
						: Effect.fail(
								new Forbidden({
									message: `${refused[0].type} jobs need an API key (or the tenant setting ${refused[0].setting} for sessions)`,
								}),
							)
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
											: owner.owner === "service"
												? deterministicId("job", tenant.id, job.dedupeKey)
												: deterministicId("job", tenant.id, owner.owner, job.dedupeKey),
									),
								).Submit(
									new SubmitJob({
										type: job.type,
										payload: job.payload,
										dedupeKey: job.dedupeKey,
										owner: owner.owner,
										ownerKeyId: owner.ownerKeyId,
									}),
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
				Effect.flatMap(Effect.all([CurrentTenant, CurrentPrincipal]), ([tenant, caller]) =>
					callEntity(
						directory(tenant.id).List({
							owner: caller.kind === "service" ? null : ownerOf(caller).owner,
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
				ownJob(path.id).pipe(
					Effect.map(({ view }) => publicJob(view)),
					Telemetry.span("JobsHttp.get"),
				),
			)
			.handle("cancel", ({ path }) =>
				ownJob(path.id).pipe(
					Effect.flatMap(({ job }) =>
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
