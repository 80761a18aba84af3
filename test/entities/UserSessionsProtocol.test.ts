// The wire contract of the UserSessions entity (a user's sessions, identities and API keys): the messages it answers and the
// error tags of each (persisted messages are decoded by tag; the gateway maps the tags to statuses), and every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { UserSessions } from "../../entities/identity/UserSessionsProtocol.ts"
import { errorsRoundTrip, errorTable } from "../fixtures/ProtocolContract.ts"

describe("UserSessionsProtocol", () => {
	it("UserSessions: its messages and the errors each may answer with", () => {
		expect(UserSessions.type).toBe("UserSessions")
		expect(errorTable(UserSessions)).toEqual({
			Open: ["IdentityTaken", "StorageUnavailable", "UserDeactivated"],
			CreateSession: ["InvalidTransition", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			ListSessions: ["InvalidTransition", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			RevokeSession: [
				"InvalidTransition",
				"SessionNotFound",
				"StorageUnavailable",
				"UserDeactivated",
				"UserNotFound",
			],
			RevokeSessions: ["InvalidTransition", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			GetUser: ["StorageUnavailable", "UserNotFound"],
			UpdateUser: ["InvalidTransition", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			Deactivate: ["InvalidTransition", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			ListIdentities: ["InvalidTransition", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			LinkIdentity: [
				"IdentityTaken",
				"InvalidTransition",
				"StorageUnavailable",
				"UserDeactivated",
				"UserNotFound",
			],
			UnlinkIdentity: [
				"IdentityNotFound",
				"InvalidTransition",
				"LastIdentity",
				"StorageUnavailable",
				"UserDeactivated",
				"UserNotFound",
			],
			CreateApiKey: ["InvalidTransition", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			ListApiKeys: ["InvalidTransition", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			RotateApiKey: [
				"ApiKeyNotFound",
				"InvalidTransition",
				"StorageUnavailable",
				"UserDeactivated",
				"UserNotFound",
			],
			RevokeApiKey: [
				"ApiKeyNotFound",
				"InvalidTransition",
				"StorageUnavailable",
				"UserDeactivated",
				"UserNotFound",
			],
		})
	})

	it("UserSessions: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(UserSessions)
	})
})
