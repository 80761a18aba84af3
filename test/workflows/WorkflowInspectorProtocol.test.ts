// The wire contract of the WorkflowInspector entity (list, show, resume, interrupt executions; what a request caused): the messages it answers and the
// error tags of each (persisted messages are decoded by tag; the gateway maps the tags to statuses), and every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { WorkflowInspector } from "../../workflows/WorkflowInspectorProtocol.ts"
import { errorsRoundTrip, errorTable } from "../fixtures/ProtocolContract.ts"

describe("WorkflowInspectorProtocol", () => {
	it("WorkflowInspector: its messages and the errors each may answer with", () => {
		expect(WorkflowInspector.type).toBe("WorkflowInspector")
		expect(errorTable(WorkflowInspector)).toEqual({
			List: ["StorageUnavailable"],
			Show: ["ExecutionNotFound", "StorageUnavailable"],
			Caused: ["StorageUnavailable"],
			Resume: ["ExecutionFinished", "ExecutionNotFound", "StorageUnavailable"],
			Interrupt: ["ExecutionFinished", "ExecutionNotFound", "StorageUnavailable"],
		})
	})

	it("WorkflowInspector: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(WorkflowInspector)
	})
})
