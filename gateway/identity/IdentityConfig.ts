// Identity settings of the gateway, read once through Effect Config: the OAuth callback's public base URL and
// transaction lifetime, the login-failure limits, and the tiers of the credential cache.
import { Config, Context, Layer, Option } from "effect"

// --- [CONSTANTS]

const IdentityConfigRecipe = Config.all({
	callbackBaseUrl: Config.option(
		Config.string("OAUTH_CALLBACK_BASE_URL").pipe(
			Config.withDescription(
				"Public base URL of the gateway as the provider redirects to it (default http://GATEWAY_HOST:GATEWAY_PORT)",
			),
		),
	),
	host: Config.string("GATEWAY_HOST").pipe(Config.withDefault("127.0.0.1")),
	port: Config.port("GATEWAY_PORT").pipe(Config.withDefault(8080)),
	transactionTtl: Config.duration("OAUTH_TRANSACTION_TTL").pipe(
		Config.withDefault("10 minutes"),
		Config.withDescription("How long a started sign-in may take before its callback is refused"),
	),
	handoffCodeTtl: Config.duration("OAUTH_CODE_TTL").pipe(
		Config.withDefault("60 seconds"),
		Config.withDescription("How long the one-time code of a PKCE hand-off may wait for POST /v1/auth/token"),
	),
	failureLimitPerIp: Config.integer("OAUTH_FAILURE_LIMIT_PER_IP").pipe(
		Config.withDefault(10),
		Config.validate({ message: "must be at least 1", validation: (value) => value >= 1 }),
		Config.withDescription(
			"Failed OAuth callbacks one client group (IPv4 address or IPv6 /64) may make before 429 (bucket size)",
		),
	),
	failureAlertPerTenant: Config.integer("OAUTH_FAILURE_ALERT_PER_TENANT").pipe(
		Config.withDefault(100),
		Config.validate({ message: "must be at least 1", validation: (value) => value >= 1 }),
		Config.withDescription("Failed OAuth callbacks per tenant per window that log an alert (never a lockout)"),
	),
	failureWindow: Config.duration("OAUTH_FAILURE_WINDOW").pipe(
		Config.withDefault("15 minutes"),
		Config.withDescription("Time an empty login-failure bucket takes to refill; window of the tenant alert count"),
	),
	failureMaxBackoff: Config.duration("OAUTH_FAILURE_MAX_BACKOFF").pipe(
		Config.withDefault("1 hour"),
		Config.withDescription("Longest block of a client group that keeps failing (the block doubles up to it)"),
	),
	sharedTtl: Config.duration("SESSION_CACHE_TTL").pipe(
		Config.withDefault("5 minutes"),
		Config.withDescription("How long a resolved credential stays in the shared (Redis) tier"),
	),
	memoryTtl: Config.duration("SESSION_MEMORY_TTL").pipe(
		Config.withDefault("30 seconds"),
		Config.withDescription(
			"How long a resolved credential stays in a gateway's memory (revocation drops it at once)",
		),
	),
	touchInterval: Config.duration("SESSION_TOUCH_INTERVAL").pipe(
		Config.withDefault("5 seconds"),
		Config.withDescription("How often a gateway writes the last use of the credentials it saw"),
	),
	apiKeyGrace: Config.duration("APIKEY_ROTATION_GRACE").pipe(
		Config.withDefault("24 hours"),
		Config.withDescription("How long a rotated API key keeps working when the request names no grace period"),
	),
	webauthnChallengeTtl: Config.duration("WEBAUTHN_CHALLENGE_TTL").pipe(
		Config.withDefault("5 minutes"),
		Config.withDescription("How long a WebAuthn challenge (registration, sign-in, MFA) may wait for its answer"),
	),
	webauthnStepUpWindow: Config.duration("WEBAUTHN_STEP_UP_WINDOW").pipe(
		Config.withDefault("10 minutes"),
		Config.withDescription(
			"How long a passkey verification lets a user with a passkey do sensitive operations (step-up)",
		),
	),
}).pipe(
	Config.map((config) => {
		const callbackBaseUrl = Option.getOrElse(
			config.callbackBaseUrl,
			() => `http://${config.host}:${config.port}`,
		).replace(/\/+$/, "")
		return { ...config, callbackBaseUrl }
	}),
)

// --- [SERVICES]

class IdentityConfig extends Context.Tag("gateway/IdentityConfig")<
	IdentityConfig,
	Config.Config.Success<typeof IdentityConfigRecipe>
>() {}

// --- [LAYERS]

const IdentityConfigLive = Layer.effect(IdentityConfig, IdentityConfigRecipe)

// --- [EXPORT]

export { IdentityConfig, IdentityConfigLive }
