// Handler of /admin/v1/requests/{requestId}: a thin call to the WorkflowInspector, which reads what the request left.
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import { WorkflowInspector } from "../../workflows/WorkflowInspectorProtocol.ts"
import { Api } from "../Api.ts"
import { callEntity } from "../EntityCall.ts"

// --- [LAYERS]

const AdminRequestsHttpLive = HttpApiBuilder.group(Api, "adminRequests", (handlers) =>
	Effect.map(WorkflowInspector.client, (client) =>
		handlers.handle("showRequest", ({ path }) =>
			callEntity(client("inspector").Caused({ requestId: path.requestId })).pipe(
				Telemetry.span("AdminRequestsHttp.showRequest"),
			),
		),
	),
)

// --- [EXPORT]

export { AdminRequestsHttpLive }
