// The wire contract of the WebhookEndpoint entity and its WebhookDirectory read side: the messages each answers, the
// error tags of each (the gateway maps the tags to statuses), and every error surviving the cluster's serialisation.
import { describe, expect, it } from "vitest"
import { WebhookDirectory, WebhookEndpoint } from "../../entities/webhook/WebhookProtocol.ts"
import { errorsRoundTrip, errorTable } from "../fixtures/ProtocolContract.ts"

describe("WebhookProtocol", () => {
	it("WebhookEndpoint: its messages and the errors each may answer with", () => {
		expect(WebhookEndpoint.type).toBe("WebhookEndpoint")
		expect(errorTable(WebhookEndpoint)).toEqual({
			Create: ["InvalidTransition", "StorageUnavailable"],
			Get: ["StorageUnavailable", "WebhookNotFound"],
			Update: ["StorageUnavailable", "WebhookNotFound"],
			Transition: ["InvalidTransition", "StorageUnavailable", "WebhookNotFound"],
			Verify: ["InvalidTransition", "StorageUnavailable", "WebhookNotFound"],
			RotateSecret: ["StorageUnavailable", "WebhookNotFound"],
			Deliver: ["StorageUnavailable"],
			Replay: ["StorageUnavailable", "WebhookNotFound"],
			Delete: ["StorageUnavailable", "WebhookNotFound"],
			Attempts: ["StorageUnavailable", "WebhookNotFound"],
		})
	})

	it("WebhookEndpoint: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(WebhookEndpoint)
	})

	it("WebhookDirectory: its messages and the errors each may answer with", () => {
		expect(WebhookDirectory.type).toBe("WebhookDirectory")
		expect(errorTable(WebhookDirectory)).toEqual({ List: ["StorageUnavailable"] })
	})

	it("WebhookDirectory: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(WebhookDirectory)
	})
})
