// Handlers of DlqDirectory and DlqEntry. Retrying asks the job's entity for run number `failures` (runs count from 0:
// a new, linked workflow execution; asking again before that run fails is the same run) and marks the entry retrying;
// every retry and drop writes an audit row.
import { Entity } from "@effect/cluster"
import { Effect, Layer, Option, Schema } from "effect"
import { AuditLog } from "../AuditLog.ts"
import { RequestContextHeaders } from "../../platform/RequestContext.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { DlqDirectory, DlqEntry, DlqEntryNotFound, toDlqEntryView } from "./DlqProtocol.ts"
import { JobEntity, RetryJob } from "./JobProtocol.ts"
import { JobRepo } from "./JobRepo.ts"
import { entityId, TenantId } from "../Tenancy.ts"

// --- [LAYERS]

const DlqDirectoryLive = DlqDirectory.toLayer(
	Effect.gen(function* () {
		const repo = yield* JobRepo
		return {
			List: ({ payload }) =>
				repo
					.listDlq({
						appId: payload.tenantId === null ? null : TenantId.make(payload.tenantId),
						reason: payload.reason,
						status: payload.status,
						type: payload.type,
						limit: payload.limit,
						cursor: payload.cursor,
					})
					.pipe(
						Effect.map((page) => ({ items: page.items.map(toDlqEntryView), nextCursor: page.nextCursor })),
						Telemetry.span("DlqDirectory.List"),
					),
		}
	}),
	{ concurrency: "unbounded", maxIdleTime: "1 minute" },
)

const DlqEntryLive = DlqEntry.toLayer(
	Effect.gen(function* () {
		const repo = yield* JobRepo
		const jobs = yield* JobEntity.client
		const address = yield* Entity.CurrentAddress
		const id = yield* Schema.decodeUnknown(Schema.UUID)(address.entityId).pipe(Effect.orDie)
		const entry = repo.findDlq(id).pipe(
			Effect.flatMap(
				Option.match({
					onNone: () => Effect.fail(new DlqEntryNotFound({ message: "no such DLQ entry" })),
					onSome: Effect.succeed,
				}),
			),
		)
		const audited = (
			operation: "retry" | "drop",
			appId: TenantId,
			headers: Parameters<typeof RequestContextHeaders.fromHeaders>[0],
		) =>
			AuditLog.recordFor(RequestContextHeaders.fromHeaders(headers), {
				appId,
				actor: "admin",
				operation,
				subjectType: "dlq",
				subjectId: id,
			})
		return {
			Retry: (request) =>
				Effect.gen(function* () {
					const current = yield* entry
					const job = yield* jobs(entityId(current.appId, current.jobId)).Retry(
						new RetryJob({ run: current.failures }),
					)
					const updated = yield* repo.markDlqRetried(id)
					yield* audited("retry", current.appId, request.headers)
					return { entry: toDlqEntryView(updated), job }
				}).pipe(
					Effect.catchTags({
						MailboxFull: Effect.die,
						AlreadyProcessingMessage: Effect.die,
						PersistenceError: Effect.die,
					}),
					Telemetry.span("DlqEntry.Retry"),
				),
			Drop: (request) =>
				Effect.gen(function* () {
					const dropped = yield* repo.deleteDlq(id).pipe(
						Effect.flatMap(
							Option.match({
								onNone: () => Effect.fail(new DlqEntryNotFound({ message: "no such DLQ entry" })),
								onSome: Effect.succeed,
							}),
						),
					)
					yield* audited("drop", dropped.appId, request.headers)
					return toDlqEntryView(dropped)
				}).pipe(Telemetry.span("DlqEntry.Drop")),
		}
	}),
	{ maxIdleTime: "1 minute" },
)

const DlqEntitiesLive = Layer.mergeAll(DlqDirectoryLive, DlqEntryLive)

// --- [EXPORT]

export { DlqEntitiesLive }
