// Handlers of /admin/v1/tenants: each mutation is a persisted message to the tenant's entity keyed by the caller's
// scoped `Idempotency-Key` (or a fresh key), and drops the tenant from this gateway's cache before answering.
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { IdentityBroker } from "../../entities/identity/IdentityBrokerProtocol.ts"
import { JobEntity, SubmitJob } from "../../entities/job/JobProtocol.ts"
import { entityId } from "../../entities/Tenancy.ts"
import { deterministicId } from "../../platform/DeterministicId.ts"
import {
	CreateTenant,
	Tenant,
	TenantDirectory,
	type TenantOperation,
	TransitionTenant,
	UpdateTenant,
} from "../../entities/tenant/TenantProtocol.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { JobKinds } from "../../workflows/JobKinds.ts"
import { Api } from "../Api.ts"
import { callEntity, PersistedCalls } from "../EntityCall.ts"
import { ServiceUnavailable } from "../HttpErrors.ts"
import { entityKey } from "../IdempotencyKey.ts"
import { pageOf } from "../ListPage.ts"
import { LoginLimiter } from "../identity/LoginLimiter.ts"
import { TenantCache } from "./TenantCache.ts"
import { tenantIdOf as tenantRef } from "./TenantRef.ts"

// --- [FUNCTIONS]

// --- [LAYERS]

const AdminTenantsHttpLive = HttpApiBuilder.group(Api, "adminTenants", (handlers) =>
	Effect.gen(function* () {
		const tenants = yield* Tenant.client
		const jobs = yield* JobEntity.client
		const broker = yield* IdentityBroker.client
		const directory = yield* TenantDirectory.client
		const cache = yield* TenantCache
		const tenantIdOf = tenantRef(cache)
		const persisted = yield* PersistedCalls
		const transition = (id: string, operation: TenantOperation) =>
			Effect.gen(function* () {
				const tenantId = yield* tenantIdOf(id)
				const key = yield* entityKey
				const message = new TransitionTenant({ requestKey: key, operation })
				const tenant = yield* persisted(
					{ entityType: Tenant.type, entityId: tenantId, tag: "Transition", payload: message },
					tenants(tenantId).Transition(message),
				)
				yield* cache.invalidate(tenant)
				return tenant
			})
		return (
			handlers
				.handle("create", ({ payload }) =>
					Effect.gen(function* () {
						const key = yield* entityKey
						// The same key reaches the same new tenant's entity, so a repeat is answered from its message.
						const tenant = yield* callEntity(
							tenants(deterministicId("tenant", key)).Create(
								new CreateTenant({
									requestKey: key,
									slug: payload.slug,
									name: payload.name,
									settings: payload.settings ?? {},
								}),
							),
						)
						yield* cache.invalidate(tenant)
						return tenant
					}).pipe(Telemetry.span("AdminTenantsHttp.create")),
				)
				.handle("list", ({ urlParams }) =>
					callEntity(
						directory("list").List({ limit: urlParams.limit, cursor: urlParams.cursor ?? null }),
					).pipe(Telemetry.span("AdminTenantsHttp.list")),
				)
				.handle("get", ({ path }) =>
					tenantIdOf(path.id).pipe(
						Effect.flatMap((tenantId) => callEntity(tenants(tenantId).Get())),
						Telemetry.span("AdminTenantsHttp.get"),
					),
				)
				.handle("update", ({ path, payload }) =>
					Effect.gen(function* () {
						const tenantId = yield* tenantIdOf(path.id)
						const key = yield* entityKey
						const tenant = yield* callEntity(
							tenants(tenantId).Update(
								new UpdateTenant({
									requestKey: key,
									...(payload.name === undefined ? {} : { name: payload.name }),
									...(payload.settings === undefined ? {} : { settings: payload.settings }),
								}),
							),
						)
						yield* cache.invalidate(tenant)
						return tenant
					}).pipe(Telemetry.span("AdminTenantsHttp.update")),
				)
				.handle("suspend", ({ path }) =>
					transition(path.id, "suspend").pipe(Telemetry.span("AdminTenantsHttp.suspend")),
				)
				.handle("activate", ({ path }) =>
					transition(path.id, "activate").pipe(Telemetry.span("AdminTenantsHttp.activate")),
				)
				// The provider's discovery is checked first (on a runner, by the client sign-ins use): one that can never
				// work is refused with the reason instead of being saved.
				.handle("putOAuthProvider", ({ path, payload }) =>
					tenantIdOf(path.id).pipe(
						Effect.tap((tenantId) =>
							callEntity(
								broker(entityId(tenantId, path.provider)).CheckIssuer({ issuer: payload.issuer }),
							),
						),
						Effect.flatMap((tenantId) =>
							callEntity(tenants(tenantId).PutOAuthProvider({ ...payload, provider: path.provider })),
						),
						Telemetry.span("AdminTenantsHttp.putOAuthProvider"),
					),
				)
				.handle("putWebAuthn", ({ path, payload }) =>
					tenantIdOf(path.id).pipe(
						Effect.flatMap((tenantId) => callEntity(tenants(tenantId).PutRelyingParty(payload))),
						Telemetry.span("AdminTenantsHttp.putWebAuthn"),
					),
				)
				.handle("getWebAuthn", ({ path }) =>
					tenantIdOf(path.id).pipe(
						Effect.flatMap((tenantId) => callEntity(tenants(tenantId).GetRelyingParty())),
						Telemetry.span("AdminTenantsHttp.getWebAuthn"),
					),
				)
				.handle("listOAuthProviders", ({ path, urlParams }) =>
					tenantIdOf(path.id).pipe(
						Effect.flatMap((tenantId) => callEntity(tenants(tenantId).ListOAuthProviders())),
						Effect.map((providers) => pageOf(providers, urlParams, (provider) => provider.provider)),
						Telemetry.span("AdminTenantsHttp.listOAuthProviders"),
					),
				)
				.handle("deleteOAuthProvider", ({ path }) =>
					tenantIdOf(path.id).pipe(
						Effect.flatMap((tenantId) =>
							callEntity(tenants(tenantId).DeleteOAuthProvider({ provider: path.provider })),
						),
						Telemetry.span("AdminTenantsHttp.deleteOAuthProvider"),
					),
				)
				.handle("clearLoginFailures", ({ path, urlParams }) =>
					tenantIdOf(path.id).pipe(
						Effect.flatMap((tenantId) => LoginLimiter.clear(tenantId, urlParams.ip ?? null)),
						Effect.catchTag("CacheUnavailable", () =>
							Effect.fail(
								new ServiceUnavailable({ message: "the login-failure counters cannot be reached" }),
							),
						),
						Effect.asVoid,
						Telemetry.span("AdminTenantsHttp.clearLoginFailures"),
					),
				)
				// The tenant stops answering at once (deleting); the rest is the tenant.delete workflow, run as a job.
				.handle("delete", ({ path }) =>
					Effect.gen(function* () {
						const tenant = yield* transition(path.id, "delete")
						const key = yield* entityKey
						const kind = JobKinds["tenant.delete"].kind
						const job = yield* callEntity(
							jobs(entityId(tenant.id, deterministicId("job", tenant.id, kind, key))).Submit(
								new SubmitJob({ type: kind, payload: {}, dedupeKey: null }),
							),
						)
						return { id: tenant.id, status: tenant.status, jobId: job.id }
					}).pipe(Telemetry.span("AdminTenantsHttp.delete")),
				)
		)
	}),
)

// --- [EXPORT]

export { AdminTenantsHttpLive }
