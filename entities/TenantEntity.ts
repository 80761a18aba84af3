// Handlers of the Tenant entity (one instance per tenantId, single-threaded) and of the TenantDirectory reads. A
// Tenant instance restores its Machine from `apps` when it activates, so passivation or failover loses nothing.
import { Entity } from "@effect/cluster"
import { Machine } from "@effect/experimental"
import { Effect, Layer, Option, Schema } from "effect"
import { RequestContextHeaders } from "../platform/RequestContext.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { TenantId } from "./Tenancy.ts"
import { absent, Apply, Edit, present, Provision, requirePresent, TenantMachine } from "./TenantMachine.ts"
import { Tenant, TenantDirectory, TenantNotFound } from "./TenantProtocol.ts"
import { TenantRepo } from "./TenantRepo.ts"

// --- [LAYERS]

const TenantEntityLive = Tenant.toLayer(
	Effect.gen(function* () {
		const address = yield* Entity.CurrentAddress
		const tenantId = yield* Schema.decodeUnknown(TenantId)(address.entityId).pipe(Effect.orDie)
		const repo = yield* TenantRepo
		const stored = yield* repo.findById(tenantId)
		const actor = yield* Machine.boot(TenantMachine, tenantId, {
			previousState: Option.match(stored, { onNone: () => absent, onSome: present }),
		})
		const metaOf = (request: { readonly headers: Parameters<typeof RequestContextHeaders.fromHeaders>[0] }) =>
			RequestContextHeaders.fromHeaders(request.headers)
		return {
			Create: (request) =>
				actor
					.send(
						new Provision({
							slug: request.payload.slug,
							name: request.payload.name,
							settings: request.payload.settings,
							meta: metaOf(request),
						}),
					)
					.pipe(
						Effect.zipRight(actor.send(new Apply({ operation: "activate", meta: metaOf(request) }))),
						// Provision just stored the row: not finding it is a bug, not an answer.
						Effect.catchTag("TenantNotFound", Effect.die),
						Telemetry.span("Tenant.Create", { tenantId }),
					),
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
