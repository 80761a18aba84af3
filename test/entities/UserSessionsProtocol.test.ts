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
			CreateSession: ["StorageUnavailable", "UserDeactivated", "UserNotFound"],
			ListSessions: ["StorageUnavailable", "UserDeactivated", "UserNotFound"],
			RevokeSession: [
				"InvalidTransition",
				"SessionNotFound",
				"StorageUnavailable",
				"UserDeactivated",
				"UserNotFound",
			],
			RevokeSessions: ["StorageUnavailable", "UserDeactivated", "UserNotFound"],
			GetUser: ["StorageUnavailable", "UserNotFound"],
			UpdateUser: ["StorageUnavailable", "UserDeactivated", "UserNotFound"],
			Deactivate: ["StorageUnavailable", "UserDeactivated", "UserNotFound"],
			ListIdentities: ["StorageUnavailable", "UserDeactivated", "UserNotFound"],
			LinkIdentity: ["IdentityTaken", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			UnlinkIdentity: [
				"IdentityNotFound",
				"LastIdentity",
				"StorageUnavailable",
				"UserDeactivated",
				"UserNotFound",
			],
			CreateApiKey: ["StorageUnavailable", "UserDeactivated", "UserNotFound"],
			ListApiKeys: ["StorageUnavailable", "UserDeactivated", "UserNotFound"],
			RotateApiKey: ["ApiKeyNotFound", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			RevokeApiKey: ["ApiKeyNotFound", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			ListPasskeys: ["StorageUnavailable", "UserDeactivated", "UserNotFound"],
			RegisterPasskey: ["PasskeyVerificationFailed", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			RenamePasskey: ["PasskeyNotFound", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			DeletePasskey: ["LastFactor", "PasskeyNotFound", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			VerifyPasskey: ["PasskeyVerificationFailed", "StorageUnavailable", "UserDeactivated", "UserNotFound"],
			RegenerateRecoveryCodes: ["StorageUnavailable", "UserDeactivated", "UserNotFound"],
			UseRecoveryCode: [
				"PasskeyVerificationFailed",
				"SessionNotFound",
				"StorageUnavailable",
				"UserDeactivated",
				"UserNotFound",
			],
			CompleteMfa: [
				"PasskeyVerificationFailed",
				"SessionNotFound",
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
