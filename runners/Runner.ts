// Everything a runner hosts: the entities and the durable workflows (on the cluster workflow engine), on the cluster
// socket transport, after the migrations have run. Needs a PgClient and the Cache service from the entrypoint.
import { ClusterWorkflowEngine } from "@effect/cluster"
import { NodeHttpClient } from "@effect/platform-node"
import { Layer } from "effect"
import { CredentialDirectoryLive } from "../entities/identity/CredentialDirectoryEntity.ts"
import { DlqEntitiesLive } from "../entities/job/DlqEntity.ts"
import { TenantEventsLive } from "../entities/event/EventEntity.ts"
import { IdentityBrokerLive } from "../entities/identity/IdentityBrokerEntity.ts"
import { IdentityRepo } from "../entities/identity/IdentityRepo.ts"
import { PasskeyRepo } from "../entities/identity/PasskeyRepo.ts"
import { JobEntitiesLive } from "../entities/job/JobEntity.ts"
import { JobRepo } from "../entities/job/JobRepo.ts"
import { OAuthProviderRepo } from "../entities/identity/OAuthProviderRepo.ts"
import { SessionPolicyLive } from "../entities/identity/SessionConfig.ts"
import { SocketEntityLive } from "../entities/realtime/SocketEntity.ts"
import { TenantEntitiesLive } from "../entities/tenant/TenantEntity.ts"
import { TenantRepoLive } from "../entities/tenant/TenantRepo.ts"
import { RelyingPartyRepo } from "../entities/tenant/RelyingPartyRepo.ts"
import { WebhookEntitiesLive } from "../entities/webhook/WebhookEntity.ts"
import { UserSessionsLive } from "../entities/identity/UserSessionsEntity.ts"
import { MigratorLive } from "../migrations/Migrator.ts"
import { OidcClient } from "../platform/OidcClient.ts"
import { JobsConfig } from "../workflows/JobsConfig.ts"
import { WorkflowsLive } from "../workflows/JobWorkflows.ts"
import { MaintenanceLive } from "../workflows/Maintenance.ts"
import { WorkflowInspectorLive } from "../workflows/WorkflowInspector.ts"
import { RunnerClusterLive } from "../platform/Cluster.ts"
import { ClusterBacklogMetricsLive } from "../platform/ClusterBacklog.ts"
import { MetricsRegistry } from "../platform/Metrics.ts"
import { OperationalMetricsLive } from "../workflows/OperationalMetrics.ts"

// --- [LAYERS]

const RunnerEntitiesLive = Layer.mergeAll(
	TenantEntitiesLive,
	JobEntitiesLive,
	DlqEntitiesLive,
	TenantEventsLive,
	UserSessionsLive,
	CredentialDirectoryLive,
	IdentityBrokerLive,
	SocketEntityLive,
	WebhookEntitiesLive,
	WorkflowsLive,
	WorkflowInspectorLive,
	MaintenanceLive,
).pipe(
	Layer.provide(
		Layer.mergeAll(
			TenantRepoLive,
			JobRepo.Default,
			OAuthProviderRepo.Default,
			RelyingPartyRepo.Default,
			IdentityRepo.Default,
			PasskeyRepo.Default,
			SessionPolicyLive,
			OidcClient.Default,
		).pipe(Layer.provideMerge(NodeHttpClient.layerUndici)),
	),
	Layer.provideMerge(ClusterWorkflowEngine.layer),
)

// A JOBS_* setting that cannot be used (e.g. JOBS_FAULT_INJECTION outside tests) stops the start before anything runs.
const JobsConfigChecked = Layer.effectDiscard(JobsConfig)

const RunnerLive = RunnerEntitiesLive.pipe(
	Layer.provideMerge(Layer.merge(OperationalMetricsLive, ClusterBacklogMetricsLive)),
	Layer.provideMerge(MetricsRegistry.Default),
	Layer.provideMerge(RunnerClusterLive),
	Layer.provide(MigratorLive),
	Layer.provide(JobsConfigChecked),
)

// --- [EXPORT]

export { RunnerLive }
