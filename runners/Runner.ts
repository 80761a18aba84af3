// Everything a runner hosts: the entities and (later) the workflows, on the cluster socket transport, after the
// migrations have run. Needs a PgClient and the Cache service from the entrypoint.
import { Layer } from "effect"
import { TenantEntitiesLive } from "../entities/TenantEntity.ts"
import { TenantRepoLive } from "../entities/TenantRepo.ts"
import { MigratorLive } from "../migrations/Migrator.ts"
import { RunnerClusterLive } from "./Cluster.ts"

// --- [LAYERS]

const RunnerEntitiesLive = TenantEntitiesLive.pipe(Layer.provide(TenantRepoLive))

const RunnerLive = RunnerEntitiesLive.pipe(Layer.provideMerge(RunnerClusterLive), Layer.provide(MigratorLive))

// --- [EXPORT]

export { RunnerLive }
