// The handlers of InternalRpcs: thin entity calls, made exactly as the admin HTTP handlers make them (callEntity turns
// infrastructure faults into ServiceUnavailable; the entities' own typed errors pass through). The same layer serves
// `POST /rpc` on the gateway and, in-process, the CLI beside the database: what only a gateway holds (its tenant and
// credential caches) is refreshed when present, and the entities announce every change to the other gateways anyway.
import { Headers } from "@effect/platform"
import { RpcClient } from "@effect/rpc"
import { Effect, Layer, Option, Redacted, Schema, Struct } from "effect"
import { UserNotFound, UserSessions } from "../../entities/identity/UserSessionsProtocol.ts"
import { DlqCommand, DlqDirectory, DlqEntry } from "../../entities/job/DlqProtocol.ts"
import { JobDirectory, JobEntity, JobNotFound, type JobView } from "../../entities/job/JobProtocol.ts"
import { entityId, TenantId, Uuid } from "../../entities/Tenancy.ts"
import {
	CreateTenant,
	Tenant,
	TenantDirectory,
	type TenantNotFound,
	type TenantOperation,
	TransitionTenant,
	type TenantView,
} from "../../entities/tenant/TenantProtocol.ts"
import { Cache } from "../../platform/Cache.ts"
import { deterministicId } from "../../platform/DeterministicId.ts"
import { CacheLive } from "../../platform/RedisCache.ts"
import { RequestContext, RequestContextHeaders } from "../../platform/RequestContext.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { KeyRotation } from "../../workflows/KeysReencryptProtocol.ts"
import { WorkflowInspector } from "../../workflows/WorkflowInspectorProtocol.ts"
import { isAdminToken } from "../AdminToken.ts"
import { callEntity } from "../EntityCall.ts"
import { GatewayConfig } from "../GatewayConfig.ts"
import { MissingTenant, ServiceUnavailable, Unauthorized } from "../HttpErrors.ts"
import { Credentials } from "../identity/Credentials.ts"
import { LoginLimiter } from "../identity/LoginLimiter.ts"
import { Forbidden } from "../jobs/JobsApi.ts"
import { TenantCache } from "../tenant/TenantCache.ts"
import { activeTenant } from "../tenant/TenantMiddleware.ts"
import { CurrentRpcCaller, InternalAuth, InternalRpcs, type RpcCaller } from "./InternalRpcs.ts"

// --- [CONSTANTS]

const BearerPattern = /^Bearer\s+(\S+)\s*$/i

// --- [FUNCTIONS]

const adminOnly = <A, E, R>(name: string, call: Effect.Effect<A, E, R>) =>
	CurrentRpcCaller.pipe(
		Effect.filterOrFail(
			(caller) => caller.kind === "admin",
			() => new Forbidden({ message: `${name} needs ADMIN_TOKEN; a tenant credential may call only jobs.*` }),
		),
		Effect.zipRight(call),
		Telemetry.span(`InternalRpc.${name}`),
	)

// The tenant and principal a tenant-scoped procedure acts for: a tenant's credential, or ADMIN_TOKEN with `X-App-Id`
// as the tenant's service principal.
const tenantScope = CurrentRpcCaller.pipe(
	Effect.flatMap((caller) =>
		caller.kind === "tenant"
			? Effect.succeed({ tenant: caller.tenant, principal: caller.principal })
			: Option.match(Option.fromNullable(caller.tenant), {
					onNone: () => Effect.fail(new MissingTenant({ message: "the X-App-Id header is required" })),
					onSome: (tenant) =>
						Effect.succeed({
							tenant,
							principal: { kind: "service" as const, subject: "service-role" },
						}),
				}),
	),
)

const ownerOf = (principal: Effect.Effect.Success<typeof tenantScope>["principal"]) =>
	principal.kind === "service" ? null : `user:${principal.principal.userId}`

const publicJob = (job: JobView) => Struct.omit(job, "payload", "appId", "ipAddress", "userAgent")

const jobNotFound = () => new JobNotFound({ message: "job not found" })

// What a gateway holds and refreshes after a change it made (present on the gateway, absent in the CLI).
const forgetTenant = (tenant: TenantView) =>
	Effect.serviceOption(TenantCache).pipe(
		Effect.flatMap(Option.match({ onNone: () => Effect.void, onSome: (cache) => cache.invalidate(tenant) })),
	)

const withCache = <A, E, R>(use: Effect.Effect<A, E, R>) =>
	Effect.serviceOption(Cache).pipe(
		Effect.flatMap(
			Option.match({
				onNone: () => Effect.provide(use, CacheLive),
				onSome: (cache) => Effect.provideService(use, Cache, cache),
			}),
		),
	)

// --- [LAYERS]

// Needs: Sharding (client). Optional: TenantCache, Credentials, Cache (else REDIS_URL for clearLoginFailures).
const InternalRpcHandlersLive = InternalRpcs.toLayer(
	Effect.gen(function* () {
		const tenants = yield* Tenant.client
		const directory = yield* TenantDirectory.client
		const inspector = (yield* WorkflowInspector.client)("inspector")
		const dlq = yield* DlqDirectory.client
		const entries = yield* DlqEntry.client
		const users = yield* UserSessions.client
		const jobs = yield* JobEntity.client
		const jobDirectory = yield* JobDirectory.client
		const rotation = yield* KeyRotation.client
		const resolve = (key: string) =>
			callEntity(directory(Schema.is(Schema.UUID)(key) ? key.toLowerCase() : key).Resolve({ key }))
		// An id names the Tenant entity directly (it answers TenantNotFound itself); a slug is looked up.
		const tenantIdOf = (key: string) =>
			Schema.decodeUnknown(TenantId)(key).pipe(
				Effect.orElse(() => resolve(key).pipe(Effect.map((tenant) => tenant.id))),
			)
		// A filter is checked to exist, never taken on trust (no empty list for an unknown tenant).
		const tenantFilter = (
			key: string | null,
		): Effect.Effect<TenantId | null, TenantNotFound | ServiceUnavailable> =>
			key === null
				? Effect.succeed(null)
				: resolve(Schema.is(Schema.UUID)(key) ? key.toLowerCase() : key).pipe(Effect.map((tenant) => tenant.id))
		const transition = (key: string, operation: TenantOperation) =>
			tenantIdOf(key).pipe(
				Effect.flatMap((tenantId) =>
					callEntity(
						tenants(tenantId).Transition(
							new TransitionTenant({ requestKey: crypto.randomUUID(), operation }),
						),
					),
				),
				Effect.tap(forgetTenant),
			)
		const userOf = (tenant: string, userId: string) =>
			tenantIdOf(tenant).pipe(Effect.map((tenantId) => users(entityId(tenantId, userId))))
		const deactivated = {
			UserDeactivated: () => Effect.fail(new UserNotFound({ message: "the user is deactivated" })),
		} as const
		return InternalRpcs.of({
			"tenants.list": (payload) => adminOnly("tenants.list", callEntity(directory("list").List(payload))),
			"tenants.create": (payload) =>
				adminOnly(
					"tenants.create",
					Effect.gen(function* () {
						const key = payload.requestKey ?? crypto.randomUUID()
						const tenant = yield* callEntity(
							tenants(deterministicId("tenant", "rpc", key)).Create(
								new CreateTenant({
									requestKey: key,
									slug: payload.slug,
									name: payload.name,
									settings: payload.settings ?? {},
								}),
							),
						)
						yield* forgetTenant(tenant)
						return tenant
					}),
				),
			"tenants.get": ({ tenant }) =>
				adminOnly(
					"tenants.get",
					Schema.decodeUnknown(TenantId)(tenant).pipe(
						Effect.matchEffect({
							onFailure: () => resolve(tenant),
							onSuccess: (tenantId) => callEntity(tenants(tenantId).Get()),
						}),
					),
				),
			"tenants.suspend": ({ tenant }) => adminOnly("tenants.suspend", transition(tenant, "suspend")),
			"tenants.activate": ({ tenant }) => adminOnly("tenants.activate", transition(tenant, "activate")),
			"tenants.clearLoginFailures": ({ tenant, ip }) =>
				adminOnly(
					"tenants.clearLoginFailures",
					tenantIdOf(tenant).pipe(
						Effect.flatMap((tenantId) =>
							withCache(LoginLimiter.clear(tenantId, ip)).pipe(
								Effect.map(({ clientGroups }) => ({ tenantId, clientGroups })),
							),
						),
						Effect.catchTag("CacheUnavailable", () =>
							Effect.fail(
								new ServiceUnavailable({ message: "the login-failure counters cannot be reached" }),
							),
						),
						Effect.catchTag("ConfigError", (error) =>
							Effect.fail(new ServiceUnavailable({ message: `Redis is not configured: ${error}` })),
						),
					),
				),
			"workflows.list": ({ name, status, tenant, limit, cursor }) =>
				adminOnly(
					"workflows.list",
					tenantFilter(tenant).pipe(
						Effect.flatMap((tenantId) =>
							callEntity(
								inspector.List({
									workflow: name,
									status,
									tenantId,
									since: null,
									until: null,
									limit,
									cursor,
								}),
							),
						),
					),
				),
			"workflows.show": (payload) => adminOnly("workflows.show", callEntity(inspector.Show(payload))),
			"workflows.resume": (payload) => adminOnly("workflows.resume", callEntity(inspector.Resume(payload))),
			"workflows.interrupt": (payload) =>
				adminOnly("workflows.interrupt", callEntity(inspector.Interrupt(payload))),
			"dlq.list": ({ tenant, ...filter }) =>
				adminOnly(
					"dlq.list",
					tenantFilter(tenant).pipe(
						Effect.flatMap((tenantId) => callEntity(dlq("all").List({ tenantId, ...filter }))),
					),
				),
			"dlq.retry": ({ id }) =>
				adminOnly(
					"dlq.retry",
					callEntity(entries(id.toLowerCase()).Retry(new DlqCommand({ requestKey: crypto.randomUUID() }))),
				),
			"dlq.drop": ({ id }) =>
				adminOnly(
					"dlq.drop",
					callEntity(entries(id.toLowerCase()).Drop(new DlqCommand({ requestKey: crypto.randomUUID() }))),
				),
			"users.sessions": ({ tenant, userId }) =>
				adminOnly(
					"users.sessions",
					userOf(tenant, userId).pipe(
						Effect.flatMap((user) => callEntity(user.ListSessions())),
						Effect.catchTags(deactivated),
					),
				),
			"users.revokeSessions": ({ tenant, userId }) =>
				adminOnly(
					"users.revokeSessions",
					Effect.gen(function* () {
						const tenantId = yield* tenantIdOf(tenant)
						const ended = yield* callEntity(
							users(entityId(tenantId, userId)).RevokeSessions({ except: null }),
						)
						const credentials = yield* Effect.serviceOption(Credentials)
						yield* Option.match(credentials, {
							onNone: () => Effect.void,
							onSome: (gateway) => gateway.revoked(tenantId, ended.revoked),
						})
						return { revoked: ended.count }
					}).pipe(Effect.catchTags(deactivated)),
				),
			"requests.caused": (payload) => adminOnly("requests.caused", callEntity(inspector.Caused(payload))),
			"keys.reencrypt": ({ batchSize }) =>
				adminOnly(
					"keys.reencrypt",
					callEntity(rotation("keys").Reencrypt({ runId: crypto.randomUUID(), batchSize })),
				),
			"jobs.list": ({ status, type, limit, cursor }) =>
				tenantScope.pipe(
					Effect.flatMap(({ tenant, principal }) =>
						callEntity(
							jobDirectory(tenant.id).List({ owner: ownerOf(principal), status, type, limit, cursor }),
						),
					),
					Effect.map((page) => ({ items: page.items.map(publicJob), nextCursor: page.nextCursor })),
					Telemetry.span("InternalRpc.jobs.list"),
				),
			"jobs.get": ({ id }) =>
				tenantScope.pipe(
					Effect.flatMap(({ tenant, principal }) =>
						Schema.decodeUnknown(Uuid)(id).pipe(
							Effect.mapError(jobNotFound),
							Effect.flatMap((jobId) => callEntity(jobs(entityId(tenant.id, jobId)).Get())),
							// Another owner's job answers exactly like an unknown one.
							Effect.filterOrFail(
								(job) => ownerOf(principal) === null || job.owner === ownerOf(principal),
								jobNotFound,
							),
						),
					),
					Effect.map(publicJob),
					Telemetry.span("InternalRpc.jobs.get"),
				),
		})
	}),
)

// How the gateway authenticates a call, from the HTTP request's headers: ADMIN_TOKEN is the operator (and, with
// `X-App-Id`, the tenant's service principal for tenant-scoped procedures); any other bearer is a credential of the
// tenant named by `X-App-Id`, validated as on `/v1`. The request's correlation goes on into every entity call.
const InternalAuthLive = Layer.effect(
	InternalAuth,
	Effect.gen(function* () {
		const config = yield* GatewayConfig
		const credentials = yield* Credentials
		const cache = yield* TenantCache
		const unauthorized = () => new Unauthorized({ message: "a valid bearer credential is required" })
		const tenantOf = (appId: string | undefined) =>
			activeTenant(appId).pipe(Effect.provideService(TenantCache, cache))
		const authenticate = (tag: string, headers: Headers.Headers) =>
			Effect.gen(function* () {
				const token = yield* Headers.get(headers, "authorization").pipe(
					Option.flatMap((value) => Option.fromNullable(BearerPattern.exec(value)?.[1])),
					Option.filter((value) => value.trim().length > 0),
					Option.map(Redacted.make),
					Effect.mapError(unauthorized),
				)
				const appId = Headers.get(headers, "x-app-id")
				const caller: typeof RpcCaller.Type = isAdminToken(config.adminToken, token)
					? {
							kind: "admin",
							tenant:
								Option.isSome(appId) && tag.startsWith("jobs.") ? yield* tenantOf(appId.value) : null,
						}
					: // Not the operator: a tenant credential, which means nothing without the tenant it belongs to.
						yield* Effect.gen(function* () {
							const tenant = yield* Option.match(appId, {
								onNone: () => Effect.fail(unauthorized()),
								onSome: (named) => tenantOf(named),
							})
							const { principal, tokenHash } = yield* credentials.authenticate(tenant.id, token)
							return {
								kind: "tenant" as const,
								tenant,
								principal: { kind: "user" as const, principal, tokenHash },
							}
						})
				return caller
			})
		return InternalAuth.of(({ headers, next, rpc }) => {
			const meta = RequestContextHeaders.fromHeaders(headers)
			return authenticate(rpc._tag, headers).pipe(
				Effect.flatMap((caller) => Effect.provideService(next, CurrentRpcCaller, caller)),
				Effect.provideService(RequestContext, meta),
				RpcClient.withHeaders(RequestContextHeaders.toHeaders(meta)),
				Effect.annotateLogs({ requestId: meta.requestId, rpc: rpc._tag }),
			)
		})
	}),
)

// The CLI beside the database: whoever holds DATABASE_URL is the operator.
const LocalOperatorAuthLive = Layer.succeed(
	InternalAuth,
	InternalAuth.of(({ next }) => Effect.provideService(next, CurrentRpcCaller, { kind: "admin", tenant: null })),
)

// --- [EXPORT]

export { InternalAuthLive, InternalRpcHandlersLive, LocalOperatorAuthLive }
