// The wire contract of the IdentityBroker entity (OAuth/OIDC sign-in): the messages it answers and the
// error tags of each (persisted messages are decoded by tag; the gateway maps the tags to statuses), and every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { IdentityBroker } from "../../entities/identity/IdentityBrokerProtocol.ts"
import { errorsRoundTrip, errorTable } from "../fixtures/ProtocolContract.ts"

describe("IdentityBrokerProtocol", () => {
	it("IdentityBroker: its messages and the errors each may answer with", () => {
		expect(IdentityBroker.type).toBe("IdentityBroker")
		expect(errorTable(IdentityBroker)).toEqual({
			Authorize: ["OAuthFailed", "OAuthProviderNotFound", "StorageUnavailable"],
			Exchange: ["ExchangeFailed", "OAuthProviderNotFound", "StorageUnavailable"],
			CheckIssuer: ["InvalidProvider"],
		})
	})

	it("IdentityBroker: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(IdentityBroker)
	})
})
