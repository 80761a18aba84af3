// The wire contract of the KeysReencrypt workflow and the KeyRotation entity that starts it: the messages it answers and the
// error tags of each (persisted messages are decoded by tag; the gateway maps the tags to statuses), and every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { KeyRotation, KeysReencryptWorkflow } from "../../workflows/KeysReencryptProtocol.ts"
import { errorRoundTrips, errorTable, errorTags, errorsRoundTrip } from "../fixtures/ProtocolContract.ts"

describe("KeysReencryptProtocol", () => {
	it("KeyRotation: its messages and the errors each may answer with", () => {
		expect(KeyRotation.type).toBe("KeyRotation")
		expect(errorTable(KeyRotation)).toEqual({ Reencrypt: [] })
	})

	it("KeyRotation: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(KeyRotation)
	})

	it("KeysReencrypt: its name and error tags", () => {
		expect(KeysReencryptWorkflow.name).toBe("KeysReencrypt")
		expect(errorTags(KeysReencryptWorkflow.errorSchema)).toEqual([])
		errorRoundTrips(KeysReencryptWorkflow.errorSchema)
	})
})
