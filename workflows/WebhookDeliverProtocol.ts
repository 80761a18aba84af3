// The `webhook.deliver` job kind as a durable workflow: one execution per job run (idempotency key `<jobId>/<run>`).
// A job is one event (`eventSeq` of the tenant's log) to one endpoint; the dispatcher submits it with a deterministic
// job id, so an event is never delivered twice to one endpoint. No handler code lives here.
import { Workflow } from "@effect/workflow"
import { Schema } from "effect"
import { TenantId } from "../entities/Tenancy.ts"
import { RequestMeta } from "../platform/RequestContext.ts"
import { JobFailed } from "./HttpCallProtocol.ts"
import { WebhookDeliverPayload } from "./JobKinds.ts"

// --- [PROTOCOL]

const WebhookDeliverWorkflow = Workflow.make({
	name: "WebhookDeliver",
	payload: {
		tenantId: TenantId,
		jobId: Schema.UUID,
		run: Schema.Int,
		delivery: WebhookDeliverPayload,
		meta: RequestMeta,
	},
	success: Schema.Struct({ status: Schema.Int }),
	error: JobFailed,
	idempotencyKey: ({ jobId, run }) => `${jobId}/${run}`,
})

// --- [EXPORT]

export { WebhookDeliverWorkflow }
