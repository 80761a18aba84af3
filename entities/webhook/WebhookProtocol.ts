// Protocol of the WebhookEndpoint entity (id = `<tenantId>/<endpointId>`; owns one `webhook_endpoints` row, its
// lifecycle and its ownership challenge). Create and RotateSecret answer a plaintext secret, so they are volatile
// messages: a persisted one would keep the secret in the cluster's message table.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { InvalidTransition } from "../InvalidTransition.ts"
import { AttemptView, EventTypes, WebhookDescription, WebhookUrl, WebhookView } from "./WebhookModel.ts"

// --- [SCHEMA]

const WebhookOperation = Schema.Literal("verify", "enable", "disable", "fail", "recover")
type WebhookOperation = typeof WebhookOperation.Type

const CreateWebhook = Schema.Struct({
	url: WebhookUrl,
	eventTypes: EventTypes,
	description: Schema.NullOr(WebhookDescription),
})

const UpdateWebhook = Schema.Struct({
	url: Schema.optional(WebhookUrl),
	eventTypes: Schema.optional(EventTypes),
	description: Schema.optional(Schema.NullOr(WebhookDescription)),
})

// The endpoint with its secret: only in the answer to its creation or a rotation.
const WebhookWithSecret = Schema.Struct({
	...WebhookView.fields,
	secret: Schema.Redacted(Schema.String),
})

const WebhookPage = Schema.Struct({ items: Schema.Array(WebhookView), nextCursor: Schema.NullOr(Schema.String) })

const AttemptPage = Schema.Struct({ items: Schema.Array(AttemptView), nextCursor: Schema.NullOr(Schema.String) })

// What one delivery attempt came to: `failed` may be retried; `gone` (410) disabled the endpoint; `inactive`: the
// endpoint is not active (or no longer exists, or the event is not in the log), so nothing was sent.
const DeliveryOutcome = Schema.Struct({
	outcome: Schema.Literal("delivered", "failed", "gone", "inactive"),
	statusCode: Schema.NullOr(Schema.Int),
	error: Schema.NullOr(Schema.String),
})

// Where a replay starts: after an event `seq`, or at the first event since a time.
const ReplayFrom = Schema.Union(
	Schema.Struct({ after: Schema.Int.pipe(Schema.nonNegative()) }),
	Schema.Struct({ since: Schema.DateTimeUtc }),
)

// --- [ERRORS]

class WebhookNotFound extends Schema.TaggedError<WebhookNotFound>()("WebhookNotFound", {
	message: Schema.String,
}) {}

// --- [PROTOCOL]

const WebhookEndpoint = Entity.make("WebhookEndpoint", [
	Rpc.make("Create", {
		payload: CreateWebhook,
		success: WebhookWithSecret,
		error: Schema.Union(InvalidTransition, StorageUnavailable),
	}),
	Rpc.make("Get", { success: WebhookView, error: Schema.Union(WebhookNotFound, StorageUnavailable) }),
	Rpc.make("Update", {
		payload: UpdateWebhook,
		success: WebhookView,
		error: Schema.Union(WebhookNotFound, StorageUnavailable),
	}),
	Rpc.make("Transition", {
		payload: { operation: Schema.Literal("enable", "disable") },
		success: WebhookView,
		error: Schema.Union(WebhookNotFound, InvalidTransition, StorageUnavailable),
	}),
	Rpc.make("Verify", {
		success: WebhookView,
		error: Schema.Union(WebhookNotFound, InvalidTransition, StorageUnavailable),
	}),
	Rpc.make("RotateSecret", {
		payload: { gracePeriodSeconds: Schema.Int.pipe(Schema.between(0, 604_800)) },
		success: WebhookWithSecret,
		error: Schema.Union(WebhookNotFound, StorageUnavailable),
	}),
	Rpc.make("Deliver", {
		payload: { eventSeq: Schema.Int, attempt: Schema.Int },
		success: DeliveryOutcome,
		error: StorageUnavailable,
	}),
	Rpc.make("Replay", {
		payload: { from: ReplayFrom },
		success: WebhookView,
		error: Schema.Union(WebhookNotFound, StorageUnavailable),
	}),
	Rpc.make("Delete", { success: WebhookView, error: Schema.Union(WebhookNotFound, StorageUnavailable) }),
	Rpc.make("Attempts", {
		payload: { limit: Schema.Int.pipe(Schema.between(1, 100)), cursor: Schema.NullOr(Schema.String) },
		success: AttemptPage,
		error: Schema.Union(WebhookNotFound, StorageUnavailable),
	}),
])

// Stateless reads over a tenant's endpoints; the id is the tenant id.
const WebhookDirectory = Entity.make("WebhookDirectory", [
	Rpc.make("List", {
		payload: { limit: Schema.Int.pipe(Schema.between(1, 100)), cursor: Schema.NullOr(Schema.String) },
		success: WebhookPage,
		error: StorageUnavailable,
	}),
])

// --- [EXPORT]

export {
	AttemptPage,
	CreateWebhook,
	DeliveryOutcome,
	ReplayFrom,
	UpdateWebhook,
	WebhookDirectory,
	WebhookEndpoint,
	WebhookNotFound,
	WebhookOperation,
	WebhookPage,
	WebhookWithSecret,
}
