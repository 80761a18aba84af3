// Operator endpoint: what one request caused (bearer ADMIN_TOKEN).
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { RequestTrace } from "../../workflows/WorkflowInspectorProtocol.ts"
import { adminRoutes } from "../RouteGroups.ts"

// --- [SCHEMA]

// A request id as the gateway accepts one in X-Request-Id.
const RequestPath = Schema.Struct({
	requestId: Schema.String.pipe(
		Schema.pattern(/^[A-Za-z0-9._-]{1,128}$/, {
			message: () => "must be a request id: 1–128 characters of A–Z, a–z, 0–9, '.', '_' or '-'",
		}),
	),
})

// --- [PROTOCOL]

const AdminRequestsApi = adminRoutes(
	HttpApiGroup.make("adminRequests").add(
		HttpApiEndpoint.get("showRequest", "/requests/:requestId")
			.annotate(OpenApi.Summary, "What a request caused")
			.annotate(
				OpenApi.Description,
				"In time order: audit rows, events, jobs, workflow executions with each activity attempt (outbound calls included), and DLQ entries that carry this request id (or name it as their correlation id), with the trace id when a stored entity message still names it. A request id nothing carries answers an empty list.",
			)
			.setPath(RequestPath)
			.addSuccess(RequestTrace),
	),
)

// --- [EXPORT]

export { AdminRequestsApi }
