import { describe, expect, it, layer } from "@effect/vitest"
import { Machine } from "@effect/experimental"
import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Schema } from "effect"
import { TenantId } from "../../entities/Tenancy.ts"
import { TenantModel, TenantStatuses } from "../../entities/tenant/TenantModel.ts"
import {
	absent,
	Apply,
	Create,
	Edit,
	present,
	TenantLifecycle,
	TenantMachine,
} from "../../entities/tenant/TenantMachine.ts"
import { TenantOperation } from "../../entities/tenant/TenantProtocol.ts"
import { TenantRepo } from "../../entities/tenant/TenantRepo.ts"
import { CacheMemory } from "../../platform/MemoryCache.ts"
import { TestSqlLive } from "../fixtures/TestSql.ts"

const TestLive = Layer.mergeAll(TenantRepo.Default, CacheMemory).pipe(Layer.provideMerge(TestSqlLive))

const meta = (requestId: string) => ({ requestId, ip: "203.0.113.9", userAgent: "machine-test" })

// A stored tenant in `status`, and a running machine restored from it.
const seeded = (status: (typeof TenantStatuses)[number]) =>
	Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const id = Schema.decodeSync(TenantId)(crypto.randomUUID())
		const slug = `t-${id.slice(0, 8)}`
		yield* sql`INSERT INTO apps (id, slug, name, status) VALUES (${id}, ${slug}, 'Seeded', ${status})`
		const repo = yield* TenantRepo
		const stored = yield* Effect.flatten(repo.findById(id))
		const actor = yield* Machine.boot(TenantMachine, id, { previousState: present(stored) })
		return { id, actor, sql }
	})

const Transitions = TenantLifecycle.rows

const statusOf = (sql: PgClient.PgClient, id: string) =>
	sql<{ status: string }>`SELECT status FROM apps WHERE id = ${id}`.pipe(Effect.map((rows) => rows[0]?.status))

describe("TenantMachine", () => {
	it.effect("the transition table is exactly the lifecycle of DESIGN.md", () =>
		Effect.sync(() =>
			expect(Transitions).toEqual({
				activate: { from: ["provisioning", "suspended"], to: "active", audit: "activate" },
				suspend: { from: ["active"], to: "suspended", audit: "suspend" },
				delete: { from: ["active", "suspended"], to: "deleting", audit: "delete" },
				"complete-delete": { from: ["deleting"], to: "deleted", audit: "delete" },
				restore: { from: ["deleting"], to: "suspended", audit: "suspend" },
			}),
		),
	)

	layer(TestLive, { excludeTestServices: true })("against Postgres", (it) => {
		for (const status of TenantStatuses) {
			for (const operation of TenantOperation.literals) {
				const allowed = (Transitions[operation].from as ReadonlyArray<string>).includes(status)
				it.scoped(
					`${status} × ${operation} → ${allowed ? Transitions[operation].to : "InvalidTransition"}`,
					() =>
						Effect.gen(function* () {
							const { id, actor, sql } = yield* seeded(status)
							const requestId = `req-${crypto.randomUUID()}`
							const exit = yield* Effect.exit(actor.send(new Apply({ operation, meta: meta(requestId) })))
							const stored = yield* statusOf(sql, id)
							const audits = yield* sql<{ operation: string; requestId: string; ipAddress: string }>`
							SELECT operation, request_id, ip_address FROM audit_logs WHERE subject_id = ${id}`
							expect(Exit.isSuccess(exit)).toBe(allowed)
							expect(stored).toBe(allowed ? Transitions[operation].to : status)
							expect(audits).toEqual(
								allowed
									? [{ operation: Transitions[operation].audit, requestId, ipAddress: "203.0.113.9" }]
									: [],
							)
							expect(
								yield* Effect.flip(TenantLifecycle.transition(status, operation)).pipe(
									Effect.map((error) => error._tag),
									Effect.orElseSucceed(() => "allowed"),
								),
							).toBe(allowed ? "allowed" : "InvalidTransition")
							const state = yield* actor.get
							expect(state).toEqual(
								allowed
									? {
											_tag: "Present",
											tenant: expect.objectContaining({ status: Transitions[operation].to }),
										}
									: { _tag: "Present", tenant: expect.objectContaining({ status }) },
							)
						}),
				)
			}
		}

		it.scoped("absent: Create stores the tenant and activates it; every other request is TenantNotFound", () =>
			Effect.gen(function* () {
				const sql = yield* PgClient.PgClient
				const id = Schema.decodeSync(TenantId)(crypto.randomUUID())
				const actor = yield* Machine.boot(TenantMachine, id, { previousState: absent })
				const notFound = yield* Effect.flip(actor.send(new Apply({ operation: "activate", meta: meta("r1") })))
				const editNotFound = yield* Effect.flip(actor.send(new Edit({ name: "x", meta: meta("r2") })))
				const create = new Create({
					slug: Schema.decodeSync(TenantModel.fields.slug)(`p-${id.slice(0, 8)}`),
					name: "P",
					settings: {},
					meta: meta("r3"),
				})
				const created = yield* actor.send(create)
				const again = yield* Effect.flip(actor.send(create))
				const audits = yield* sql<{ operation: string }>`
					SELECT operation FROM audit_logs WHERE subject_id = ${id} ORDER BY created_at, id`
				expect(notFound._tag).toBe("TenantNotFound")
				expect(editNotFound._tag).toBe("TenantNotFound")
				expect(created.status).toBe("active")
				expect(again._tag).toBe("InvalidTransition")
				expect(yield* statusOf(sql, id)).toBe("active")
				expect(audits.map((row) => row.operation).sort()).toEqual(["activate", "create"])
			}),
		)

		it.scoped("a create that stopped after storing the tenant resumes at its activation", () =>
			Effect.gen(function* () {
				const { id, actor, sql } = yield* seeded("provisioning")
				const [row] = yield* sql<{ slug: string }>`SELECT slug FROM apps WHERE id = ${id}`
				const created = yield* actor.send(
					new Create({
						slug: Schema.decodeSync(TenantModel.fields.slug)(row?.slug ?? ""),
						name: "Seeded",
						settings: {},
						meta: meta("r7"),
					}),
				)
				expect(created.status).toBe("active")
				expect(yield* statusOf(sql, id)).toBe("active")
			}),
		)

		it.scoped("Create with a taken slug fails with TenantSlugTaken and stores nothing", () =>
			Effect.gen(function* () {
				const { sql } = yield* seeded("active")
				const taken = yield* sql<{ slug: string }>`SELECT slug FROM apps LIMIT 1`
				const id = Schema.decodeSync(TenantId)(crypto.randomUUID())
				const actor = yield* Machine.boot(TenantMachine, id, { previousState: absent })
				const error = yield* Effect.flip(
					actor.send(
						new Create({
							slug: Schema.decodeSync(TenantModel.fields.slug)(taken[0]?.slug ?? ""),
							name: "Dup",
							settings: {},
							meta: meta("r4"),
						}),
					),
				)
				expect(error._tag).toBe("TenantSlugTaken")
				expect(yield* statusOf(sql, id)).toBeUndefined()
				expect(yield* actor.get).toEqual(absent)
			}),
		)

		it.scoped("Edit merges settings and renames; refused on a deleted tenant", () =>
			Effect.gen(function* () {
				const active = yield* seeded("active")
				const edited = yield* active.actor.send(
					new Edit({ name: "Renamed", settings: { maxSessionsPerUser: 3 }, meta: meta("r5") }),
				)
				const deleted = yield* seeded("deleted")
				const refused = yield* Effect.flip(deleted.actor.send(new Edit({ name: "Nope", meta: meta("r6") })))
				expect(edited.name).toBe("Renamed")
				expect(edited.settings).toEqual({ maxSessionsPerUser: 3 })
				expect(refused._tag).toBe("InvalidTransition")
			}),
		)
	})
})
