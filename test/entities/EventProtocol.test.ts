// The wire contract of the TenantEvents read side: its messages and the error tags each may answer with, every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { TenantEvents } from "../../entities/event/EventProtocol.ts"
import { errorsRoundTrip, errorTable } from "../fixtures/ProtocolContract.ts"

describe("EventProtocol", () => {
	it("TenantEvents: its messages and the errors each may answer with", () => {
		expect(TenantEvents.type).toBe("TenantEvents")
		expect(errorTable(TenantEvents)).toEqual({
			List: ["StorageUnavailable"],
			After: ["StorageUnavailable"],
			Head: ["StorageUnavailable"],
		})
	})

	it("TenantEvents: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(TenantEvents)
	})
})
