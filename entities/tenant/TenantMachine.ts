// The tenant lifecycle as a Machine: absent → provisioning → active ⇄ suspended → deleting → deleted (deleting can
// return to suspended when a deletion is compensated). A request not allowed from the current state fails with
// InvalidTransition. Each transition is written to Postgres with its audit row, in one transaction, and announced to
// every gateway before the request is answered.
import { Machine } from "@effect/experimental"
import { Effect, Match, Option, Schema } from "effect"
import { Cache } from "../../platform/Cache.ts"
import { RequestMeta } from "../../platform/RequestContext.ts"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import type { AuditOperation } from "../AuditLog.ts"
import { InvalidTransition } from "../InvalidTransition.ts"
import { Lifecycle } from "../Lifecycle.ts"
import { TenantId } from "../Tenancy.ts"
import { TenantModel, TenantName, TenantSettings, TenantSlug, TenantStatus } from "./TenantModel.ts"
import {
	TenantChanged,
	TenantChangedChannel,
	TenantNotFound,
	TenantOperation,
	TenantSlugTaken,
} from "./TenantProtocol.ts"
import { TenantRepo } from "./TenantRepo.ts"

// --- [CONSTANTS]

const TenantLifecycle = Lifecycle.table({
	subject: "tenant",
	states: TenantStatus,
	operations: TenantOperation,
	rows: {
		activate: { from: ["provisioning", "suspended"], to: "active", audit: "activate" },
		suspend: { from: ["active"], to: "suspended", audit: "suspend" },
		delete: { from: ["active", "suspended"], to: "deleting", audit: "delete" },
		"complete-delete": { from: ["deleting"], to: "deleted", audit: "delete" },
		restore: { from: ["deleting"], to: "suspended", audit: "suspend" },
	},
})

// --- [SCHEMA]

const AbsentState = Schema.TaggedStruct("Absent", {})
const PresentState = Schema.TaggedStruct("Present", { tenant: TenantModel })
const TenantState = Schema.Union(AbsentState, PresentState)
type TenantState = typeof TenantState.Type

// Stores the tenant and activates it; a redelivered create (the runner died before activating) resumes there.
class Create extends Schema.TaggedRequest<Create>()("Create", {
	failure: Schema.Union(TenantSlugTaken, InvalidTransition, StorageUnavailable),
	success: TenantModel,
	payload: { slug: TenantSlug, name: TenantName, settings: TenantSettings, meta: RequestMeta },
}) {}

class Apply extends Schema.TaggedRequest<Apply>()("Apply", {
	failure: Schema.Union(TenantNotFound, InvalidTransition, StorageUnavailable),
	success: TenantModel,
	payload: { operation: TenantOperation, meta: RequestMeta },
}) {}

class Edit extends Schema.TaggedRequest<Edit>()("Edit", {
	failure: Schema.Union(TenantNotFound, InvalidTransition, StorageUnavailable),
	success: TenantModel,
	payload: { name: Schema.optional(TenantName), settings: Schema.optional(TenantSettings), meta: RequestMeta },
}) {}

// --- [FUNCTIONS]

const absent: TenantState = { _tag: "Absent" }
const present = (tenant: TenantModel): TenantState => ({ _tag: "Present", tenant })

const requirePresent = (state: TenantState): Effect.Effect<TenantModel, TenantNotFound> =>
	Match.valueTags(state, {
		Absent: () => Effect.fail(new TenantNotFound({ message: "tenant not found" })),
		Present: ({ tenant }) => Effect.succeed(tenant),
	})

// Refuses `operation` on a tenant that is deleting or deleted.
const requireLive = (tenant: TenantModel, operation: string) =>
	tenant.status === "deleting" || tenant.status === "deleted"
		? Effect.fail(
				new InvalidTransition({
					message: `cannot ${operation} a tenant that is ${tenant.status}`,
					from: tenant.status,
					operation,
				}),
			)
		: Effect.succeed(tenant)

// --- [SERVICES]

const TenantMachine = Lifecycle.machine<TenantState, TenantId>({
	name: "Tenant",
	initial: absent,
	key: String,
})((tenantId, empty) =>
	Effect.gen(function* () {
		const repo = yield* TenantRepo
		const cache = yield* Cache
		const commit = yield* Lifecycle.committer
		const announce = (tenant: TenantModel) =>
			Schema.encode(TenantChanged)({ id: tenant.id, slug: tenant.slug }).pipe(
				Effect.flatMap((message) => cache.publish(TenantChangedChannel, message)),
				Effect.catchAll((error) =>
					Effect.logWarning("tenant change not announced; gateways expire it by TTL", error),
				),
			)
		const store = <E>(
			write: Effect.Effect<TenantModel, E | StorageUnavailable>,
			operation: AuditOperation,
			meta: RequestMeta,
			details: Record<string, unknown>,
		) =>
			commit({
				write,
				audit: (tenant) =>
					Option.some({
						appId: tenant.id,
						actor: "admin",
						operation,
						subjectType: "tenant",
						subjectId: tenant.id,
					}),
				details: () => details,
				meta,
				announce,
			})
		const save = (tenant: TenantModel, changes: Partial<Pick<TenantModel, "name" | "settings" | "status">>) =>
			repo.update(
				TenantModel.update.make({
					id: tenant.id,
					slug: tenant.slug,
					name: changes.name ?? tenant.name,
					status: changes.status ?? tenant.status,
					settings: changes.settings ?? tenant.settings,
				}),
			)
		const apply = (tenant: TenantModel, operation: TenantOperation, meta: RequestMeta) =>
			TenantLifecycle.transition(tenant.status, operation).pipe(
				Effect.flatMap((status) =>
					store(save(tenant, { status }), TenantLifecycle.rows[operation].audit, meta, {
						from: tenant.status,
						to: status,
					}),
				),
			)
		return empty.pipe(
			Machine.procedures.add<Create>()("Create", ({ request, state }) =>
				Match.valueTags(state, {
					Absent: () =>
						store(
							repo
								.insertIfSlugFree(
									TenantModel.insert.make({
										id: tenantId,
										slug: request.slug,
										name: request.name,
										status: "provisioning",
										settings: request.settings,
									}),
								)
								.pipe(
									Effect.flatMap(
										Option.match({
											onNone: () =>
												Effect.fail(
													new TenantSlugTaken({
														message: `slug '${request.slug}' is taken`,
														slug: request.slug,
													}),
												),
											onSome: Effect.succeed,
										}),
									),
								),
							"create",
							request.meta,
							{ slug: request.slug },
						),
					Present: ({ tenant }) =>
						Effect.filterOrFail(
							Effect.succeed(tenant),
							(stored) => stored.status === "provisioning" && stored.slug === request.slug,
							(stored) =>
								new InvalidTransition({
									message: `tenant already exists (${stored.status})`,
									from: stored.status,
									operation: "provision",
								}),
						),
				}).pipe(
					Effect.flatMap((tenant) => apply(tenant, "activate", request.meta)),
					Effect.map((tenant) => [tenant, present(tenant)] as const),
				),
			),
			Machine.procedures.add<Apply>()("Apply", ({ request, state }) =>
				requirePresent(state).pipe(
					Effect.flatMap((tenant) => apply(tenant, request.operation, request.meta)),
					Effect.map((tenant) => [tenant, present(tenant)] as const),
				),
			),
			Machine.procedures.add<Edit>()("Edit", ({ request, state }) =>
				requirePresent(state).pipe(
					Effect.flatMap((tenant) => requireLive(tenant, "update")),
					Effect.flatMap((tenant) =>
						store(
							save(tenant, {
								name: request.name ?? tenant.name,
								settings: { ...tenant.settings, ...request.settings },
							}),
							"update",
							request.meta,
							{
								fields: [
									request.name === undefined ? [] : ["name"],
									request.settings === undefined ? [] : ["settings"],
								].flat(),
							},
						),
					),
					Effect.map((tenant) => [tenant, present(tenant)] as const),
				),
			),
		)
	}),
)

// --- [EXPORT]

export {
	absent,
	Apply,
	Create,
	Edit,
	present,
	requireLive,
	requirePresent,
	TenantLifecycle,
	TenantMachine,
	TenantState,
}
