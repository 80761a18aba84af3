// `npm start`: gateway + runner in one process. No DATABASE_URL → embedded PostgreSQL under DATA_DIR; no REDIS_URL →
// in-process cache and pub/sub; no ADMIN_TOKEN / ENCRYPTION_KEYS → generated once under DATA_DIR. Once it serves it
// prints one banner on stderr (URL, docs, admin token file, data folder, how to run the CLI); a start that cannot
// succeed ends with one line saying what to change (see platform/Startup.ts).
import { Console, Effect, Layer, Option } from "effect"
import { resolve } from "node:path"
import { GatewayConfigLive, GatewayConfigRecipe } from "../../gateway/GatewayConfig.ts"
import { GatewayServerLive } from "../../gateway/Server.ts"
import { CacheOrMemory } from "../../platform/CacheOrMemory.ts"
import { CryptoLive } from "../../platform/Crypto.ts"
import { DatabaseConfig, DatabaseOrEmbedded } from "../../platform/Database.ts"
import { EmbeddedPostgres } from "../../platform/EmbeddedPostgres.ts"
import { LoggingLive } from "../../platform/Logging.ts"
import { OtlpExportLive } from "../../platform/OtlpExport.ts"
import { Startup } from "../../platform/Startup.ts"
import { ClusterConfig } from "../../platform/Cluster.ts"
import { type LocalSecrets, localSecrets } from "../LocalSecrets.ts"
import { RunnerLive } from "../Runner.ts"
import { ShutdownDeadlineLive } from "../../platform/Shutdown.ts"

// --- [LAYERS]

const AllInOneLive = GatewayServerLive.pipe(
	Layer.provide(GatewayConfigLive),
	Layer.provideMerge(RunnerLive),
	Layer.provideMerge(Layer.merge(CryptoLive, CacheOrMemory)),
	Layer.provideMerge(DatabaseOrEmbedded),
)

// --- [FUNCTIONS]

// The token itself only on the start that generated it; afterwards only where it is kept.
const adminTokenLine = (adminToken: LocalSecrets["adminToken"]) =>
	adminToken.source === "ADMIN_TOKEN"
		? "from ADMIN_TOKEN"
		: Option.match(adminToken.generated, {
				onNone: () => `in ${adminToken.path}`,
				onSome: (token) => `${token}  (generated now, kept in ${adminToken.path})`,
			})

const banner = (local: LocalSecrets, url: string, databaseUrl: Option.Option<string>) =>
	[
		"",
		"effect-cluster-platform is running (all-in-one)",
		`  URL          ${url}`,
		`  API docs     ${url}/docs`,
		`  Admin token  ${adminTokenLine(local.adminToken)}`,
		`  Data folder  ${resolve(local.dataDir)}`,
		`  CLI          ${Option.match(databaseUrl, {
			onNone: () => "npm run cli -- tenants list   (with this process's DATABASE_URL)",
			onSome: (value) => `DATABASE_URL=${value} npm run cli -- tenants list`,
		})}`,
		"",
	].join("\n")

const main = Effect.gen(function* () {
	const local = yield* localSecrets
	yield* Effect.gen(function* () {
		const database = yield* DatabaseConfig
		const gateway = yield* GatewayConfigRecipe
		const cluster = yield* ClusterConfig
		const embedded = yield* EmbeddedPostgres.config
		// Cheap checks first, so a second `npm start` or a busy port is reported before PostgreSQL is started.
		yield* Option.isNone(database.url) ? EmbeddedPostgres.ensureAvailable : Effect.void
		yield* Startup.ensurePortFree("GATEWAY_PORT", gateway.host, gateway.port)
		yield* Startup.ensurePortFree(
			"RUNNER_PORT",
			Option.getOrElse(cluster.listenHost, () => cluster.host),
			cluster.port,
		)
		yield* Layer.build(AllInOneLive)
		// On stderr: stdout carries only log lines (one JSON object per line with LOG_FORMAT=json).
		yield* Console.error(
			banner(
				local,
				`http://${gateway.host}:${gateway.port}`,
				Option.isNone(database.url) ? Option.some(EmbeddedPostgres.localUrl(embedded.port)) : Option.none(),
			),
		)
	}).pipe(Effect.withConfigProvider(local.provider))
	return yield* Effect.never
})

main.pipe(
	Effect.scoped,
	Effect.provide([OtlpExportLive("allinone"), LoggingLive, ShutdownDeadlineLive]),
	Startup.runMain("npm start"),
)
