// The `http.call` job kind as a durable workflow: one execution per job run (idempotency key `<jobId>/<run>`), so a
// repeated submit never delivers twice and a DLQ retry is a new, linked execution. No handler code lives here.
import { Workflow } from "@effect/workflow"
import { Schema } from "effect"
import { DlqReason } from "../entities/job/JobModel.ts"
import { TenantId } from "../entities/Tenancy.ts"
import { RequestMeta } from "../platform/RequestContext.ts"
import { HttpCallPayload } from "./JobKinds.ts"

// --- [ERRORS]

// One attempt failed; `retryable` says whether another attempt may succeed, and `retryInMillis` how long the workflow
// waits before it (backoff with jitter plus Retry-After, decided in the attempt so that a replay waits the same).
class DeliveryFailed extends Schema.TaggedError<DeliveryFailed>()("DeliveryFailed", {
	reason: DlqReason,
	message: Schema.String,
	retryable: Schema.Boolean,
	status: Schema.NullOr(Schema.Int),
	retryInMillis: Schema.optionalWith(Schema.Int, { default: () => 0 }),
}) {}

// The job ended in the DLQ with this reason.
class JobFailed extends Schema.TaggedError<JobFailed>()("JobFailed", {
	reason: DlqReason,
	message: Schema.String,
}) {}

// --- [PROTOCOL]

const HttpCallWorkflow = Workflow.make({
	name: "HttpCall",
	payload: {
		tenantId: TenantId,
		jobId: Schema.UUID,
		run: Schema.Int,
		request: HttpCallPayload,
		meta: RequestMeta,
	},
	success: Schema.Struct({ status: Schema.Int }),
	error: JobFailed,
	idempotencyKey: ({ jobId, run }) => `${jobId}/${run}`,
})

// --- [EXPORT]

export { DeliveryFailed, HttpCallWorkflow, JobFailed }
