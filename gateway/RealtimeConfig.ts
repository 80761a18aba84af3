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
