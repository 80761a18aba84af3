// The realtime wire protocol (CONTRACT.md "Realtime"): client frames decoded with Schema, server frames encoded with
// Schema. Client: auth, subscribe, unsubscribe, publish, presence, ping. Server: message (with the channel's `seq`),
// presence_diff, error, pong, session_revoked, and the acknowledgements authenticated, subscribed, unsubscribed,
// published. Any client frame may carry a `ref` of the client's choosing; the answer to that frame (its
// acknowledgement, pong or error) carries it back.
import { Effect, Schema } from "effect"
import { ChannelName } from "../../entities/realtime/SocketProtocol.ts"

// --- [CONSTANTS]

const CloseCodes = {
	// The first frame was not a valid auth frame in time, or the credential was refused.
	unauthenticated: 4401,
	// The credential the connection authenticated with was revoked, expired by eviction, or its user deactivated.
	sessionRevoked: 4403,
	// No frame (ping) within REALTIME_HEARTBEAT_TIMEOUT.
	stale: 4408,
	// More than REALTIME_MAX_BUFFERED bytes waiting to be sent to this client, more than REALTIME_MAX_QUEUED_FRAMES
	// frames received and not yet handled, or more than REALTIME_MAX_CONNECTIONS_PER_USER connections of its user.
	slowConsumer: 4429,
	// RFC 6455: message too big.
	tooBig: 1009,
} as const

// --- [SCHEMA]

// Any JSON value, but present: `Schema.Unknown` alone would accept a frame without the key.
const Present = Schema.Unknown.pipe(Schema.filter((value) => value !== undefined, { message: () => "is required" }))

// A client's tag for one frame, echoed in the answer to it: 1–64 printable ASCII characters.
const FrameRef = Schema.String.pipe(Schema.pattern(/^[\x20-\x7E]{1,64}$/))

// Channels are checked by the entity; here a frame only needs a string, so a bad name gets a precise error. `ref` is
// read apart from the frame (so even an error about the rest of the frame can echo it). `self` on subscribe: whether
// this subscription also delivers the connection's own publishes (default false: the publisher gets `published`).
const ClientFrame = Schema.Union(
	Schema.Struct({ type: Schema.Literal("auth"), token: Schema.String.pipe(Schema.maxLength(512)) }),
	// `after` (the `events` channel only): replay the tenant's events numbered after it before going live.
	Schema.Struct({
		type: Schema.Literal("subscribe"),
		channel: Schema.String,
		self: Schema.optional(Schema.Boolean),
		after: Schema.optional(Schema.Int.pipe(Schema.nonNegative())),
	}),
	Schema.Struct({ type: Schema.Literal("unsubscribe"), channel: Schema.String }),
	Schema.Struct({ type: Schema.Literal("publish"), channel: Schema.String, payload: Present }),
	Schema.Struct({ type: Schema.Literal("presence"), channel: Schema.String, state: Present }),
	Schema.Struct({ type: Schema.Literal("ping") }),
)
type ClientFrame = typeof ClientFrame.Type

// What any JSON frame is, to tell "not JSON" from "unknown type".
const AnyJson = Schema.parseJson(Schema.Unknown)

const PresenceMember = Schema.Struct({
	connectionId: Schema.String,
	userId: Schema.NullOr(Schema.String),
	state: Schema.Unknown,
})
type PresenceMember = typeof PresenceMember.Type

// Who published a message, as the gateway authenticated it (never what the publisher claims): a user's session, an
// API key (its id), or the platform's service credential.
const MessageSender = Schema.Union(
	Schema.Struct({ type: Schema.Literal("user"), id: Schema.String }),
	Schema.Struct({ type: Schema.Literal("apiKey"), id: Schema.String }),
	Schema.Struct({ type: Schema.Literal("service") }),
)
type MessageSender = typeof MessageSender.Type

// Answers carry the `ref` of the frame they answer, if it had one.
const OptionalRef = Schema.optional(Schema.String)

const ServerFrame = Schema.Union(
	Schema.Struct({
		type: Schema.Literal("message"),
		channel: Schema.String,
		payload: Schema.Unknown,
		from: MessageSender,
	}),
	Schema.Struct({
		type: Schema.Literal("presence_diff"),
		channel: Schema.String,
		joins: Schema.Array(PresenceMember),
		leaves: Schema.Array(PresenceMember),
	}),
	Schema.Struct({ type: Schema.Literal("error"), _tag: Schema.String, message: Schema.String, ref: OptionalRef }),
	Schema.Struct({ type: Schema.Literal("pong"), ref: OptionalRef }),
	Schema.Struct({ type: Schema.Literal("session_revoked") }),
	Schema.Struct({
		type: Schema.Literal("authenticated"),
		connectionId: Schema.String,
		userId: Schema.NullOr(Schema.String),
		ref: OptionalRef,
	}),
	Schema.Struct({ type: Schema.Literal("subscribed"), channel: Schema.String, seq: Schema.Number, ref: OptionalRef }),
	Schema.Struct({ type: Schema.Literal("unsubscribed"), channel: Schema.String, ref: OptionalRef }),
	// A publish frame's message was numbered `seq` and sent to the channel.
	Schema.Struct({ type: Schema.Literal("published"), channel: Schema.String, seq: Schema.Number, ref: OptionalRef }),
)
type ServerFrame = typeof ServerFrame.Type

const ServerFrameJson = Schema.parseJson(ServerFrame)
const PresenceMemberJson = Schema.parseJson(PresenceMember)

// --- [FUNCTIONS]

const encode = (frame: ServerFrame) => Schema.encode(ServerFrameJson)(frame).pipe(Effect.orDie)

const errorFrame = (tag: string, message: string) => encode({ type: "error", _tag: tag, message })

// A message frame is encoded once, split around its `seq` so the counter can be filled in where it is assigned.
const messageParts = (channel: string, payload: unknown, from: MessageSender) =>
	encode({ type: "message", channel, payload, from }).pipe(
		Effect.map((encoded) => ({ before: `${encoded.slice(0, -1)},"seq":`, after: "}" })),
	)

const decodeChannel = Schema.decodeUnknown(ChannelName)

// --- [EXPORT]

export {
	AnyJson,
	ClientFrame,
	CloseCodes,
	decodeChannel,
	encode,
	errorFrame,
	FrameRef,
	MessageSender,
	messageParts,
	PresenceMember,
	PresenceMemberJson,
	Present,
	ServerFrame,
}
