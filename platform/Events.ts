// The `events` table: what happened, for whom, and which request caused it. The correlation id is taken from the
// RequestContext in scope (seed H4), so emitters never pass it by hand.
import { PgClient } from "@effect/sql-pg"
import { Effect } from "effect"
import { currentRequestMeta } from "./RequestContext.ts"
import { orStorageUnavailable } from "./StorageUnavailable.ts"
import { Telemetry } from "./Telemetry.ts"

// --- [FUNCTIONS]

const emit = (type: string, payload: Record<string, unknown>, appId: string | null = null) =>
	Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const meta = yield* currentRequestMeta
		yield* sql`INSERT INTO events ${sql.insert({
			appId,
			type,
			correlationId: meta.requestId,
			payload: sql.json(payload),
		})}`
	}).pipe(orStorageUnavailable, Telemetry.span("Events.emit", { type }))

// --- [EXPORT]

const Events = { emit } as const

export { Events }
