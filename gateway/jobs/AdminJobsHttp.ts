// Handlers of /admin/v1/dlq and /admin/v1/workflows: thin calls to the DLQ entities and the WorkflowInspector.
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Schema } from "effect"
import { DlqCommand, DlqDirectory, DlqEntry, DlqEntryNotFound } from "../../entities/job/DlqProtocol.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { WorkflowInspector } from "../../workflows/WorkflowInspectorProtocol.ts"
import { Api } from "../Api.ts"
import { Uuid } from "../../entities/Tenancy.ts"
import { callEntity } from "../EntityCall.ts"
import { TenantCache } from "../tenant/TenantCache.ts"
import { tenantFilterOf } from "../tenant/TenantRef.ts"
import { entityKey } from "../IdempotencyKey.ts"

// --- [FUNCTIONS]

const entryId = (id: string) =>
	Schema.decodeUnknown(Uuid)(id).pipe(Effect.mapError(() => new DlqEntryNotFound({ message: "no such DLQ entry" })))

// --- [LAYERS]

const AdminJobsHttpLive = HttpApiBuilder.group(Api, "adminJobs", (handlers) =>
	Effect.gen(function* () {
		const dlq = yield* DlqDirectory.client
		const entries = yield* DlqEntry.client
		const inspector = (yield* WorkflowInspector.client)("inspector")
		const tenantFilter = tenantFilterOf(yield* TenantCache)
		return handlers
			.handle("listDlq", ({ urlParams }) =>
				tenantFilter(urlParams.tenant).pipe(
					Effect.flatMap((tenantId) =>
						callEntity(
							dlq("all").List({
								tenantId,
								reason: urlParams.reason ?? null,
								status: urlParams.status ?? null,
								type: urlParams.type ?? null,
								limit: urlParams.limit,
								cursor: urlParams.cursor ?? null,
							}),
						),
					),
					Telemetry.span("AdminJobsHttp.listDlq"),
				),
			)
			.handle("retryDlq", ({ path }) =>
				entryId(path.id).pipe(
					Effect.flatMap((id) =>
						Effect.flatMap(entityKey, (requestKey) =>
							callEntity(entries(id).Retry(new DlqCommand({ requestKey }))),
						),
					),
					Telemetry.span("AdminJobsHttp.retryDlq"),
				),
			)
			.handle("dropDlq", ({ path }) =>
				entryId(path.id).pipe(
					Effect.flatMap((id) =>
						Effect.flatMap(entityKey, (requestKey) =>
							callEntity(entries(id).Drop(new DlqCommand({ requestKey }))),
						),
					),
					Telemetry.span("AdminJobsHttp.dropDlq"),
				),
			)
			.handle("listWorkflows", ({ urlParams }) =>
				tenantFilter(urlParams.tenant).pipe(
					Effect.flatMap((tenantId) =>
						callEntity(
							inspector.List({
								workflow: urlParams.name ?? null,
								status: urlParams.status ?? null,
								tenantId,
								since: urlParams.since ?? null,
								until: urlParams.until ?? null,
								limit: urlParams.limit,
								cursor: urlParams.cursor ?? null,
							}),
						),
					),
					Telemetry.span("AdminJobsHttp.listWorkflows"),
				),
			)
			.handle("showWorkflow", ({ path }) =>
				callEntity(inspector.Show({ executionId: path.executionId })).pipe(
					Telemetry.span("AdminJobsHttp.showWorkflow"),
				),
			)
			.handle("resumeWorkflow", ({ path }) =>
				callEntity(inspector.Resume({ executionId: path.executionId })).pipe(
					Telemetry.span("AdminJobsHttp.resumeWorkflow"),
				),
			)
			.handle("interruptWorkflow", ({ path }) =>
				callEntity(inspector.Interrupt({ executionId: path.executionId })).pipe(
					Telemetry.span("AdminJobsHttp.interruptWorkflow"),
				),
			)
	}),
)

// --- [EXPORT]

export { AdminJobsHttpLive }
