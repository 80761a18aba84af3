// The internal API as one @effect/rpc group, served at `POST /rpc` on the gateway (NDJSON over HTTP) and called
// through gateway/rpc/InternalRpcClient.ts. Procedures are named `<group>.<operation>`, so the typed client reads
// `client.tenants.list(…)`. Every procedure but the `jobs.*` ones is admin-only: ADMIN_TOKEN, refused to a tenant
// credential with Forbidden. `jobs.*` are tenant-scoped: the tenant is `X-App-Id` and the caller ADMIN_TOKEN (the
// tenant's service principal) or one of that tenant's session tokens or API keys, exactly as on `/v1`.
import { Rpc, RpcGroup, RpcMiddleware } from "@effect/rpc"
import { Context, Schema } from "effect"
import { Principal } from "../../entities/identity/CredentialDirectoryProtocol.ts"
import { SessionView, UserNotFound } from "../../entities/identity/UserSessionsProtocol.ts"
import { UserId } from "../../entities/identity/UserModel.ts"
import { InvalidTransition } from "../../entities/InvalidTransition.ts"
import { DlqEntryNotFound, DlqEntryView, DlqPage } from "../../entities/job/DlqProtocol.ts"
import { DlqReason, DlqStatus, JobStatus } from "../../entities/job/JobModel.ts"
import { JobNotFound, JobView } from "../../entities/job/JobProtocol.ts"
import { TenantName, TenantSettings, TenantSlug } from "../../entities/tenant/TenantModel.ts"
import { TenantNotFound, TenantPage, TenantSlugTaken, TenantView } from "../../entities/tenant/TenantProtocol.ts"
import { ReencryptReport } from "../../workflows/KeysReencryptProtocol.ts"
import {
	ExecutionDetail,
	ExecutionFinished,
	ExecutionNotFound,
	ExecutionPage,
	ExecutionStatus,
	ExecutionSummary,
	RequestTrace,
} from "../../workflows/WorkflowInspectorProtocol.ts"
import { MissingTenant, ServiceUnavailable, TooManyRequests, Unauthorized } from "../HttpErrors.ts"
import { Forbidden, PublicJob } from "../jobs/JobsApi.ts"

// --- [CONSTANTS]

const RpcPath = "/rpc"

// --- [SCHEMA]

// A tenant as an operator names it: its id (any letter case) or its slug.
const TenantKey = Schema.Union(Schema.UUID, TenantSlug)

const PageLimit = Schema.Int.pipe(Schema.between(1, 100))

const Page = { limit: PageLimit, cursor: Schema.NullOr(Schema.String) }

// Who is calling: an operator (ADMIN_TOKEN, or the CLI beside the database) or a credential of one tenant.
const RpcCaller = Schema.Union(
	// With `X-App-Id`, ADMIN_TOKEN acts as that tenant's service principal in tenant-scoped procedures.
	Schema.Struct({ kind: Schema.Literal("admin"), tenant: Schema.NullOr(TenantView) }),
	Schema.Struct({
		kind: Schema.Literal("tenant"),
		tenant: TenantView,
		principal: Schema.Union(
			Schema.Struct({ kind: Schema.Literal("service"), subject: Schema.String }),
			Schema.Struct({ kind: Schema.Literal("user"), principal: Principal, tokenHash: Schema.String }),
		),
	}),
)

// What authentication can answer before any procedure runs.
const AuthFailure = Schema.Union(Unauthorized, MissingTenant, TenantNotFound, ServiceUnavailable, TooManyRequests)

// What every admin-only procedure can answer besides its own errors.
const AdminFailure = Schema.Union(Forbidden, ServiceUnavailable)

// --- [SERVICES]

class CurrentRpcCaller extends Context.Tag("gateway/rpc/CurrentRpcCaller")<CurrentRpcCaller, typeof RpcCaller.Type>() {}

// Authenticates every call (from the HTTP headers the gateway hands to the RPC server) and places the caller, and the
// request's correlation, around the procedure.
class InternalAuth extends RpcMiddleware.Tag<InternalAuth>()("gateway/rpc/InternalAuth", {
	provides: CurrentRpcCaller,
	failure: AuthFailure,
	wrap: true,
}) {}

// --- [GROUP]

const InternalRpcs = RpcGroup.make(
	Rpc.make("tenants.list", { payload: Page, success: TenantPage, error: AdminFailure }),
	Rpc.make("tenants.create", {
		payload: {
			slug: TenantSlug,
			name: TenantName,
			settings: Schema.optional(TenantSettings),
			// Repeating a create with the same key reaches the same new tenant (a fresh key when absent).
			requestKey: Schema.optional(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(255))),
		},
		success: TenantView,
		error: Schema.Union(TenantSlugTaken, InvalidTransition, AdminFailure),
	}),
	Rpc.make("tenants.get", {
		payload: { tenant: TenantKey },
		success: TenantView,
		error: Schema.Union(TenantNotFound, AdminFailure),
	}),
	Rpc.make("tenants.suspend", {
		payload: { tenant: TenantKey },
		success: TenantView,
		error: Schema.Union(TenantNotFound, InvalidTransition, AdminFailure),
	}),
	Rpc.make("tenants.activate", {
		payload: { tenant: TenantKey },
		success: TenantView,
		error: Schema.Union(TenantNotFound, InvalidTransition, AdminFailure),
	}),
	Rpc.make("tenants.clearLoginFailures", {
		payload: { tenant: TenantKey, ip: Schema.NullOr(Schema.String) },
		success: Schema.Struct({ tenantId: Schema.String, clientGroups: Schema.Int }),
		error: Schema.Union(TenantNotFound, AdminFailure),
	}),
	Rpc.make("workflows.list", {
		payload: {
			name: Schema.NullOr(Schema.String),
			status: Schema.NullOr(ExecutionStatus),
			tenant: Schema.NullOr(TenantKey),
			...Page,
		},
		success: ExecutionPage,
		error: Schema.Union(TenantNotFound, AdminFailure),
	}),
	Rpc.make("workflows.show", {
		payload: { executionId: Schema.String },
		success: ExecutionDetail,
		error: Schema.Union(ExecutionNotFound, AdminFailure),
	}),
	Rpc.make("workflows.resume", {
		payload: { executionId: Schema.String },
		success: ExecutionSummary,
		error: Schema.Union(ExecutionNotFound, ExecutionFinished, AdminFailure),
	}),
	Rpc.make("workflows.interrupt", {
		payload: { executionId: Schema.String },
		success: ExecutionSummary,
		error: Schema.Union(ExecutionNotFound, ExecutionFinished, AdminFailure),
	}),
	Rpc.make("dlq.list", {
		payload: {
			tenant: Schema.NullOr(TenantKey),
			reason: Schema.NullOr(DlqReason),
			status: Schema.NullOr(DlqStatus),
			type: Schema.NullOr(Schema.String),
			...Page,
		},
		success: DlqPage,
		error: Schema.Union(TenantNotFound, AdminFailure),
	}),
	Rpc.make("dlq.retry", {
		payload: { id: Schema.UUID },
		success: Schema.Struct({ entry: DlqEntryView, job: JobView }),
		error: Schema.Union(DlqEntryNotFound, JobNotFound, InvalidTransition, AdminFailure),
	}),
	Rpc.make("dlq.drop", {
		payload: { id: Schema.UUID },
		success: DlqEntryView,
		error: Schema.Union(DlqEntryNotFound, AdminFailure),
	}),
	Rpc.make("users.sessions", {
		payload: { tenant: TenantKey, userId: UserId },
		success: Schema.Array(SessionView),
		error: Schema.Union(TenantNotFound, UserNotFound, AdminFailure),
	}),
	Rpc.make("users.revokeSessions", {
		payload: { tenant: TenantKey, userId: UserId },
		success: Schema.Struct({ revoked: Schema.Int }),
		error: Schema.Union(TenantNotFound, UserNotFound, AdminFailure),
	}),
	Rpc.make("requests.caused", {
		payload: { requestId: Schema.String },
		success: RequestTrace,
		error: AdminFailure,
	}),
	Rpc.make("keys.reencrypt", {
		payload: { batchSize: Schema.Int.pipe(Schema.between(1, 10_000)) },
		success: Schema.Struct({ executionId: Schema.String, report: ReencryptReport }),
		error: AdminFailure,
	}),
	// Tenant-scoped: the jobs of the tenant in `X-App-Id` that the caller may see (all of them for the service
	// principal, a user's own otherwise), as `GET /v1/jobs` answers them.
	Rpc.make("jobs.list", {
		payload: { status: Schema.NullOr(JobStatus), type: Schema.NullOr(Schema.String), ...Page },
		success: Schema.Struct({ items: Schema.Array(PublicJob), nextCursor: Schema.NullOr(Schema.String) }),
		error: Schema.Union(MissingTenant, Forbidden, ServiceUnavailable),
	}),
	Rpc.make("jobs.get", {
		payload: { id: Schema.String },
		success: PublicJob,
		error: Schema.Union(JobNotFound, MissingTenant, Forbidden, ServiceUnavailable),
	}),
).middleware(InternalAuth)

// --- [EXPORT]

export { AuthFailure, RpcPath, CurrentRpcCaller, InternalAuth, InternalRpcs, RpcCaller, TenantKey }
