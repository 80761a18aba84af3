// The `tenant.delete` job kind as a durable workflow behind `DELETE /admin/v1/tenants/{id}`: the tenant goes to
// deleting, its rows are removed in batches, then it is deleted. If that fails, compensation returns it to suspended
// and the job goes to the DLQ. One execution per job run (idempotency key `<jobId>/<run>`).
import { Workflow } from "@effect/workflow"
import { Schema } from "effect"
import { TenantId } from "../entities/Tenancy.ts"
import { RequestMeta } from "../platform/RequestContext.ts"
import { JobFailed } from "./HttpCallProtocol.ts"

// --- [PROTOCOL]

const TenantDeleteWorkflow = Workflow.make({
	name: "TenantDelete",
	payload: { tenantId: TenantId, jobId: Schema.UUID, run: Schema.Int, meta: RequestMeta },
	success: Schema.Struct({ removedRows: Schema.Int }),
	error: JobFailed,
	idempotencyKey: ({ jobId, run }) => `${jobId}/${run}`,
})

// --- [EXPORT]

export { TenantDeleteWorkflow }
