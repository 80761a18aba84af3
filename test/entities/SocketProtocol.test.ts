// The wire contract of the Socket entity (one realtime connection): the messages it answers and the
// error tags of each (persisted messages are decoded by tag; the gateway maps the tags to statuses), and every
// error surviving the cluster's serialisation as the same tagged error.
import { describe, expect, it } from "vitest"
import { Socket } from "../../entities/realtime/SocketProtocol.ts"
import { errorsRoundTrip, errorTable } from "../fixtures/ProtocolContract.ts"

describe("SocketProtocol", () => {
	it("Socket: its messages and the errors each may answer with", () => {
		expect(Socket.type).toBe("Socket")
		expect(errorTable(Socket)).toEqual({
			Connect: ["InvalidTransition"],
			Authenticate: ["InvalidTransition", "UnknownConnection"],
			Subscribe: ["ChannelNotAllowed", "InvalidTransition", "NotAuthenticated", "UnknownConnection"],
			Unsubscribe: ["InvalidTransition", "UnknownConnection"],
			AuthorizePublish: ["ChannelNotAllowed", "InvalidTransition", "NotAuthenticated", "UnknownConnection"],
			Heartbeat: ["InvalidTransition", "UnknownConnection"],
			MarkStale: ["InvalidTransition", "UnknownConnection"],
			Disconnect: ["InvalidTransition", "UnknownConnection"],
			Restore: ["InvalidTransition"],
		})
	})

	it("Socket: every error survives encode → JSON → decode", () => {
		errorsRoundTrip(Socket)
	})
})
