// Handler of the `webhook.deliver` workflow: one event to one endpoint. Each attempt is one activity, a `Deliver`
// message to the endpoint's entity (which signs, sends, logs the attempt and moves the endpoint's state); between
// attempts the workflow sleeps on a durable clock for the next delay of WEBHOOKS_RETRY_SCHEDULE, so the schedule
// survives a runner's death. `webhook-id` is derived from (endpoint, event): the same across every attempt. When the
// attempts are exhausted, or the endpoint answered 410 (which disabled it), the job is dead-lettered (one DLQ entry,
// type `webhook.deliver`). An endpoint that is not active (disabled meanwhile, deleted) ends the job quietly.
import { Activity, DurableClock } from "@effect/workflow"
import { Duration, Effect } from "effect"
import { WebhooksConfig } from "../entities/webhook/WebhookConfig.ts"
import { DeliveryOutcome, WebhookEndpoint } from "../entities/webhook/WebhookProtocol.ts"
import { entityId } from "../entities/Tenancy.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { JobFailed } from "./HttpCallProtocol.ts"
import { makeJobReporter } from "./JobReporter.ts"
import { WebhookDeliverWorkflow } from "./WebhookDeliverProtocol.ts"

// --- [LAYERS]

const WebhookDeliverWorkflowLive = WebhookDeliverWorkflow.toLayer((payload, executionId) =>
	Effect.gen(function* () {
		const config = yield* Effect.orDie(WebhooksConfig)
		const endpoint = (yield* WebhookEndpoint.client)(entityId(payload.tenantId, payload.delivery.endpointId))
		const { succeed, deadLetter } = yield* makeJobReporter({ ...payload, type: "webhook.deliver", executionId })
		const attempt = (number: number) =>
			Activity.make({
				name: `attempt-${number}`,
				success: DeliveryOutcome,
				execute: endpoint.Deliver({ eventSeq: payload.delivery.eventSeq, attempt: number }).pipe(Effect.orDie),
			})
		const attempts = (number: number): Effect.Effect<typeof DeliveryOutcome.Type, never, never> =>
			attempt(number).pipe(
				Effect.flatMap((outcome) =>
					outcome.outcome === "failed" && number < config.retrySchedule.length
						? DurableClock.sleep({
								name: `retry-${number}`,
								duration: config.retrySchedule[number] ?? Duration.zero,
							}).pipe(Effect.zipRight(attempts(number + 1)))
						: Effect.succeed(outcome),
				),
			) as Effect.Effect<typeof DeliveryOutcome.Type, never, never>
		yield* DurableClock.sleep({ name: "first", duration: config.retrySchedule[0] ?? Duration.zero })
		const last = yield* attempts(1)
		const status = last.statusCode ?? 0
		return yield* last.outcome === "delivered" || last.outcome === "inactive"
			? Activity.make({ name: "succeed", execute: succeed({ status, outcome: last.outcome }) }).pipe(
					Effect.as({ status }),
				)
			: Activity.make({
					name: "dead-letter",
					execute: deadLetter(
						last.outcome === "gone" ? "NonRetryable" : "MaxAttemptsExceeded",
						last.error ?? "not delivered",
						{ lastStatus: last.statusCode },
					),
				}).pipe(
					Effect.zipRight(
						Effect.fail(
							new JobFailed({
								reason: last.outcome === "gone" ? "NonRetryable" : "MaxAttemptsExceeded",
								message: last.error ?? "not delivered",
							}),
						),
					),
				)
	}).pipe(Telemetry.span("WebhookDeliverWorkflow.run")),
)

// --- [EXPORT]

export { WebhookDeliverWorkflowLive }
