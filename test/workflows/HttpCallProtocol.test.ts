// The wire contract of the HttpCall workflow (one `http.call` job run) and its per-attempt DeliveryFailed: the messages it answers and the
// error tags of each (persisted messages are decoded by tag; the gateway maps the tags to statuses), and every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { HttpCallWorkflow } from "../../workflows/HttpCallProtocol.ts"
import { errorRoundTrips, errorTags } from "../fixtures/ProtocolContract.ts"

describe("HttpCallProtocol", () => {
	it("HttpCall: its name and error tags", () => {
		expect(HttpCallWorkflow.name).toBe("HttpCall")
		expect(errorTags(HttpCallWorkflow.errorSchema)).toEqual(["JobFailed"])
		errorRoundTrips(HttpCallWorkflow.errorSchema)
	})
})
