// The wire contract of the WebhookDeliver workflow: its name, the error tags it may end with, every error surviving
// the cluster's serialisation, and one execution per job run (the idempotency key).
import { Effect, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { WebhookDeliverWorkflow } from "../../workflows/WebhookDeliverProtocol.ts"
import { errorRoundTrips, errorTags } from "../fixtures/ProtocolContract.ts"

describe("WebhookDeliverProtocol", () => {
	it("WebhookDeliver: its name and error tags", () => {
		expect(WebhookDeliverWorkflow.name).toBe("WebhookDeliver")
		expect(errorTags(WebhookDeliverWorkflow.errorSchema)).toEqual(["JobFailed"])
		errorRoundTrips(WebhookDeliverWorkflow.errorSchema)
	})

	it("one execution per job run: the same run has one execution id, another run another", async () => {
		const payload = Schema.decodeUnknownSync(WebhookDeliverWorkflow.payloadSchema)({
			tenantId: "6f1c2a52-0d7e-4b8e-9a57-3f2f5a0b9c11",
			jobId: "0b7e3a7c-5b0e-4a4f-8d55-2f7f6b1f2e3d",
			run: 0,
			delivery: { endpointId: "1c9d7f3e-2b4a-4c8e-9f1a-6d5e4c3b2a10", eventSeq: 7 },
			meta: { requestId: "req-1", ip: null, userAgent: null },
		})
		const [first, again, next] = await Effect.runPromise(
			Effect.all([
				WebhookDeliverWorkflow.executionId(payload),
				WebhookDeliverWorkflow.executionId(payload),
				WebhookDeliverWorkflow.executionId({ ...payload, run: 1 }),
			]),
		)
		expect(first).toBe(again)
		expect(next).not.toBe(first)
	})
})
