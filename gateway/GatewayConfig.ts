// Settings of the HTTP + WebSocket edge, read once through Effect Config.
import { Config, Context, Effect, Layer, Option, Redacted } from "effect"
import { AdminTokenMinLength } from "./AdminToken.ts"

// --- [CONSTANTS]

const GatewayConfigRecipe = Config.all({
	host: Config.string("GATEWAY_HOST").pipe(
		Config.withDefault("127.0.0.1"),
		Config.withDescription("HTTP listen host"),
	),
	port: Config.port("GATEWAY_PORT").pipe(Config.withDefault(8080), Config.withDescription("HTTP listen port")),
	maxBodyBytes: Config.integer("GATEWAY_MAX_BODY_BYTES").pipe(
		Config.withDefault(1_048_576),
		Config.withDescription("Largest accepted request body; larger → 413"),
	),
	tenantCacheTtl: Config.duration("GATEWAY_TENANT_CACHE_TTL").pipe(
		Config.withDefault("30 seconds"),
		Config.withDescription("How long a resolved tenant is served from memory (changes invalidate it at once)"),
	),
	tenantNegativeTtl: Config.duration("GATEWAY_NEGATIVE_CACHE_TTL").pipe(
		Config.withDefault("3 seconds"),
		Config.withDescription(
			"How long a gateway remembers an unknown tenant, an unknown credential or a tenant's provider list",
		),
	),
	anonymousBurst: Config.integer("GATEWAY_ANONYMOUS_BURST").pipe(
		Config.withDefault(60),
		Config.validate({ message: "must be at least 1", validation: (value) => value >= 1 }),
		Config.withDescription("Anonymous requests one client group may make at once (token bucket size)"),
	),
	anonymousRate: Config.number("GATEWAY_ANONYMOUS_RATE").pipe(
		Config.withDefault(5),
		Config.validate({ message: "must be positive", validation: (value) => value > 0 }),
		Config.withDescription("Anonymous requests per second one client group may sustain (bucket refill rate)"),
	),
	retryAfterSeconds: Config.integer("GATEWAY_RETRY_AFTER_SECONDS").pipe(
		Config.withDefault(5),
		Config.withDescription("Retry-After sent with 503 answers"),
	),
	requestTimeout: Config.duration("GATEWAY_REQUEST_TIMEOUT").pipe(
		Config.withDefault("30 seconds"),
		Config.withDescription(
			"A request still unanswered after this is answered 503 (persisted work goes on; a repeat with the same Idempotency-Key joins it)",
		),
	),
	trustedProxies: Config.array(Config.string(), "GATEWAY_TRUSTED_PROXIES").pipe(
		Config.withDefault([] as ReadonlyArray<string>),
		Config.withDescription("Addresses of reverse proxies whose X-Forwarded-For is believed (comma-separated)"),
	),
	adminToken: Config.option(
		Config.redacted("ADMIN_TOKEN").pipe(
			Config.validate({
				message: `ADMIN_TOKEN must be at least ${AdminTokenMinLength} characters (e.g. openssl rand -hex 32); unset it to disable the admin API`,
				validation: (token) => Redacted.value(token).length >= AdminTokenMinLength,
			}),
			Config.withDescription(
				`Bearer token of /admin/v1/* (at least ${AdminTokenMinLength} characters); unset disables it`,
			),
		),
	),
})

// --- [SERVICES]

class GatewayConfig extends Context.Tag("gateway/GatewayConfig")<
	GatewayConfig,
	Config.Config.Success<typeof GatewayConfigRecipe>
>() {}

// --- [LAYERS]

// Without ADMIN_TOKEN the gateway still starts; one warning says the admin API is off and how to turn it on.
const GatewayConfigLive = Layer.effect(
	GatewayConfig,
	Effect.tap(GatewayConfigRecipe, (config) =>
		Option.isNone(config.adminToken)
			? Effect.logWarning(
					`ADMIN_TOKEN is not set: the admin API (/admin/v1/*) is off; set ADMIN_TOKEN to a secret of at least ${AdminTokenMinLength} characters (e.g. openssl rand -hex 32) to turn it on`,
				)
			: Effect.void,
	),
)

// --- [EXPORT]

export { GatewayConfig, GatewayConfigLive, GatewayConfigRecipe }
