// Operator endpoints for the DLQ and for inspecting durable workflow executions (bearer ADMIN_TOKEN).
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { DlqEntryNotFound, DlqEntryView, DlqPage } from "../../entities/job/DlqProtocol.ts"
import { KeysetPage } from "../../entities/KeysetPage.ts"
import { InvalidTransition } from "../../entities/InvalidTransition.ts"
import { DlqReason, DlqStatus } from "../../entities/job/JobModel.ts"
import { JobNotFound, JobView } from "../../entities/job/JobProtocol.ts"
import {
	ExecutionDetail,
	ExecutionFinished,
	ExecutionNotFound,
	ExecutionPage,
	ExecutionStatus,
	ExecutionSummary,
} from "../../workflows/WorkflowInspectorProtocol.ts"
import { TenantNotFound } from "../../entities/tenant/TenantProtocol.ts"
import { TenantRefParam } from "../tenant/TenantRef.ts"
import { adminRoutes } from "../RouteGroups.ts"

// --- [SCHEMA]

const Limit = Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)), {
	default: () => 20,
})
const KeysetCursor = Schema.optional(KeysetPage.CursorParam)
// Workflow executions page by message id, newest first.
const ExecutionCursor = Schema.optional(
	Schema.String.pipe(Schema.pattern(/^\d{1,20}$/, { message: () => "cursor is not one this list issued" })),
)

const DlqParams = Schema.Struct({
	reason: Schema.optional(DlqReason),
	status: Schema.optional(DlqStatus),
	type: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
	tenant: Schema.optional(TenantRefParam),
	limit: Limit,
	cursor: KeysetCursor,
})

const WorkflowParams = Schema.Struct({
	name: Schema.optional(Schema.String.pipe(Schema.maxLength(100))),
	status: Schema.optional(ExecutionStatus),
	tenant: Schema.optional(TenantRefParam),
	since: Schema.optional(Schema.DateTimeUtc),
	until: Schema.optional(Schema.DateTimeUtc),
	limit: Limit,
	cursor: ExecutionCursor,
})

const IdPath = Schema.Struct({ id: Schema.String })
const ExecutionPath = Schema.Struct({ executionId: Schema.String.pipe(Schema.maxLength(128)) })

// --- [PROTOCOL]

const AdminJobsApi = adminRoutes(
	HttpApiGroup.make("adminJobs")
		.add(
			HttpApiEndpoint.get("listDlq", "/dlq")
				.annotate(OpenApi.Summary, "List dead-lettered jobs")
				.annotate(OpenApi.Description, "Paginated; filter by `reason`, job `type` and `tenant` (id or slug).")
				.setUrlParams(DlqParams)
				.addSuccess(DlqPage)
				.addError(TenantNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.post("retryDlq", "/dlq/:id/retry")
				.annotate(OpenApi.Summary, "Retry a dead-lettered job")
				.setPath(IdPath)
				.addSuccess(Schema.Struct({ entry: DlqEntryView, job: JobView }))
				.addError(DlqEntryNotFound, { status: 404 })
				.addError(JobNotFound, { status: 404 })
				.addError(InvalidTransition, { status: 409 }),
		)
		.add(
			HttpApiEndpoint.del("dropDlq", "/dlq/:id")
				.annotate(OpenApi.Summary, "Drop a dead-letter entry")
				.setPath(IdPath)
				.addSuccess(DlqEntryView)
				.addError(DlqEntryNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.get("listWorkflows", "/workflows")
				.annotate(OpenApi.Summary, "List workflow executions")
				.annotate(
					OpenApi.Description,
					"Paginated; filter by workflow `name`, `status`, `tenant` and time range.",
				)
				.setUrlParams(WorkflowParams)
				.addSuccess(ExecutionPage)
				.addError(TenantNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.get("showWorkflow", "/workflows/:executionId")
				.annotate(OpenApi.Summary, "Show a workflow execution")
				.annotate(OpenApi.Description, "Activities, attempts, errors, compensations and timing.")
				.setPath(ExecutionPath)
				.addSuccess(ExecutionDetail)
				.addError(ExecutionNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.post("resumeWorkflow", "/workflows/:executionId/resume")
				.annotate(OpenApi.Summary, "Resume a suspended workflow execution")
				.setPath(ExecutionPath)
				.addSuccess(ExecutionSummary)
				.addError(ExecutionNotFound, { status: 404 })
				.addError(ExecutionFinished, { status: 409 }),
		)
		.add(
			HttpApiEndpoint.post("interruptWorkflow", "/workflows/:executionId/interrupt")
				.annotate(OpenApi.Summary, "Interrupt a workflow execution")
				.setPath(ExecutionPath)
				.addSuccess(ExecutionSummary)
				.addError(ExecutionNotFound, { status: 404 })
				.addError(ExecutionFinished, { status: 409 }),
		),
)

// --- [EXPORT]

export { AdminJobsApi }
