// A tenant's webhook endpoints under /v1/webhooks: register one (its `whsec_` secret is answered once), list, read,
// change, delete, enable/disable, send a new ownership challenge, and read the log of attempts to reach it. Managed
// by the tenant's backend: the service principal (ADMIN_TOKEN) or an API key, never a plain user session.
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { InvalidTransition } from "../../entities/InvalidTransition.ts"
import { KeysetPage } from "../../entities/KeysetPage.ts"
import {
	AttemptView,
	EventTypes,
	WebhookDescription,
	WebhookUrl,
	WebhookView,
} from "../../entities/webhook/WebhookModel.ts"
import { WebhookNotFound } from "../../entities/webhook/WebhookProtocol.ts"
import { DestinationNotAllowed } from "../../workflows/Destination.ts"
import { Forbidden } from "../jobs/JobsApi.ts"
import { signedInRoutes } from "../RouteGroups.ts"

// --- [SCHEMA]

const WebhookPath = Schema.Struct({ id: Schema.String })

const NewWebhook = Schema.Struct({
	url: WebhookUrl.annotations({ description: "http(s) URL; the destination policy of http.call applies" }),
	eventTypes: EventTypes.annotations({
		description: "Event types to receive: exact (`user.created`), a family (`user.*`) or `*`",
	}),
	description: Schema.optional(WebhookDescription),
})

const WebhookChanges = Schema.Struct({
	url: Schema.optional(WebhookUrl),
	eventTypes: Schema.optional(EventTypes),
	description: Schema.optional(Schema.NullOr(WebhookDescription)),
})

const CreatedWebhook = Schema.Struct({
	...WebhookView.fields,
	secret: Schema.String.annotations({ description: "`whsec_…`: shown only in this answer" }),
}).annotations({ identifier: "CreatedWebhook" })

const ListParams = Schema.Struct({
	limit: Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)), {
		default: () => 20,
	}),
	cursor: Schema.optional(KeysetPage.CursorParam),
})

const AttemptParams = Schema.Struct({
	limit: Schema.optionalWith(Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 100)), {
		default: () => 20,
	}),
	cursor: Schema.optional(
		Schema.String.pipe(Schema.pattern(/^[0-9]{1,19}$/, { message: () => "cursor is not one this list issued" })),
	),
})

const RotateSecret = Schema.Struct({
	gracePeriodSeconds: Schema.optionalWith(Schema.Int.pipe(Schema.between(0, 604_800)), { default: () => 86_400 }),
})

const Replay = Schema.Union(
	Schema.Struct({ after: Schema.Int.pipe(Schema.nonNegative()) }),
	Schema.Struct({ since: Schema.DateTimeUtc }),
)

// --- [PROTOCOL]

const byId = <Name extends string, Path extends `/webhooks/:id${string}`>(name: Name, path: Path) =>
	HttpApiEndpoint.post(name, path)
		.setPath(WebhookPath)
		.addSuccess(WebhookView)
		.addError(WebhookNotFound, { status: 404 })

const WebhooksApi = signedInRoutes(
	HttpApiGroup.make("webhooks")
		.add(
			HttpApiEndpoint.post("create", "/webhooks")
				.annotate(OpenApi.Summary, "Register a webhook endpoint")
				.annotate(
					OpenApi.Description,
					"Answers the endpoint in `pending_verification` with its signing secret (shown once). The platform then POSTs an ownership challenge; an answer echoing it makes the endpoint `active`.",
				)
				.setPayload(NewWebhook)
				.addSuccess(CreatedWebhook, { status: 201 })
				.addError(DestinationNotAllowed, { status: 400 }),
		)
		.add(
			HttpApiEndpoint.get("list", "/webhooks")
				.annotate(OpenApi.Summary, "List the tenant's webhook endpoints")
				.setUrlParams(ListParams)
				.addSuccess(
					Schema.Struct({ items: Schema.Array(WebhookView), nextCursor: Schema.NullOr(Schema.String) }),
				),
		)
		.add(
			HttpApiEndpoint.get("get", "/webhooks/:id")
				.annotate(OpenApi.Summary, "Get a webhook endpoint")
				.setPath(WebhookPath)
				.addSuccess(WebhookView)
				.addError(WebhookNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.patch("update", "/webhooks/:id")
				.annotate(OpenApi.Summary, "Change a webhook endpoint")
				.annotate(OpenApi.Description, "A new URL must pass the ownership challenge again.")
				.setPath(WebhookPath)
				.setPayload(WebhookChanges)
				.addSuccess(WebhookView)
				.addError(WebhookNotFound, { status: 404 })
				.addError(DestinationNotAllowed, { status: 400 }),
		)
		.add(
			HttpApiEndpoint.del("delete", "/webhooks/:id")
				.annotate(OpenApi.Summary, "Delete a webhook endpoint")
				.setPath(WebhookPath)
				.addSuccess(WebhookView)
				.addError(WebhookNotFound, { status: 404 }),
		)
		.add(
			byId("enable", "/webhooks/:id/enable")
				.annotate(OpenApi.Summary, "Enable a webhook endpoint")
				.addError(InvalidTransition, { status: 409 }),
		)
		.add(
			byId("disable", "/webhooks/:id/disable")
				.annotate(OpenApi.Summary, "Disable a webhook endpoint")
				.addError(InvalidTransition, { status: 409 }),
		)
		.add(
			byId("verify", "/webhooks/:id/verify")
				.annotate(OpenApi.Summary, "Send a new ownership challenge")
				.annotate(OpenApi.Description, "Only while the endpoint is `pending_verification`.")
				.addError(InvalidTransition, { status: 409 }),
		)
		.add(
			HttpApiEndpoint.post("rotateSecret", "/webhooks/:id/rotate-secret")
				.annotate(OpenApi.Summary, "Rotate the signing secret")
				.annotate(
					OpenApi.Description,
					"Answers the new secret (shown once). During `gracePeriodSeconds` (default 86400, at most 604800) every message carries a signature with each secret in `webhook-signature`.",
				)
				.setPath(WebhookPath)
				.setPayload(RotateSecret)
				.addSuccess(CreatedWebhook, { status: 201 })
				.addError(WebhookNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.post("replay", "/webhooks/:id/replay")
				.annotate(OpenApi.Summary, "Deliver past events again")
				.annotate(
					OpenApi.Description,
					"Every matching event after `after` (a seq) or since `since` (RFC 3339) is delivered again, in order, with its original `webhook-id`.",
				)
				.setPath(WebhookPath)
				.setPayload(Replay)
				.addSuccess(WebhookView, { status: 202 })
				.addError(WebhookNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.get("attempts", "/webhooks/:id/attempts")
				.annotate(OpenApi.Summary, "The attempts to reach a webhook endpoint, newest first")
				.setPath(WebhookPath)
				.setUrlParams(AttemptParams)
				.addSuccess(
					Schema.Struct({ items: Schema.Array(AttemptView), nextCursor: Schema.NullOr(Schema.String) }),
				)
				.addError(WebhookNotFound, { status: 404 }),
		)
		.addError(Forbidden),
)

// --- [EXPORT]

export { WebhooksApi }
