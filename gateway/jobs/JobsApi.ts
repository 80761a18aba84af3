// A tenant's jobs under /v1/jobs: submit one or many (all accepted or all rejected), read, list, cancel. A job belongs
// to the principal that submitted it: a user (by session or API key) sees and cancels only their own (another's is
// 404 like an unknown one); the service principal (ADMIN_TOKEN) sees all of the tenant's.
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { JSONSchema, Schema } from "effect"
import { KeysetPage } from "../../entities/KeysetPage.ts"
import { InvalidTransition } from "../../entities/InvalidTransition.ts"
import { JobStatus } from "../../entities/job/JobModel.ts"
import { JobNotFound, JobView } from "../../entities/job/JobProtocol.ts"
import { DestinationNotAllowed } from "../../workflows/Destination.ts"
import { JobKinds, SubmittableJobType } from "../../workflows/JobKinds.ts"
import { signedInRoutes } from "../RouteGroups.ts"

// --- [SCHEMA]

// The payload's schema is the kind's (decoded by the handler, so an unknown type is UnknownJobType, not a 400 of the
// union); the document shows each submittable kind's.
const PayloadDocumentation = SubmittableJobType.literals.map((kind) => {
	const { $schema: _dialect, ...schema } = JSONSchema.make(Schema.encodedBoundSchema(JobKinds[kind].payload))
	return { title: `${kind} payload`, ...schema }
})

const JobSubmission = Schema.Struct({
	type: Schema.String.annotations({
		description: `The job kind: ${SubmittableJobType.literals.join(", ")}`,
		examples: [...SubmittableJobType.literals],
	}),
	payload: Schema.Unknown.annotations({
		description: [
			"The kind's input.",
			...SubmittableJobType.literals.map((kind) => `\`${kind}\`: ${JobKinds[kind].submittable.describe}`),
		].join(" "),
		jsonSchema: { anyOf: PayloadDocumentation },
	}),
	dedupeKey: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(200))),
})

// What a tenant sees of a job: its payload (which may carry credentials in headers) is not echoed back.
const PublicJob = JobView.pipe(Schema.omit("payload", "appId", "ipAddress", "userAgent"))
type PublicJob = typeof PublicJob.Type

// Its own schema instance: HttpApi caches a status per union member, and 202 must not leak onto GET's PublicJob.
// Each member carries the 202 too: the document lists a union's members under their own status.
const SubmittedJob = PublicJob.annotations({
	identifier: "SubmittedJob",
	...HttpApiSchema.annotations({ status: 202 }),
})
const SubmittedJobs = Schema.Array(SubmittedJob).annotations(HttpApiSchema.annotations({ status: 202 }))

const JobPath = Schema.Struct({ id: Schema.String })

const JobListParams = Schema.Struct({
	status: Schema.optional(JobStatus),
	type: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
	limit: Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)), {
		default: () => 20,
	}),
	cursor: Schema.optional(KeysetPage.CursorParam),
})

// --- [ERRORS]

class UnknownJobType extends Schema.TaggedError<UnknownJobType>()(
	"UnknownJobType",
	{ message: Schema.String, type: Schema.String, index: Schema.NullOr(Schema.Int) },
	HttpApiSchema.annotations({ status: 400 }),
) {}

// Not in CONTRACT's list of tags: a credential that may not do this (an `http.call` submitted with a plain user
// session, unless the tenant's `allowUserHttpCalls` setting is on).
class Forbidden extends Schema.TaggedError<Forbidden>()(
	"Forbidden",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 403 }),
) {}

// --- [PROTOCOL]

const JobsApi = signedInRoutes(
	HttpApiGroup.make("jobs")
		.add(
			HttpApiEndpoint.post("submit", "/jobs")
				.annotate(OpenApi.Summary, "Submit one job or a batch")
				.annotate(
					OpenApi.Description,
					"A single submission answers one job, an array answers an array (all accepted or all rejected). A repeated `dedupeKey` returns the existing job.",
				)
				.setPayload(
					Schema.Union(
						JobSubmission,
						Schema.Array(JobSubmission).pipe(Schema.minItems(1), Schema.maxItems(1000)),
					),
				)
				.addSuccess(Schema.Union(SubmittedJob, SubmittedJobs), { status: 202 })
				.addError(UnknownJobType)
				.addError(Forbidden)
				.addError(DestinationNotAllowed, { status: 400 }),
		)
		.add(
			HttpApiEndpoint.get("list", "/jobs")
				.annotate(OpenApi.Summary, "List the caller's jobs")
				.annotate(
					OpenApi.Description,
					"Paginated; filter by `status` and `type`. The service principal sees all of the tenant's jobs.",
				)
				.setUrlParams(JobListParams)
				.addSuccess(
					Schema.Struct({ items: Schema.Array(PublicJob), nextCursor: Schema.NullOr(Schema.String) }),
				),
		)
		.add(
			HttpApiEndpoint.get("get", "/jobs/:id")
				.annotate(OpenApi.Summary, "Get a job")
				.setPath(JobPath)
				.addSuccess(PublicJob)
				.addError(JobNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.post("cancel", "/jobs/:id/cancel")
				.annotate(OpenApi.Summary, "Cancel a job")
				.setPath(JobPath)
				.addSuccess(PublicJob)
				.addError(JobNotFound, { status: 404 })
				.addError(InvalidTransition, { status: 409 }),
		),
)

// --- [EXPORT]

export { Forbidden, JobsApi, JobSubmission, PublicJob, UnknownJobType }
