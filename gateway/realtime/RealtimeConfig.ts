// Realtime settings of the gateway, read once through Effect Config.
import { Config, Context, Layer } from "effect"

// --- [CONSTANTS]

const RealtimeConfigRecipe = Config.all({
	authTimeout: Config.duration("REALTIME_AUTH_TIMEOUT").pipe(
		Config.withDefault("10 seconds"),
		Config.withDescription("A connection that has not sent a valid auth frame by then is closed with 4401"),
	),
	maxFrameBytes: Config.integer("REALTIME_MAX_FRAME").pipe(
		Config.withDefault(65_536),
		Config.withDescription("Largest accepted client frame (bytes); larger → close 1009"),
	),
	maxBufferedBytes: Config.integer("REALTIME_MAX_BUFFERED").pipe(
		Config.withDefault(4_194_304),
		Config.withDescription(
			"Bytes allowed to wait unsent for one client before it is closed as a slow consumer (4429)",
		),
	),
	maxQueuedFrames: Config.integer("REALTIME_MAX_QUEUED_FRAMES").pipe(
		Config.withDefault(64),
		Config.withDescription(
			"Frames of one client received but not yet handled; a client that sends faster is closed (4429)",
		),
	),
	maxSubscriptions: Config.integer("REALTIME_MAX_SUBSCRIPTIONS").pipe(
		Config.withDefault(100),
		Config.withDescription("Channels one connection may follow; one more → error frame TooManySubscriptions"),
	),
	maxConnectionsPerUser: Config.integer("REALTIME_MAX_CONNECTIONS_PER_USER").pipe(
		Config.withDefault(20),
		Config.withDescription(
			"Open connections of one user across all gateways; one more is refused (error TooManyConnections, 4429)",
		),
	),
	maxConnectionsPerIp: Config.integer("REALTIME_MAX_CONNECTIONS_PER_IP").pipe(
		Config.withDefault(100),
		Config.withDescription(
			"Open connections per client address (IPv4 address, IPv6 /64) on one gateway; one more → 429 TooManyRequests",
		),
	),
	maxPresenceStateBytes: Config.integer("REALTIME_MAX_PRESENCE_STATE").pipe(
		Config.withDefault(1024),
		Config.withDescription("Largest presence state (JSON bytes); larger → error frame PresenceStateTooLarge"),
	),
	heartbeatTimeout: Config.duration("REALTIME_HEARTBEAT_TIMEOUT").pipe(
		Config.withDefault("60 seconds"),
		Config.withDescription("A connection silent this long (no ping or other frame) is stale and closed with 4408"),
	),
	presenceTtl: Config.duration("REALTIME_PRESENCE_TTL").pipe(
		Config.withDefault("60 seconds"),
		Config.withDescription("Presence entries live this long unless their connection's heartbeat refreshes them"),
	),
	sequenceTtl: Config.duration("REALTIME_SEQUENCE_TTL").pipe(
		Config.withDefault("24 hours"),
		Config.withDescription("A channel's message counter is kept this long after its last message"),
	),
})

// --- [SERVICES]

class RealtimeConfig extends Context.Tag("gateway/RealtimeConfig")<
	RealtimeConfig,
	Config.Config.Success<typeof RealtimeConfigRecipe>
>() {}

// --- [LAYERS]

const RealtimeConfigLive = Layer.effect(RealtimeConfig, RealtimeConfigRecipe)

// --- [EXPORT]

export { RealtimeConfig, RealtimeConfigLive }
