// Sends one signed Standard Webhooks message to an endpoint: body `{ type, timestamp, data }`, headers `webhook-id`,
// `webhook-timestamp` and `webhook-signature` (one `v1,<base64 HMAC-SHA256>` per live secret, space separated, so a
// receiver holding either secret verifies during a rotation's grace). The destination policy of `http.call` applies:
// the URL is checked before connecting and the agent connects only to checked addresses.
import { HttpClientRequest } from "@effect/platform"
import { DateTime, Duration, Effect, Redacted, Schema } from "effect"
import { Webhook } from "standardwebhooks"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Destination } from "../../workflows/Destination.ts"
import { OutboundHttp, OutboundHttpLive } from "../../workflows/OutboundHttp.ts"

// --- [CONSTANTS]

const AttemptTimeout = Duration.seconds(10)

const encodeJson = Schema.encodeSync(Schema.parseJson())

// --- [SERVICES]

class WebhookSender extends Effect.Service<WebhookSender>()("entities/WebhookSender", {
	effect: Effect.gen(function* () {
		const outbound = yield* OutboundHttp
		const allowedHosts = yield* Effect.orDie(Destination.config)
		const send = (options: {
			readonly url: string
			readonly secrets: ReadonlyArray<Redacted.Redacted<string>>
			readonly messageId: string
			readonly type: string
			readonly data: unknown
		}) =>
			Effect.gen(function* () {
				const now = yield* DateTime.now
				const at = DateTime.toDate(now)
				const body = encodeJson({
					type: options.type,
					timestamp: DateTime.formatIso(now),
					data: options.data,
				})
				const signature = options.secrets
					.map((secret) => new Webhook(Redacted.value(secret)).sign(options.messageId, at, body))
					.join(" ")
				yield* Destination.checkUrl(options.url, allowedHosts)
				const started = Date.now()
				const answer = yield* outbound
					.send(
						HttpClientRequest.post(options.url).pipe(
							HttpClientRequest.setHeaders({
								"webhook-id": options.messageId,
								"webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
								"webhook-signature": signature,
							}),
							HttpClientRequest.bodyText(body, "application/json"),
						),
					)
					.pipe(
						Effect.timeoutFail({
							duration: AttemptTimeout,
							onTimeout: () => new Error(`no answer within ${Duration.format(AttemptTimeout)}`),
						}),
						Effect.match({
							onSuccess: (response) => ({
								statusCode: response.status as number | null,
								body: response.body,
								error: null as string | null,
							}),
							onFailure: (error) => ({ statusCode: null, body: new Uint8Array(), error: error.message }),
						}),
					)
				return { ...answer, durationMs: Date.now() - started }
			}).pipe(Telemetry.span("WebhookSender.send"))
		return { send } as const
	}),
	dependencies: [OutboundHttpLive],
}) {}

// --- [EXPORT]

export { WebhookSender }
