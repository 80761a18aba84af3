// Handlers of /v1/events: the tenant's TenantEvents entity reads the page; a cursor is the last seq of the page before.
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { TenantEvents } from "../../entities/event/EventProtocol.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Api } from "../Api.ts"
import { callEntity } from "../EntityCall.ts"
import { CurrentTenant } from "../tenant/TenantMiddleware.ts"

// --- [LAYERS]

const EventsHttpLive = HttpApiBuilder.group(Api, "events", (handlers) =>
	Effect.map(TenantEvents.client, (events) =>
		handlers.handle("list", ({ urlParams }) =>
			Effect.flatMap(CurrentTenant, (tenant) =>
				callEntity(
					events(tenant.id).List({
						after: Math.max(urlParams.after ?? 0, Number(urlParams.cursor ?? "0")),
						since: urlParams.since ?? null,
						type: urlParams.type ?? null,
						limit: urlParams.limit,
					}),
				),
			).pipe(Telemetry.span("EventsHttp.list")),
		),
	),
)

// --- [EXPORT]

export { EventsHttpLive }
