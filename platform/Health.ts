// Readiness probes shared by every process: Postgres answers, and the cluster has a healthy runner registered in
// @effect/cluster's runner table (so shards are assigned and entities can be routed).
import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { Telemetry } from "./Telemetry.ts"

// --- [FUNCTIONS]

const probe = <A, E, R>(check: Effect.Effect<A, E, R>) =>
	check.pipe(
		Effect.timeout("2 seconds"),
		Effect.as("ok" as const),
		Effect.catchAllCause(() => Effect.succeed("failing" as const)),
	)

const checks = Effect.gen(function* () {
	const sql = (yield* SqlClient.SqlClient).withoutTransforms()
	const [database, cluster] = yield* Effect.all(
		[
			probe(sql`SELECT 1`),
			probe(
				sql`SELECT count(*)::int AS runners FROM cluster_runners WHERE healthy`.pipe(
					Effect.flatMap(
						Schema.decodeUnknown(
							Schema.Tuple(Schema.Struct({ runners: Schema.Int.pipe(Schema.positive()) })),
						),
					),
				),
			),
		],
		{ concurrency: "unbounded" },
	)
	return { database, cluster }
}).pipe(Telemetry.span("Health.checks"))

// --- [EXPORT]

const Health = { checks } as const

export { Health }
