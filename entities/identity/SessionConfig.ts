// Session policy, read once on runners: how long a session may sit unused, how long it may live at most, and the cap
// of concurrent sessions per user when the tenant sets none (tenant setting `maxSessionsPerUser`).
import { Config, Context, Layer } from "effect"

// --- [CONSTANTS]

const SessionConfig = Config.all({
	idleTimeout: Config.duration("SESSION_IDLE_TIMEOUT").pipe(
		Config.withDefault("24 hours"),
		Config.withDescription("A session unused this long expires"),
	),
	lifetime: Config.duration("SESSION_LIFETIME").pipe(
		Config.withDefault("30 days"),
		Config.withDescription("Absolute lifetime of a session, however much it is used"),
	),
	maxPerUser: Config.integer("SESSION_MAX_PER_USER").pipe(
		Config.withDefault(10),
		Config.withDescription("Concurrent sessions per user when the tenant's maxSessionsPerUser is unset"),
	),
})

// --- [SERVICES]

class SessionPolicy extends Context.Tag("entities/SessionPolicy")<
	SessionPolicy,
	Config.Config.Success<typeof SessionConfig>
>() {}

// --- [LAYERS]

const SessionPolicyLive = Layer.effect(SessionPolicy, SessionConfig)

// --- [EXPORT]

export { SessionConfig, SessionPolicy, SessionPolicyLive }
