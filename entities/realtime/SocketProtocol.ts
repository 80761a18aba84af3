// Protocol of the Socket entity (id `<tenantId>/<connectionId>`): the logical state of one WebSocket connection —
// who it speaks for, which channels it follows, when it was last heard from — and the authority on what it may
// subscribe to and publish. The gateway that holds the physical socket drives it; its state lives in memory only
// (a connection does not outlive its gateway), and when a runner restarts, the gateway restores it.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { InvalidTransition } from "../InvalidTransition.ts"
import { UserId } from "../identity/UserModel.ts"

// --- [CONSTANTS]

const SocketStatuses = ["connecting", "authenticated", "active", "stale", "disconnecting"] as const

// Channels named `user:<userId>` (or `user:<userId>:…`) are only for that user; every other channel is open to
// every authenticated connection of the tenant.
const UserChannelPrefix = "user:"

const EventsChannel = "events"

// --- [SCHEMA]

const ChannelName = Schema.String.pipe(
	Schema.pattern(/^[A-Za-z0-9._:-]{1,128}$/, {
		message: () => "channel must be 1–128 of letters, digits and . _ : -",
	}),
)
type ChannelName = typeof ChannelName.Type

const SocketStatus = Schema.Literal(...SocketStatuses)
type SocketStatus = typeof SocketStatus.Type

const SocketPrincipal = Schema.Struct({
	kind: Schema.Literal("session", "apiKey", "service"),
	userId: Schema.NullOr(UserId),
	credentialId: Schema.NullOr(Schema.String),
})
type SocketPrincipal = typeof SocketPrincipal.Type

const SocketView = Schema.Struct({
	status: SocketStatus,
	principal: Schema.NullOr(SocketPrincipal),
	channels: Schema.Array(ChannelName),
	lastHeartbeatAt: Schema.Number,
})
type SocketView = typeof SocketView.Type

// --- [ERRORS]

class NotAuthenticated extends Schema.TaggedError<NotAuthenticated>()("NotAuthenticated", {
	message: Schema.String,
}) {}

class ChannelNotAllowed extends Schema.TaggedError<ChannelNotAllowed>()("ChannelNotAllowed", {
	message: Schema.String,
	channel: Schema.String,
}) {}

// The entity holds no state for this connection (its runner restarted): the gateway restores it.
class UnknownConnection extends Schema.TaggedError<UnknownConnection>()("UnknownConnection", {
	message: Schema.String,
}) {}

// --- [PROTOCOL]

const Failures = Schema.Union(InvalidTransition, UnknownConnection)

const Socket = Entity.make("Socket", [
	Rpc.make("Connect", { success: SocketView, error: InvalidTransition }),
	Rpc.make("Authenticate", { payload: { principal: SocketPrincipal }, success: SocketView, error: Failures }),
	Rpc.make("Subscribe", {
		payload: { channel: ChannelName },
		success: SocketView,
		error: Schema.Union(NotAuthenticated, ChannelNotAllowed, Failures),
	}),
	Rpc.make("Unsubscribe", { payload: { channel: ChannelName }, success: SocketView, error: Failures }),
	Rpc.make("AuthorizePublish", {
		payload: { channel: ChannelName },
		error: Schema.Union(NotAuthenticated, ChannelNotAllowed, Failures),
	}),
	Rpc.make("Heartbeat", { success: SocketView, error: Failures }),
	Rpc.make("MarkStale", { success: SocketView, error: Failures }),
	Rpc.make("Disconnect", { success: SocketView, error: Failures }),
	Rpc.make("Restore", {
		payload: { principal: Schema.NullOr(SocketPrincipal), channels: Schema.Array(ChannelName) },
		success: SocketView,
		error: InvalidTransition,
	}),
])

// --- [FUNCTIONS]

// Whether a principal may follow or publish to a channel of its tenant. `events` is the tenant's event log (CONTRACT
// "Events"): any credential of the tenant may follow it, nobody publishes to it (events come from changes only).
const mayUse = (principal: SocketPrincipal, channel: string, operation: "Subscribe" | "Publish") =>
	channel === EventsChannel
		? operation === "Subscribe"
		: !channel.startsWith(UserChannelPrefix) ||
			principal.kind === "service" ||
			(principal.userId !== null &&
				(channel === `${UserChannelPrefix}${principal.userId}` ||
					channel.startsWith(`${UserChannelPrefix}${principal.userId}:`)))

// --- [EXPORT]

export {
	ChannelName,
	ChannelNotAllowed,
	EventsChannel,
	mayUse,
	NotAuthenticated,
	Socket,
	SocketPrincipal,
	SocketStatus,
	SocketStatuses,
	SocketView,
	UnknownConnection,
}
