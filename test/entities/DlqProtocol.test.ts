// The wire contract of the DLQ directory and its entries: the messages it answers and the
// error tags of each (persisted messages are decoded by tag; the gateway maps the tags to statuses), and every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { DlqDirectory, DlqEntry } from "../../entities/job/DlqProtocol.ts"
import { errorsRoundTrip, errorTable } from "../fixtures/ProtocolContract.ts"

describe("DlqProtocol", () => {
	it("DlqDirectory: its messages and the errors each may answer with", () => {
		expect(DlqDirectory.type).toBe("DlqDirectory")
		expect(errorTable(DlqDirectory)).toEqual({ List: ["StorageUnavailable"] })
	})

	it("DlqDirectory: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(DlqDirectory)
	})

	it("DlqEntry: its messages and the errors each may answer with", () => {
		expect(DlqEntry.type).toBe("DlqEntry")
		expect(errorTable(DlqEntry)).toEqual({
			Retry: ["DlqEntryNotFound", "InvalidTransition", "JobNotFound", "StorageUnavailable"],
			Drop: ["DlqEntryNotFound", "StorageUnavailable"],
		})
	})

	it("DlqEntry: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(DlqEntry)
	})
})
