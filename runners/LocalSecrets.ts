// The all-in-one process on a laptop needs no setup: when ADMIN_TOKEN or ENCRYPTION_KEYS are not configured it
// generates them once under DATA_DIR (mode 0600) and reuses them on every later start; a stored admin token that is
// empty or shorter than AdminTokenMinLength is replaced. Configured values win (and are validated where they are read).
import { Config, ConfigProvider, Console, Effect, Layer, Option } from "effect"
import { randomBytes } from "node:crypto"
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import { AdminTokenMinLength } from "../gateway/AdminToken.ts"

// --- [FUNCTIONS]

const readOrCreate = (path: string, generate: () => string, usable: (stored: string) => boolean = () => true) =>
	Effect.sync(() =>
		existsSync(path) && usable(readFileSync(path, "utf8").trim())
			? { value: readFileSync(path, "utf8").trim(), created: false }
			: (writeFileSync(path, generate(), { mode: 0o600 }),
				{ value: readFileSync(path, "utf8").trim(), created: true }),
	)

const localSecrets = Effect.gen(function* () {
	const dataDir = yield* Config.string("DATA_DIR").pipe(Config.withDefault(".data"))
	const configured = yield* Config.all({
		adminToken: Config.option(Config.string("ADMIN_TOKEN")),
		encryptionKeys: Config.option(Config.string("ENCRYPTION_KEYS")),
	})
	yield* Effect.sync(() => mkdirSync(dataDir, { recursive: true }))
	const adminToken = yield* Option.match(configured.adminToken, {
		onSome: (value) => Effect.succeed({ value, created: false }),
		onNone: () =>
			readOrCreate(
				join(dataDir, "admin-token"),
				() => randomBytes(32).toString("base64url"),
				(stored) => stored.length >= AdminTokenMinLength,
			),
	})
	const encryptionKeys = yield* Option.match(configured.encryptionKeys, {
		onSome: (value) => Effect.succeed({ value, created: false }),
		onNone: () =>
			readOrCreate(join(dataDir, "encryption-keys"), () => `local1:${randomBytes(32).toString("base64")}`),
	})
	yield* Option.isNone(configured.adminToken)
		? Console.log(
				adminToken.created
					? `admin token (generated, stored in ${join(dataDir, "admin-token")}): ${adminToken.value}`
					: `admin token: see ${join(dataDir, "admin-token")}`,
			)
		: Effect.void
	return new Map([
		["ADMIN_TOKEN", adminToken.value],
		["ENCRYPTION_KEYS", encryptionKeys.value],
	])
})

// --- [LAYERS]

const withLocalSecrets = <A, E, R>(layer: Layer.Layer<A, E, R>) =>
	Layer.unwrapEffect(
		Effect.map(localSecrets, (secrets) =>
			layer.pipe(
				Layer.provide(
					Layer.setConfigProvider(
						ConfigProvider.fromEnv().pipe(ConfigProvider.orElse(() => ConfigProvider.fromMap(secrets))),
					),
				),
			),
		),
	)

// --- [EXPORT]

export { withLocalSecrets }
