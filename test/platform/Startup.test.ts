// Startup.explain turns what a failed start died of into one line naming what to do: a missing redacted setting says
// "is not set" (never `<redacted>`, about a value that does not exist), a malformed one gives the reason without the
// value, PostgreSQL's "database does not exist" names the createdb command, and a busy port names its setting.
import { describe, expect, it } from "@effect/vitest"
import { Cause, Config, ConfigProvider, Effect, Exit, Option } from "effect"
import { CryptoLive } from "../../platform/Crypto.ts"
import { Startup, StartupError } from "../../platform/Startup.ts"

// --- [FUNCTIONS]

const explainWith = (env: Record<string, string>, cause: Cause.Cause<unknown>) =>
	Startup.explain(cause).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))

const configFailure = <A>(config: Config.Config<A>, env: Record<string, string>) =>
	Effect.flip(Effect.withConfigProvider(config, ConfigProvider.fromMap(new Map(Object.entries(env)))))

// --- [SUITE]

describe("Startup.explain", () => {
	it.effect("a missing redacted setting is 'not set', with the format, and never '<redacted>'", () =>
		Effect.gen(function* () {
			const error = yield* configFailure(Config.redacted("ENCRYPTION_KEYS"), {})
			const line = yield* explainWith({}, Cause.fail(error))
			expect(Option.getOrThrow(line)).toMatch(/^ENCRYPTION_KEYS is not set: expected id:base64key/)
			expect(Option.getOrThrow(line)).not.toContain("<redacted>")
		}),
	)

	it.effect("a malformed ENCRYPTION_KEYS gives the reason and the format, never the key", () =>
		Effect.gen(function* () {
			const key = Buffer.alloc(16, 9).toString("base64")
			const exit = yield* Effect.exit(
				Effect.provide(Effect.void, CryptoLive).pipe(
					Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ENCRYPTION_KEYS", `k1:${key}`]]))),
				),
			)
			const cause = Exit.isFailure(exit) ? exit.cause : Cause.empty
			const line = Option.getOrThrow(yield* explainWith({}, cause))
			expect(line).toContain("ENCRYPTION_KEYS is invalid (entry 1: key must be base64 of exactly 32 bytes)")
			expect(line).toContain("32 random bytes in base64")
			expect(line).not.toContain(key)
		}),
	)

	it.effect("a failed Config.validate, which has no path, is its own message (no leading ' is invalid')", () =>
		Effect.gen(function* () {
			const token = Config.redacted("ADMIN_TOKEN").pipe(
				Config.validate({ message: "ADMIN_TOKEN must be longer", validation: () => false }),
			)
			const error = yield* configFailure(token, { ADMIN_TOKEN: "short-secret" })
			const line = Option.getOrThrow(yield* explainWith({}, Cause.fail(error)))
			expect(line).toBe("ADMIN_TOKEN must be longer")
		}),
	)

	it.effect("PostgreSQL's 3D000 (wrapped) names the database and the createdb command, without the password", () =>
		Effect.gen(function* () {
			const pgError = Object.assign(new Error('database "shop" does not exist'), { code: "3D000" })
			const wrapped = { _tag: "SqlError", message: "PgClient: Failed to connect", cause: pgError }
			const line = Option.getOrThrow(
				yield* explainWith({ DATABASE_URL: "postgres://app:hunter2@db.local:6543/shop" }, Cause.die(wrapped)),
			)
			expect(line).toBe(
				'database "shop" (DATABASE_URL) does not exist: create it with `createdb -h db.local -p 6543 -U app shop`, then run `npm run migrate`',
			)
		}),
	)

	it.effect("EADDRINUSE names the setting whose port it is (defaults included)", () =>
		Effect.gen(function* () {
			const busy = (port: number) =>
				Cause.fail({
					_tag: "ServeError",
					cause: Object.assign(new Error("listen"), { code: "EADDRINUSE", port }),
				})
			expect(Option.getOrThrow(yield* explainWith({ GATEWAY_PORT: "9999" }, busy(9999)))).toBe(
				"port 9999 is in use: set GATEWAY_PORT to a free port, or stop the process that holds it",
			)
			expect(Option.getOrThrow(yield* explainWith({}, busy(34431)))).toContain("set RUNNER_PORT")
		}),
	)

	it.effect("a StartupError is its own message; an unknown failure is not explained", () =>
		Effect.gen(function* () {
			const own = yield* explainWith({}, Cause.fail(new StartupError({ message: "do this" })))
			expect(own).toEqual(Option.some("do this"))
			expect(yield* explainWith({}, Cause.die(new Error("boom")))).toEqual(Option.none())
		}),
	)
})
