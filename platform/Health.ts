// Readiness probes shared by every process: Postgres answers, a healthy runner is registered in @effect/cluster's
// runner table, and every shard is assigned: each shard's advisory lock (key (group index + 1) × 1,000,000 + shard,
// held by the runner that owns it) is held in this database, so any entity can be routed.
import { SqlClient } from "@effect/sql"
import { Effect, Schema } from "effect"
import { Telemetry } from "./Telemetry.ts"

// --- [CONSTANTS]

// The one shard group (@effect/cluster's "default") is the first: its lock keys start here.
const ShardLockBase = 1_000_000

// --- [FUNCTIONS]

const probe = <A, E, R>(check: Effect.Effect<A, E, R>) =>
	check.pipe(
		Effect.timeout("2 seconds"),
		Effect.as("ok" as const),
		Effect.catchAllCause(() => Effect.succeed("failing" as const)),
	)

// `shardsPerGroup` is the deployment's RUNNER_SHARDS_PER_GROUP.
const checks = (shardsPerGroup: number) =>
	Effect.gen(function* () {
		const sql = (yield* SqlClient.SqlClient).withoutTransforms()
		const [database, cluster, shards] = yield* Effect.all(
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
				probe(
					sql`SELECT count(DISTINCT objid)::int AS held FROM pg_locks
					WHERE locktype = 'advisory' AND granted AND objsubid = 1
					AND database = (SELECT oid FROM pg_database WHERE datname = current_database())
					AND objid::text::bigint BETWEEN ${ShardLockBase + 1} AND ${ShardLockBase + shardsPerGroup}`.pipe(
						Effect.flatMap(
							Schema.decodeUnknown(Schema.Tuple(Schema.Struct({ held: Schema.Literal(shardsPerGroup) }))),
						),
					),
				),
			],
			{ concurrency: "unbounded" },
		)
		return { database, cluster, shards }
	}).pipe(Telemetry.span("Health.checks"))

// --- [EXPORT]

const Health = { checks } as const

export { Health }
