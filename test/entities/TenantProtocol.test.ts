// The wire contract of the Tenant entity (lifecycle, OAuth providers) and the TenantDirectory read side: the messages it answers and the
// error tags of each (persisted messages are decoded by tag; the gateway maps the tags to statuses), and every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { Tenant, TenantDirectory } from "../../entities/tenant/TenantProtocol.ts"
import { errorsRoundTrip, errorTable } from "../fixtures/ProtocolContract.ts"

describe("TenantProtocol", () => {
	it("Tenant: its messages and the errors each may answer with", () => {
		expect(Tenant.type).toBe("Tenant")
		expect(errorTable(Tenant)).toEqual({
			Create: ["InvalidTransition", "StorageUnavailable", "TenantSlugTaken"],
			Update: ["InvalidTransition", "StorageUnavailable", "TenantNotFound"],
			Transition: ["InvalidTransition", "StorageUnavailable", "TenantNotFound"],
			Get: ["StorageUnavailable", "TenantNotFound"],
			PutOAuthProvider: ["InvalidTransition", "StorageUnavailable", "TenantNotFound"],
			ListOAuthProviders: ["StorageUnavailable", "TenantNotFound"],
			DeleteOAuthProvider: ["OAuthProviderNotFound", "StorageUnavailable", "TenantNotFound"],
			PutRelyingParty: ["InvalidTransition", "StorageUnavailable", "TenantNotFound"],
			GetRelyingParty: ["StorageUnavailable", "TenantNotFound", "WebAuthnNotConfigured"],
		})
	})

	it("Tenant: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(Tenant)
	})

	it("TenantDirectory: its messages and the errors each may answer with", () => {
		expect(TenantDirectory.type).toBe("TenantDirectory")
		expect(errorTable(TenantDirectory)).toEqual({
			Resolve: ["StorageUnavailable", "TenantNotFound"],
			List: ["StorageUnavailable"],
		})
	})

	it("TenantDirectory: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(TenantDirectory)
	})
})
