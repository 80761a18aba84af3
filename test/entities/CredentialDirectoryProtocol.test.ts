// The wire contract of the CredentialDirectory entity (credential lookups behind the cache): the messages it answers and the
// error tags of each (persisted messages are decoded by tag; the gateway maps the tags to statuses), and every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { CredentialDirectory } from "../../entities/identity/CredentialDirectoryProtocol.ts"
import { errorsRoundTrip, errorTable } from "../fixtures/ProtocolContract.ts"

describe("CredentialDirectoryProtocol", () => {
	it("CredentialDirectory: its messages and the errors each may answer with", () => {
		expect(CredentialDirectory.type).toBe("CredentialDirectory")
		expect(errorTable(CredentialDirectory)).toEqual({
			Resolve: ["CredentialInvalid", "StorageUnavailable"],
			Touch: ["StorageUnavailable"],
			FindIdentity: ["StorageUnavailable"],
		})
	})

	it("CredentialDirectory: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(CredentialDirectory)
	})
})
