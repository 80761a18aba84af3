// Cluster wiring for every process: the sharding settings come from our namespaced Config (never the bare HOST/PORT
// that ShardingConfig.layerFromEnv reads), runners listen on the cluster socket transport and coordinate through
// Postgres, and gateways join as client-only members of the same cluster.
import { RunnerAddress } from "@effect/cluster"
import { NodeClusterSocket } from "@effect/platform-node"
import { Config, Effect, Layer, Option } from "effect"

// --- [CONSTANTS]

// Lock expiry 10 s with a 3 s refresh: a runner killed with -9 loses its shards after at most ~10 s plus one
// assignment refresh, inside the 15 s budget, while a healthy runner refreshes three times per expiry window.
const ClusterConfig = Config.all({
	host: Config.string("RUNNER_HOST").pipe(
		Config.withDefault("127.0.0.1"),
		Config.withDescription("Address other members use to reach this runner"),
	),
	port: Config.port("RUNNER_PORT").pipe(
		Config.withDefault(34431),
		Config.withDescription("Cluster socket port of this runner"),
	),
	listenHost: Config.option(
		Config.string("RUNNER_LISTEN_HOST").pipe(Config.withDescription("Interface to bind; defaults to RUNNER_HOST")),
	),
	shardsPerGroup: Config.integer("RUNNER_SHARDS_PER_GROUP").pipe(
		Config.withDefault(300),
		Config.withDescription("Shards per group; fixed for a deployment"),
	),
	shardLockRefreshInterval: Config.duration("RUNNER_SHARD_LOCK_REFRESH").pipe(Config.withDefault("3 seconds")),
	shardLockExpiration: Config.duration("RUNNER_SHARD_LOCK_EXPIRATION").pipe(Config.withDefault("10 seconds")),
	refreshAssignmentsInterval: Config.duration("RUNNER_REFRESH_ASSIGNMENTS").pipe(Config.withDefault("2 seconds")),
	entityMaxIdleTime: Config.duration("RUNNER_ENTITY_MAX_IDLE").pipe(Config.withDefault("1 minute")),
	entityMessagePollInterval: Config.duration("RUNNER_MESSAGE_POLL_INTERVAL").pipe(Config.withDefault("1 second")),
	entityTerminationTimeout: Config.duration("RUNNER_ENTITY_TERMINATION_TIMEOUT").pipe(
		Config.withDefault("8 seconds"),
	),
	runnerHealthCheckInterval: Config.duration("RUNNER_HEALTH_CHECK_INTERVAL").pipe(Config.withDefault("10 seconds")),
})

// --- [FUNCTIONS]

const shardingOptions = (config: Config.Config.Success<typeof ClusterConfig>) => ({
	shardsPerGroup: config.shardsPerGroup,
	shardLockRefreshInterval: config.shardLockRefreshInterval,
	shardLockExpiration: config.shardLockExpiration,
	refreshAssignmentsInterval: config.refreshAssignmentsInterval,
	entityMaxIdleTime: config.entityMaxIdleTime,
	entityMessagePollInterval: config.entityMessagePollInterval,
	entityTerminationTimeout: config.entityTerminationTimeout,
	runnerHealthCheckInterval: config.runnerHealthCheckInterval,
	preemptiveShutdown: true,
})

// @effect/cluster creates its tables with CREATE TABLE IF NOT EXISTS when a member starts, which races when several
// members start together on a fresh database (a unique violation in pg_type, raised as a defect). A start that fails
// or dies is retried a few times, half a second apart. `Layer.fresh`: a layer is memoised within one build, so
// providing the same layer again would only replay its first failure.
const retryStart = <A, E, R>(layer: Layer.Layer<A, E, R>, attemptsLeft = 6): Layer.Layer<A, E, R> =>
	Layer.catchAllCause(Layer.fresh(layer), (cause) =>
		attemptsLeft > 0
			? Layer.unwrapEffect(
					Effect.logWarning("cluster member start failed; retrying", cause).pipe(
						Effect.zipRight(Effect.sleep("500 millis")),
						Effect.as(retryStart(layer, attemptsLeft - 1)),
					),
				)
			: Layer.failCause(cause),
	)

// --- [LAYERS]

const RunnerClusterLive = retryStart(
	Layer.unwrapEffect(
		Effect.map(ClusterConfig, (config) =>
			NodeClusterSocket.layer({
				storage: "sql",
				shardingConfig: {
					...shardingOptions(config),
					runnerAddress: Option.some(RunnerAddress.make(config.host, config.port)),
					runnerListenAddress: Option.some(
						RunnerAddress.make(
							Option.getOrElse(config.listenHost, () => config.host),
							config.port,
						),
					),
				},
			}),
		),
	),
)

const ClientClusterLive = retryStart(
	Layer.unwrapEffect(
		Effect.map(ClusterConfig, (config) =>
			NodeClusterSocket.layer({
				clientOnly: true,
				storage: "sql",
				shardingConfig: {
					...shardingOptions(config),
					runnerAddress: Option.none(),
					runnerListenAddress: Option.none(),
				},
			}),
		),
	),
)

// --- [EXPORT]

export { ClientClusterLive, ClusterConfig, RunnerClusterLive }
