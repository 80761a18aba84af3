// The wire contract of the Job entity and the JobDirectory read side: the messages it answers and the
// error tags of each (persisted messages are decoded by tag; the gateway maps the tags to statuses), and every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { JobDirectory, JobEntity } from "../../entities/job/JobProtocol.ts"
import { errorsRoundTrip, errorTable } from "../fixtures/ProtocolContract.ts"

describe("JobProtocol", () => {
	it("Job: its messages and the errors each may answer with", () => {
		expect(JobEntity.type).toBe("Job")
		expect(errorTable(JobEntity)).toEqual({
			Submit: ["StorageUnavailable"],
			Cancel: ["InvalidTransition", "JobNotFound", "StorageUnavailable"],
			Record: ["InvalidTransition", "JobNotFound", "StorageUnavailable"],
			Retry: ["InvalidTransition", "JobNotFound", "StorageUnavailable"],
			Get: ["JobNotFound", "StorageUnavailable"],
		})
	})

	it("Job: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(JobEntity)
	})

	it("JobDirectory: its messages and the errors each may answer with", () => {
		expect(JobDirectory.type).toBe("JobDirectory")
		expect(errorTable(JobDirectory)).toEqual({ List: ["StorageUnavailable"] })
	})

	it("JobDirectory: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(JobDirectory)
	})
})
