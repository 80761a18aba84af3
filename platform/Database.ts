// The Postgres client shared by our repositories and by @effect/cluster's message/runner storage. Column names are
// snake_case in SQL and camelCase in code; cluster storage reads through `withoutTransforms` and is unaffected.
import { PgClient } from "@effect/sql-pg"
import { Config, Effect, Layer, Option, Redacted, String } from "effect"
import { EmbeddedPostgres } from "./EmbeddedPostgres.ts"

// --- [CONSTANTS]

const DatabaseConfig = Config.all({
	url: Config.option(Config.redacted("DATABASE_URL").pipe(Config.withDescription("PostgreSQL connection string"))),
	maxConnections: Config.integer("DATABASE_MAX_CONNECTIONS").pipe(
		Config.withDefault(10),
		Config.withDescription("Connections in this process's pool"),
	),
})

// --- [LAYERS]

const clientLayer = (url: Redacted.Redacted, maxConnections: number) =>
	PgClient.layer({
		url,
		maxConnections,
		transformQueryNames: String.camelToSnake,
		transformResultNames: String.snakeToCamel,
		transformJson: false,
		applicationName: "effect-cluster-platform",
	})

// Runner, gateway, migrate, cli: DATABASE_URL is required.
const DatabaseLive = Layer.unwrapEffect(
	Effect.map(
		Config.all({
			url: Config.redacted("DATABASE_URL").pipe(Config.withDescription("PostgreSQL connection string")),
			maxConnections: DatabaseConfig.pipe(Config.map((config) => config.maxConnections)),
		}),
		(config) => clientLayer(config.url, config.maxConnections),
	),
)

// All-in-one: DATABASE_URL, else an embedded PostgreSQL under DATA_DIR that lives as long as the layer.
const DatabaseOrEmbedded = Layer.unwrapScoped(
	Effect.gen(function* () {
		const config = yield* DatabaseConfig
		const url = yield* Option.match(config.url, {
			onNone: () => EmbeddedPostgres.start,
			onSome: Effect.succeed,
		})
		return clientLayer(url, config.maxConnections)
	}),
)

// --- [EXPORT]

export { DatabaseConfig, DatabaseLive, DatabaseOrEmbedded }
