// Handlers of the WebhookEndpoint entity (one instance per `<tenantId>/<endpointId>`). The row in
// `webhook_endpoints` is the state; every change goes through the lifecycle table
// `pending_verification → active ⇄ failing → disabled` under one lock per instance, so the ownership challenge, which
// runs after the creation is answered, never races a request. The challenge is the only message an unverified
// endpoint ever receives: `{ type: "webhook.verification", data: { challenge } }` signed like a delivery; a 2xx whose
// JSON body echoes the challenge makes the endpoint active.
import { Entity } from "@effect/cluster"
import type { Headers } from "@effect/platform"
import { PgClient } from "@effect/sql-pg"
import { DateTime, Effect, Layer, Match, Option, Redacted, Schema } from "effect"
import { randomBytes } from "node:crypto"
import { Crypto } from "../../platform/Crypto.ts"
import { RequestContext, RequestContextHeaders } from "../../platform/RequestContext.ts"
import { orStorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { AuditLog, type AuditOperation } from "../AuditLog.ts"
import { deterministicId } from "../../platform/DeterministicId.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { InvalidTransition } from "../InvalidTransition.ts"
import { Lifecycle } from "../Lifecycle.ts"
import { TenantId, Uuid } from "../Tenancy.ts"
import { secretBinding, viewOf, WebhookStatus, type WebhookRow } from "./WebhookModel.ts"
import {
	DeliveryOutcome,
	WebhookDirectory,
	WebhookEndpoint,
	WebhookNotFound,
	WebhookOperation,
} from "./WebhookProtocol.ts"
import { WebhooksConfig } from "./WebhookConfig.ts"
import { WebhookDispatcherLive } from "./WebhookDispatcher.ts"
import { WebhookRepo } from "./WebhookRepo.ts"
import { WebhookSender } from "./WebhookSender.ts"

// --- [CONSTANTS]

const WebhookLifecycle = Lifecycle.table({
	subject: "webhook endpoint",
	states: WebhookStatus,
	operations: WebhookOperation,
	rows: {
		verify: { from: ["pending_verification"], to: "active", audit: "activate" },
		enable: { from: ["disabled", "failing"], to: "active", audit: "activate" },
		disable: { from: ["pending_verification", "active", "failing"], to: "disabled", audit: "disable" },
		fail: { from: ["active"], to: "failing", audit: null },
		recover: { from: ["failing"], to: "active", audit: null },
	},
})

const EchoedChallenge = Schema.parseJson(Schema.Struct({ challenge: Schema.String }))

// --- [FUNCTIONS]

const newSecret = () => `whsec_${randomBytes(24).toString("base64")}`

const notFound = () => new WebhookNotFound({ message: "webhook endpoint not found" })

// --- [LAYERS]

const WebhookEntityLive = WebhookEndpoint.toLayer(
	Effect.gen(function* () {
		const address = yield* Entity.CurrentAddress
		const [tenantPart = "", endpointPart = ""] = address.entityId.split("/")
		const appId = yield* Schema.decodeUnknown(TenantId)(tenantPart).pipe(Effect.orDie)
		const endpointId = yield* Schema.decodeUnknown(Uuid)(endpointPart).pipe(Effect.orDie)
		const repo = yield* WebhookRepo
		const sql = yield* PgClient.PgClient
		const crypto = yield* Crypto
		const sender = yield* WebhookSender
		const lock = yield* Effect.makeSemaphore(1)
		const config = yield* Effect.orDie(WebhooksConfig)
		const scope = yield* Effect.scope
		const current = repo
			.find(appId, endpointId)
			.pipe(Effect.flatMap(Option.match({ onNone: () => Effect.fail(notFound()), onSome: Effect.succeed })))
		// A change and its audit row (and so its `webhook.<verb>` event, AuditLog.record) commit together. `headers`
		// carry the request that asked for it; a change the platform makes on its own (a 410, a delivery) has none.
		const audited =
			(operation: AuditOperation | null, details: Record<string, unknown>, headers?: Headers.Headers) =>
			<A, E, R>(change: Effect.Effect<A, E, R>) =>
				operation === null
					? change
					: sql
							.withTransaction(
								change.pipe(
									Effect.tap(() =>
										AuditLog.record({
											appId,
											actor: "service",
											operation,
											subjectType: "webhook",
											subjectId: endpointId,
											details,
										}),
									),
								),
							)
							.pipe(
								orStorageUnavailable,
								headers === undefined
									? (self) => self
									: Effect.provideService(RequestContext, RequestContextHeaders.fromHeaders(headers)),
							)
		const apply = (row: WebhookRow, operation: WebhookOperation, headers?: Headers.Headers) =>
			Effect.flatMap(WebhookLifecycle.transition(row.status, operation), (status) =>
				repo
					.setStatus(appId, endpointId, status)
					.pipe(audited(WebhookLifecycle.rows[operation].audit, { from: row.status, to: status }, headers)),
			)
		// The secrets that sign now: the current one, and the previous one while a rotation's grace lasts.
		const secretsOf = (row: WebhookRow) =>
			Effect.gen(function* () {
				const now = yield* DateTime.now
				const open = (sealed: string) =>
					crypto.open(sealed, secretBinding(appId, endpointId)).pipe(Effect.orDie)
				const current = yield* open(row.secretEnc)
				const previous =
					row.previousSecretEnc !== null &&
					row.previousSecretUntil !== null &&
					DateTime.lessThan(now, row.previousSecretUntil)
						? [yield* open(row.previousSecretEnc)]
						: []
				return [current, ...previous]
			})
		// Sends a fresh challenge; an echo activates the endpoint (if it is still waiting for one).
		const challenge = (row: WebhookRow) =>
			Effect.gen(function* () {
				const value = randomBytes(24).toString("base64url")
				const secrets = yield* secretsOf(row)
				const messageId = `msg_verify_${randomBytes(12).toString("hex")}`
				const answer = yield* sender
					.send({
						url: row.url,
						secrets,
						messageId,
						type: "webhook.verification",
						data: { challenge: value },
					})
					.pipe(
						Effect.catchTag("DestinationNotAllowed", (refused) =>
							Effect.succeed({
								statusCode: null,
								body: new Uint8Array(),
								durationMs: 0,
								error: refused.message,
							}),
						),
					)
				const echoed =
					answer.statusCode !== null &&
					answer.statusCode >= 200 &&
					answer.statusCode < 300 &&
					Option.exists(
						Schema.decodeUnknownOption(EchoedChallenge)(new TextDecoder().decode(answer.body)),
						(body) => body.challenge === value,
					)
				yield* repo.recordAttempt({
					appId,
					endpointId,
					webhookId: messageId,
					eventType: "webhook.verification",
					eventSeq: null,
					attempt: 1,
					statusCode: answer.statusCode,
					durationMs: answer.durationMs,
					error: echoed ? null : (answer.error ?? "the answer did not echo the challenge"),
				})
				yield* echoed
					? lock.withPermits(1)(
							current.pipe(
								Effect.flatMap((latest) =>
									latest.status === "pending_verification" ? apply(latest, "verify") : Effect.void,
								),
							),
						)
					: Effect.void
			}).pipe(
				Effect.catchAllCause((cause) => Effect.logWarning("webhook ownership challenge not completed", cause)),
				Telemetry.span("WebhookEndpoint.challenge", { appId, endpointId }),
			)
		const startChallenge = (row: WebhookRow) => Effect.asVoid(Effect.forkIn(challenge(row), scope))
		// After a failed attempt: `failing`, or `disabled` once it has failed without a success for WEBHOOKS_DISABLE_AFTER.
		const failed = Effect.gen(function* () {
			const failing = yield* repo.failed(appId, endpointId)
			const now = yield* DateTime.now
			const tooLong =
				failing.failingSince !== null &&
				DateTime.greaterThanOrEqualTo(now, DateTime.addDuration(failing.failingSince, config.disableAfter))
			yield* tooLong
				? repo.setStatus(appId, endpointId, "disabled")
				: failing.status === "active"
					? repo.setStatus(appId, endpointId, "failing")
					: Effect.void
		})
		// One attempt of one event: signed with every live secret, logged, and the endpoint moved by its answer.
		// The circuit is open after WEBHOOKS_CIRCUIT_THRESHOLD consecutive failures until WEBHOOKS_CIRCUIT_COOLDOWN has
		// passed since the last one; then the next attempt is the probe (half-open): its failure opens it again, its
		// success closes it. Attempts are serialised by the lock, so there is one probe at a time.
		const circuitOpen = (row: WebhookRow) =>
			Effect.map(
				DateTime.now,
				(now) =>
					row.consecutiveFailures >= config.circuitThreshold &&
					row.lastFailureAt !== null &&
					DateTime.lessThan(now, DateTime.addDuration(row.lastFailureAt, config.circuitCooldown)),
			)
		const deliver = (
			row: WebhookRow,
			event: { readonly type: string; readonly payload: unknown },
			payload: { readonly eventSeq: number; readonly attempt: number },
		) => Effect.flatMap(circuitOpen(row), (open) => (open ? refuse(event, payload) : send(row, event, payload)))
		// An attempt while the circuit is open: logged, nothing sent, counted as a failure of this delivery only.
		const refuse = (
			event: { readonly type: string },
			payload: { readonly eventSeq: number; readonly attempt: number },
		) =>
			repo
				.recordAttempt({
					appId,
					endpointId,
					webhookId: messageIdOf(payload.eventSeq),
					eventType: event.type,
					eventSeq: payload.eventSeq,
					attempt: payload.attempt,
					statusCode: null,
					durationMs: 0,
					error: "circuit open: the endpoint failed repeatedly; not sent",
				})
				.pipe(
					Effect.as<typeof DeliveryOutcome.Type>({
						outcome: "failed",
						statusCode: null,
						error: "circuit open",
					}),
				)
		const messageIdOf = (eventSeq: number) =>
			`msg_${deterministicId("webhook", appId, endpointId, String(eventSeq)).replaceAll("-", "")}`
		const send = (
			row: WebhookRow,
			event: { readonly type: string; readonly payload: unknown },
			payload: { readonly eventSeq: number; readonly attempt: number },
		) =>
			Effect.gen(function* () {
				const messageId = messageIdOf(payload.eventSeq)
				const answer = yield* sender
					.send({
						url: row.url,
						secrets: yield* secretsOf(row),
						messageId,
						type: event.type,
						data: event.payload,
					})
					.pipe(
						Effect.catchTag("DestinationNotAllowed", (refused) =>
							Effect.succeed({
								statusCode: null,
								body: new Uint8Array(),
								durationMs: 0,
								error: refused.message,
							}),
						),
					)
				const status = answer.statusCode
				const delivered = status !== null && status >= 200 && status < 300
				const error = delivered ? null : (answer.error ?? `${status} from the endpoint`)
				yield* repo.recordAttempt({
					appId,
					endpointId,
					webhookId: messageId,
					eventType: event.type,
					eventSeq: payload.eventSeq,
					attempt: payload.attempt,
					statusCode: status,
					durationMs: answer.durationMs,
					error,
				})
				const outcome = delivered
					? ("delivered" as const)
					: status === 410
						? ("gone" as const)
						: ("failed" as const)
				yield* Match.value(outcome).pipe(
					Match.when("delivered", () => repo.setStatus(appId, endpointId, "active")),
					Match.when("gone", () =>
						repo
							.setStatus(appId, endpointId, "disabled")
							.pipe(audited("disable", { reason: "the endpoint answered 410 Gone" })),
					),
					Match.orElse(() => failed),
				)
				return { outcome, statusCode: status, error }
			})
		return {
			Create: ({ payload, headers }) =>
				lock
					.withPermits(1)(
						repo.find(appId, endpointId).pipe(
							Effect.flatMap(
								Option.match({
									// A repeated creation (same Idempotency-Key) answers the same endpoint and secret.
									onSome: (existing) =>
										Effect.map(secretsOf(existing), (secrets) => ({
											...viewOf(existing),
											secret: secrets[0]!,
										})),
									onNone: () =>
										Effect.gen(function* () {
											const secret = Redacted.make(newSecret())
											const sealed = yield* crypto.seal(secret, secretBinding(appId, endpointId))
											const row = yield* repo
												.insert({
													appId,
													id: endpointId,
													url: payload.url,
													eventTypes: payload.eventTypes,
													description: payload.description,
													secretEnc: sealed,
												})
												.pipe(
													audited(
														"create",
														{ url: payload.url, eventTypes: payload.eventTypes },
														headers,
													),
												)
											yield* startChallenge(row)
											return { ...viewOf(row), secret }
										}),
								}),
							),
						),
					)
					.pipe(Telemetry.span("WebhookEndpoint.Create", { appId, endpointId })),
			Get: () => current.pipe(Effect.map(viewOf), Telemetry.span("WebhookEndpoint.Get", { appId, endpointId })),
			Update: ({ payload, headers }) =>
				lock
					.withPermits(1)(
						current.pipe(
							Effect.flatMap((before) =>
								repo
									.edit({
										appId,
										id: endpointId,
										url: payload.url ?? before.url,
										eventTypes: payload.eventTypes ?? before.eventTypes,
										description:
											payload.description === undefined
												? before.description
												: payload.description,
									})
									.pipe(
										// A new URL (whatever the state, disabled included) must prove ownership again
										// before it receives anything: back to pending_verification, with a challenge.
										Effect.flatMap((row) =>
											payload.url === undefined || payload.url === before.url
												? Effect.succeed(row)
												: repo
														.setStatus(appId, endpointId, "pending_verification")
														.pipe(Effect.tap(startChallenge)),
										),
										audited(
											"update",
											{
												urlChanged: payload.url !== undefined && payload.url !== before.url,
												eventTypes: payload.eventTypes ?? before.eventTypes,
											},
											headers,
										),
									),
							),
							Effect.map(viewOf),
						),
					)
					.pipe(Telemetry.span("WebhookEndpoint.Update", { appId, endpointId })),
			Transition: ({ payload, headers }) =>
				lock
					.withPermits(1)(
						current.pipe(
							Effect.flatMap((row) => apply(row, payload.operation, headers)),
							Effect.map(viewOf),
						),
					)
					.pipe(Telemetry.span("WebhookEndpoint.Transition", { appId, endpointId })),
			Verify: () =>
				lock
					.withPermits(1)(
						current.pipe(
							Effect.filterOrFail(
								(row) => row.status === "pending_verification",
								(row) =>
									new InvalidTransition({
										message: `cannot verify a webhook endpoint that is ${row.status}`,
										from: row.status,
										operation: "verify",
									}),
							),
							Effect.tap(startChallenge),
							Effect.map(viewOf),
						),
					)
					.pipe(Telemetry.span("WebhookEndpoint.Verify", { appId, endpointId })),
			RotateSecret: ({ payload, headers }) =>
				lock
					.withPermits(1)(
						current.pipe(
							Effect.zipRight(
								Effect.gen(function* () {
									const secret = Redacted.make(newSecret())
									const sealed = yield* crypto.seal(secret, secretBinding(appId, endpointId))
									const row = yield* repo
										.rotate(appId, endpointId, sealed, payload.gracePeriodSeconds)
										.pipe(
											audited(
												"rotate",
												{ gracePeriodSeconds: payload.gracePeriodSeconds },
												headers,
											),
										)
									return { ...viewOf(row), secret }
								}),
							),
						),
					)
					.pipe(Telemetry.span("WebhookEndpoint.RotateSecret", { appId, endpointId })),
			Deliver: ({ payload }) =>
				lock
					.withPermits(1)(
						Effect.all([repo.find(appId, endpointId), repo.event(appId, payload.eventSeq)]).pipe(
							Effect.flatMap(([found, event]) =>
								Option.match(
									Option.all({
										row: Option.filter(
											found,
											(row) => row.status === "active" || row.status === "failing",
										),
										event,
									}),
									{
										onNone: () =>
											Effect.succeed<typeof DeliveryOutcome.Type>({
												outcome: "inactive",
												statusCode: null,
												error: null,
											}),
										onSome: ({ row, event }) => deliver(row, event, payload),
									},
								),
							),
						),
					)
					.pipe(Telemetry.span("WebhookEndpoint.Deliver", { appId, endpointId })),
			Replay: ({ payload }) =>
				lock
					.withPermits(1)(
						current.pipe(
							Effect.tap(() =>
								repo.replay(
									appId,
									endpointId,
									"after" in payload.from
										? { after: payload.from.after }
										: { since: DateTime.toDate(payload.from.since) },
								),
							),
							Effect.map(viewOf),
						),
					)
					.pipe(Telemetry.span("WebhookEndpoint.Replay", { appId, endpointId })),
			Delete: ({ headers }) =>
				lock
					.withPermits(1)(
						current.pipe(
							Effect.tap(() => repo.remove(appId, endpointId).pipe(audited("delete", {}, headers))),
							Effect.map(viewOf),
						),
					)
					.pipe(Telemetry.span("WebhookEndpoint.Delete", { appId, endpointId })),
			Attempts: ({ payload }) =>
				current.pipe(
					Effect.zipRight(repo.attempts(appId, endpointId, payload.limit + 1, payload.cursor)),
					Effect.map((rows) => ({
						items: rows.slice(0, payload.limit).map(({ id: _id, ...attempt }) => attempt),
						nextCursor: rows.length > payload.limit ? String(rows[payload.limit - 1]?.id ?? "") : null,
					})),
					Telemetry.span("WebhookEndpoint.Attempts", { appId, endpointId }),
				),
		}
	}),
	{ maxIdleTime: "5 minutes" },
)

const WebhookDirectoryLive = WebhookDirectory.toLayer(
	Effect.gen(function* () {
		const address = yield* Entity.CurrentAddress
		const appId = yield* Schema.decodeUnknown(TenantId)(address.entityId).pipe(Effect.orDie)
		const repo = yield* WebhookRepo
		return {
			List: ({ payload }) =>
				repo.list(appId, payload.limit, payload.cursor).pipe(
					Effect.map((page) => ({ items: page.items.map(viewOf), nextCursor: page.nextCursor })),
					Telemetry.span("WebhookDirectory.List", { appId }),
				),
		}
	}),
	{ concurrency: "unbounded", maxIdleTime: "1 minute" },
)

const WebhookEntitiesLive = Layer.mergeAll(WebhookEntityLive, WebhookDirectoryLive, WebhookDispatcherLive).pipe(
	Layer.provide(Layer.merge(WebhookRepo.Default, WebhookSender.Default)),
)

// --- [EXPORT]

export { WebhookEntitiesLive, WebhookLifecycle }
