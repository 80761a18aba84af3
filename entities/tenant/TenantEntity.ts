// Handlers of the Tenant entity (one instance per tenantId, single-threaded) and of the TenantDirectory reads. A
// Tenant instance restores its Machine from `apps` on its first request, so passivation or failover loses nothing;
// if Postgres is down then, the request fails with StorageUnavailable and the next one tries again.
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Option } from "effect"
import { RequestContextHeaders } from "../../platform/RequestContext.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { TenantId } from "../Tenancy.ts"
import { Lifecycle } from "../Lifecycle.ts"
import { absent, Apply, Create, Edit, present, requireLive, requirePresent, TenantMachine } from "./TenantMachine.ts"
import {
	OAuthProviderNotFound,
	Tenant,
	TenantDirectory,
	TenantNotFound,
	WebAuthnNotConfigured,
} from "./TenantProtocol.ts"
import { RelyingPartyRepo } from "./RelyingPartyRepo.ts"
import { OAuthProviderRepo, type OAuthProviderRow, secretBinding } from "../identity/OAuthProviderRepo.ts"
import { AuditLog } from "../AuditLog.ts"
import { Crypto } from "../../platform/Crypto.ts"
import { TenantRepo } from "./TenantRepo.ts"

// --- [LAYERS]

const TenantEntityLive = Tenant.toLayer(
	Effect.gen(function* () {
		const tenantId = yield* Lifecycle.address(TenantId)
		const repo = yield* TenantRepo
		const actor = yield* Lifecycle.bootOnce(
			TenantMachine,
			tenantId,
			Lifecycle.stored(repo.findById(tenantId), absent, present),
		)
		const metaOf = (request: { readonly headers: Parameters<typeof RequestContextHeaders.fromHeaders>[0] }) =>
			RequestContextHeaders.fromHeaders(request.headers)
		const providers = yield* OAuthProviderRepo
		const relyingParties = yield* RelyingPartyRepo
		const sql = yield* PgClient.PgClient
		const crypto = yield* Crypto
		const viewOf = (row: OAuthProviderRow) => ({
			provider: row.provider,
			issuer: row.issuer,
			clientId: row.clientId,
			scopes: row.scopes,
			createdAt: row.createdAt,
			updatedAt: row.updatedAt,
		})
		// Provider changes need the tenant to exist and not be on its way out.
		const configurable = actor.get.pipe(
			Effect.flatMap(requirePresent),
			Effect.flatMap((tenant) => requireLive(tenant, "configure")),
		)
		const audited = (
			operation: "create" | "update" | "delete",
			provider: string,
			headers: Parameters<typeof RequestContextHeaders.fromHeaders>[0],
			subjectType = "oauth_provider",
		) =>
			AuditLog.recordFor(RequestContextHeaders.fromHeaders(headers), {
				appId: tenantId,
				actor: "admin",
				operation,
				subjectType,
				subjectId: `${tenantId}/${provider}`,
			}).pipe(Effect.provideService(PgClient.PgClient, sql))
		const viewOfParty = ({
			appId: _appId,
			...party
		}: Effect.Effect.Success<ReturnType<typeof relyingParties.upsert>>) => party
		return {
			PutRelyingParty: (request) =>
				Effect.gen(function* () {
					yield* configurable
					const row = yield* relyingParties.upsert({ appId: tenantId, ...request.payload })
					yield* audited("update", "webauthn", request.headers, "webauthn_relying_party")
					return viewOfParty(row)
				}).pipe(Telemetry.span("Tenant.PutRelyingParty", { tenantId })),
			GetRelyingParty: () =>
				actor.get.pipe(
					Effect.flatMap(requirePresent),
					Effect.zipRight(relyingParties.find(tenantId)),
					Effect.flatMap(
						Option.match({
							onNone: () =>
								Effect.fail(
									new WebAuthnNotConfigured({ message: "no WebAuthn relying party is configured" }),
								),
							onSome: (row) => Effect.succeed(viewOfParty(row)),
						}),
					),
					Telemetry.span("Tenant.GetRelyingParty", { tenantId }),
				),
			PutOAuthProvider: (request) =>
				Effect.gen(function* () {
					yield* configurable
					const sealed = yield* crypto.seal(
						request.payload.clientSecret,
						secretBinding(tenantId, request.payload.provider),
					)
					const row = yield* providers.upsert({
						appId: tenantId,
						provider: request.payload.provider,
						issuer: request.payload.issuer,
						clientId: request.payload.clientId,
						clientSecretEnc: sealed,
						scopes: request.payload.scopes,
					})
					yield* audited("update", request.payload.provider, request.headers)
					return viewOf(row)
				}).pipe(Telemetry.span("Tenant.PutOAuthProvider", { tenantId })),
			ListOAuthProviders: () =>
				actor.get.pipe(
					Effect.flatMap(requirePresent),
					Effect.zipRight(providers.list(tenantId)),
					Effect.map((rows) => rows.map(viewOf)),
					Telemetry.span("Tenant.ListOAuthProviders", { tenantId }),
				),
			DeleteOAuthProvider: (request) =>
				actor.get.pipe(
					Effect.flatMap(requirePresent),
					Effect.zipRight(providers.remove(tenantId, request.payload.provider)),
					Effect.flatMap((found) =>
						Effect.mapError(
							found,
							() => new OAuthProviderNotFound({ message: `no provider '${request.payload.provider}'` }),
						),
					),
					Effect.tap((row) => audited("delete", row.provider, request.headers)),
					Effect.map(viewOf),
					Telemetry.span("Tenant.DeleteOAuthProvider", { tenantId }),
				),
			Create: (request) =>
				actor
					.send(
						new Create({
							slug: request.payload.slug,
							name: request.payload.name,
							settings: request.payload.settings,
							meta: metaOf(request),
						}),
					)
					.pipe(Telemetry.span("Tenant.Create", { tenantId })),
			Update: (request) =>
				actor
					.send(
						new Edit({
							...(request.payload.name === undefined ? {} : { name: request.payload.name }),
							...(request.payload.settings === undefined ? {} : { settings: request.payload.settings }),
							meta: metaOf(request),
						}),
					)
					.pipe(Telemetry.span("Tenant.Update", { tenantId })),
			Transition: (request) =>
				actor
					.send(new Apply({ operation: request.payload.operation, meta: metaOf(request) }))
					.pipe(Telemetry.span("Tenant.Transition", { tenantId, operation: request.payload.operation })),
			Get: () => actor.get.pipe(Effect.flatMap(requirePresent), Telemetry.span("Tenant.Get", { tenantId })),
		}
	}),
	{ maxIdleTime: "5 minutes" },
)

const TenantDirectoryLive = TenantDirectory.toLayer(
	Effect.gen(function* () {
		const repo = yield* TenantRepo
		return {
			Resolve: ({ payload }) =>
				repo.findByKey(payload.key).pipe(
					Effect.flatten,
					Effect.catchTag("NoSuchElementException", () =>
						Effect.fail(new TenantNotFound({ message: "tenant not found" })),
					),
					Telemetry.span("TenantDirectory.Resolve"),
				),
			List: ({ payload }) =>
				repo.list(payload.limit, payload.cursor).pipe(Telemetry.span("TenantDirectory.List")),
		}
	}),
	{ concurrency: "unbounded", maxIdleTime: "1 minute" },
)

const TenantEntitiesLive = Layer.mergeAll(TenantEntityLive, TenantDirectoryLive)

// --- [EXPORT]

export { TenantEntitiesLive }
