// Handlers of /v1/webhooks. The destination policy of `http.call` is checked here before the endpoint is handed to
// its WebhookEndpoint entity `<tenantId>/<endpointId>` (and again by the runner before every connection). A creation
// repeated with the same Idempotency-Key reaches the same entity and answers the same endpoint.
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Redacted, Schema } from "effect"
import { entityId, Uuid } from "../../entities/Tenancy.ts"
import { WebhookDirectory, WebhookEndpoint, WebhookNotFound } from "../../entities/webhook/WebhookProtocol.ts"
import { deterministicId } from "../../platform/DeterministicId.ts"
import { Destination } from "../../workflows/Destination.ts"
import { Api } from "../Api.ts"
import { callEntity } from "../EntityCall.ts"
import { entityKey } from "../IdempotencyKey.ts"
import { CurrentPrincipal } from "../identity/PrincipalMiddleware.ts"
import { Forbidden } from "../jobs/JobsApi.ts"
import { CurrentTenant } from "../tenant/TenantMiddleware.ts"

// --- [FUNCTIONS]

const notFound = () => new WebhookNotFound({ message: "webhook endpoint not found" })

// The tenant's backend manages its webhooks: the service principal or an API key.
const backend = Effect.flatMap(CurrentPrincipal, (caller) =>
	caller.kind === "service" || caller.principal.kind === "apiKey"
		? Effect.void
		: Effect.fail(new Forbidden({ message: "webhooks are managed with an API key or the service token" })),
)

// --- [LAYERS]

const WebhooksHttpLive = HttpApiBuilder.group(Api, "webhooks", (handlers) =>
	Effect.gen(function* () {
		const endpoints = yield* WebhookEndpoint.client
		const directory = yield* WebhookDirectory.client
		const allowedHosts = yield* Destination.config
		const endpointOf = (id: string) =>
			Effect.gen(function* () {
				yield* backend
				const tenant = yield* CurrentTenant
				const endpointId = yield* Schema.decodeUnknown(Uuid)(id).pipe(Effect.mapError(notFound))
				return endpoints(entityId(tenant.id, endpointId))
			})
		return handlers
			.handle("create", ({ payload }) =>
				Effect.gen(function* () {
					yield* backend
					const tenant = yield* CurrentTenant
					yield* Destination.checkUrl(payload.url, allowedHosts)
					const key = yield* entityKey
					const endpointId = deterministicId("webhook", tenant.id, "idempotency", key)
					const created = yield* callEntity(
						endpoints(entityId(tenant.id, endpointId)).Create({
							url: payload.url,
							eventTypes: payload.eventTypes,
							description: payload.description ?? null,
						}),
					).pipe(Effect.catchTag("InvalidTransition", Effect.die))
					return { ...created, secret: Redacted.value(created.secret) }
				}),
			)
			.handle("list", ({ urlParams }) =>
				Effect.gen(function* () {
					yield* backend
					const tenant = yield* CurrentTenant
					return yield* callEntity(
						directory(tenant.id).List({ limit: urlParams.limit, cursor: urlParams.cursor ?? null }),
					)
				}),
			)
			.handle("get", ({ path }) => Effect.flatMap(endpointOf(path.id), (endpoint) => callEntity(endpoint.Get())))
			.handle("update", ({ path, payload }) =>
				Effect.gen(function* () {
					const endpoint = yield* endpointOf(path.id)
					yield* payload.url === undefined ? Effect.void : Destination.checkUrl(payload.url, allowedHosts)
					return yield* callEntity(
						endpoint.Update({
							...(payload.url === undefined ? {} : { url: payload.url }),
							...(payload.eventTypes === undefined ? {} : { eventTypes: payload.eventTypes }),
							...(payload.description === undefined ? {} : { description: payload.description }),
						}),
					)
				}),
			)
			.handle("delete", ({ path }) =>
				Effect.flatMap(endpointOf(path.id), (endpoint) => callEntity(endpoint.Delete())),
			)
			.handle("enable", ({ path }) =>
				Effect.flatMap(endpointOf(path.id), (endpoint) =>
					callEntity(endpoint.Transition({ operation: "enable" })),
				),
			)
			.handle("disable", ({ path }) =>
				Effect.flatMap(endpointOf(path.id), (endpoint) =>
					callEntity(endpoint.Transition({ operation: "disable" })),
				),
			)
			.handle("verify", ({ path }) =>
				Effect.flatMap(endpointOf(path.id), (endpoint) => callEntity(endpoint.Verify())),
			)
			.handle("rotateSecret", ({ path, payload }) =>
				Effect.flatMap(endpointOf(path.id), (endpoint) =>
					callEntity(endpoint.RotateSecret({ gracePeriodSeconds: payload.gracePeriodSeconds })),
				).pipe(Effect.map((rotated) => ({ ...rotated, secret: Redacted.value(rotated.secret) }))),
			)
			.handle("replay", ({ path, payload }) =>
				Effect.flatMap(endpointOf(path.id), (endpoint) => callEntity(endpoint.Replay({ from: payload }))),
			)
			.handle("attempts", ({ path, urlParams }) =>
				Effect.flatMap(endpointOf(path.id), (endpoint) =>
					callEntity(endpoint.Attempts({ limit: urlParams.limit, cursor: urlParams.cursor ?? null })),
				),
			)
	}),
)

// --- [EXPORT]

export { WebhooksHttpLive }
