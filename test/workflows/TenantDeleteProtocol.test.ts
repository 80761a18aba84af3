// The wire contract of the TenantDelete workflow: the messages it answers and the
// error tags of each (persisted messages are decoded by tag; the gateway maps the tags to statuses), and every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { TenantDeleteWorkflow } from "../../workflows/TenantDeleteProtocol.ts"
import { errorRoundTrips, errorTags } from "../fixtures/ProtocolContract.ts"

describe("TenantDeleteProtocol", () => {
	it("TenantDelete: its name and error tags", () => {
		expect(TenantDeleteWorkflow.name).toBe("TenantDelete")
		expect(errorTags(TenantDeleteWorkflow.errorSchema)).toEqual(["JobFailed"])
		errorRoundTrips(TenantDeleteWorkflow.errorSchema)
	})
})
