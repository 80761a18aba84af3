// The tenant lifecycle as a Machine: absent → provisioning → active ⇄ suspended → deleting → deleted (deleting can
// return to suspended when a deletion is compensated). A request not allowed from the current state fails with
// InvalidTransition. Each transition is written to Postgres with its audit row, in one transaction, and announced to
// every gateway before the request is answered.
import { Machine } from "@effect/experimental"
import { PgClient } from "@effect/sql-pg"
import { Effect, Match, Option, Schedule, Schema } from "effect"
import { AuditLog, AuditOperation } from "../AuditLog.ts"
import { Cache } from "../../platform/Cache.ts"
import { RequestContext, RequestMeta } from "../../platform/RequestContext.ts"
import { orStorageUnavailable, StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { TenantId } from "../Tenancy.ts"
import { TenantModel, TenantName, TenantSettings, TenantSlug, TenantStatus } from "./TenantModel.ts"
import { InvalidTransition } from "../InvalidTransition.ts"
import {
	TenantChanged,
	TenantChangedChannel,
	TenantNotFound,
	TenantOperation,
	TenantSlugTaken,
} from "./TenantProtocol.ts"
import { TenantRepo } from "./TenantRepo.ts"

// --- [CONSTANTS]

// Which statuses each operation leaves from, where it goes, and the audit operation it records.
const Transitions: Record<
	TenantOperation,
	{ readonly from: ReadonlyArray<TenantStatus>; readonly to: TenantStatus; readonly audit: AuditOperation }
> = {
	activate: { from: ["provisioning", "suspended"], to: "active", audit: "activate" },
	suspend: { from: ["active"], to: "suspended", audit: "suspend" },
	delete: { from: ["active", "suspended"], to: "deleting", audit: "delete" },
	"complete-delete": { from: ["deleting"], to: "deleted", audit: "delete" },
	restore: { from: ["deleting"], to: "suspended", audit: "suspend" },
}

// --- [SCHEMA]

const AbsentState = Schema.TaggedStruct("Absent", {})
const PresentState = Schema.TaggedStruct("Present", { tenant: TenantModel })
const TenantState = Schema.Union(AbsentState, PresentState)
type TenantState = typeof TenantState.Type

class Provision extends Schema.TaggedRequest<Provision>()("Provision", {
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
	payload: {
		name: Schema.optional(TenantName),
		settings: Schema.optional(TenantSettings),
		meta: RequestMeta,
	},
}) {}

// --- [FUNCTIONS]

const absent: TenantState = { _tag: "Absent" }
const present = (tenant: TenantModel): TenantState => ({ _tag: "Present", tenant })

const requirePresent = (state: TenantState): Effect.Effect<TenantModel, TenantNotFound> =>
	Match.valueTags(state, {
		Absent: () => Effect.fail(new TenantNotFound({ message: "tenant not found" })),
		Present: ({ tenant }) => Effect.succeed(tenant),
	})

// Pure: the status an operation leads to from `status`, or why it cannot.
const nextStatus = (
	status: TenantStatus,
	operation: TenantOperation,
): Effect.Effect<TenantStatus, InvalidTransition> =>
	Transitions[operation].from.includes(status)
		? Effect.succeed(Transitions[operation].to)
		: Effect.fail(
				new InvalidTransition({
					message: `cannot ${operation} a tenant that is ${status}`,
					from: status,
					operation,
				}),
			)

// --- [SERVICES]

const TenantMachine = Machine.makeWith<TenantState, TenantId>()((tenantId, previous) =>
	Effect.gen(function* () {
		const repo = yield* TenantRepo
		const cache = yield* Cache
		const sql = yield* PgClient.PgClient
		const announce = (tenant: TenantModel) =>
			Schema.encode(TenantChanged)({ id: tenant.id, slug: tenant.slug }).pipe(
				Effect.flatMap((message) => cache.publish(TenantChangedChannel, message)),
				Effect.catchAll((error) =>
					Effect.logWarning("tenant change not announced; gateways expire it by TTL", error),
				),
			)
		// Write the row and its audit entry together, then tell the gateways, then answer.
		const commit = (
			write: Effect.Effect<TenantModel, StorageUnavailable>,
			audit: AuditOperation,
			meta: RequestMeta,
			details: Record<string, unknown>,
		) =>
			repo
				.withTransaction(
					write.pipe(
						Effect.tap((tenant) =>
							AuditLog.record({
								appId: tenant.id,
								actor: "admin",
								operation: audit,
								subjectType: "tenant",
								subjectId: tenant.id,
								details,
							}),
						),
					),
				)
				.pipe(
					orStorageUnavailable,
					Effect.tap(announce),
					Effect.provideService(RequestContext, meta),
					Effect.provideService(PgClient.PgClient, sql),
					Effect.map((tenant) => [tenant, present(tenant)] as const),
				)
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
		return Machine.procedures.make<TenantState>(previous ?? absent, { identifier: `Tenant/${tenantId}` }).pipe(
			Machine.procedures.add<Provision>()("Provision", ({ request, state }) =>
				Schema.is(AbsentState)(state)
					? repo
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
								Effect.flatMap((tenant) =>
									commit(Effect.succeed(tenant), "create", request.meta, { slug: tenant.slug }),
								),
							)
					: requirePresent(state).pipe(
							Effect.orDie,
							// A redelivered create (the runner died before activating) resumes where it stopped.
							Effect.filterOrFail(
								(tenant) => tenant.status === "provisioning" && tenant.slug === request.slug,
								(tenant) =>
									new InvalidTransition({
										message: `tenant already exists (${tenant.status})`,
										from: tenant.status,
										operation: "provision",
									}),
							),
							Effect.map((tenant) => [tenant, state] as const),
						),
			),
			Machine.procedures.add<Apply>()("Apply", ({ request, state }) =>
				requirePresent(state).pipe(
					Effect.flatMap((tenant) =>
						nextStatus(tenant.status, request.operation).pipe(
							Effect.flatMap((status) =>
								commit(save(tenant, { status }), Transitions[request.operation].audit, request.meta, {
									from: tenant.status,
									to: status,
								}),
							),
						),
					),
				),
			),
			Machine.procedures.add<Edit>()("Edit", ({ request, state }) =>
				requirePresent(state).pipe(
					Effect.filterOrFail(
						(tenant) => tenant.status !== "deleted" && tenant.status !== "deleting",
						(tenant) =>
							new InvalidTransition({
								message: `cannot update a tenant that is ${tenant.status}`,
								from: tenant.status,
								operation: "update",
							}),
					),
					Effect.flatMap((tenant) =>
						commit(
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
				),
			),
		)
	}).pipe(Telemetry.span("TenantMachine.initialize")),
).pipe(Machine.retry(Schedule.spaced("200 millis")))

// --- [EXPORT]

export { absent, Apply, Edit, nextStatus, present, Provision, requirePresent, TenantMachine, TenantState, Transitions }
