// Handlers of TenantEvents (one instance per tenant, reads only, so any number at once): the log as EventLog reads it.
import { Entity } from "@effect/cluster"
import { PgClient } from "@effect/sql-pg"
import { Effect, Schema } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import { TenantId } from "../Tenancy.ts"
import { EventLog } from "./EventLog.ts"
import { TenantEvents } from "./EventProtocol.ts"

// --- [LAYERS]

const TenantEventsLive = TenantEvents.toLayer(
	Effect.gen(function* () {
		const address = yield* Entity.CurrentAddress
		const appId = yield* Schema.decodeUnknown(TenantId)(address.entityId).pipe(Effect.orDie)
		const sql = yield* PgClient.PgClient
		const withSql = Effect.provideService(PgClient.PgClient, sql)
		return {
			List: ({ payload }) =>
				EventLog.list({ appId, ...payload }).pipe(withSql, Telemetry.span("TenantEvents.List")),
			After: ({ payload }) =>
				EventLog.after(appId, payload.after, payload.limit).pipe(withSql, Telemetry.span("TenantEvents.After")),
			Head: () => EventLog.lastSeq(appId).pipe(withSql, Telemetry.span("TenantEvents.Head")),
		}
	}),
	{ concurrency: "unbounded", maxIdleTime: "1 minute" },
)

// --- [EXPORT]

export { TenantEventsLive }
