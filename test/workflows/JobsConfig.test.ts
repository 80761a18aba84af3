// JOBS_FAULT_INJECTION is accepted only in tests (NODE_ENV=test): anywhere else it is a configuration error that names
// the setting, so a runner refuses to start with it instead of failing jobs on purpose.
import { describe, expect, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Either, Option } from "effect"
import { Startup } from "../../platform/Startup.ts"
import { JobsConfig } from "../../workflows/JobsConfig.ts"

const read = (settings: Record<string, string>) =>
	JobsConfig.pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(settings)))), Effect.either)

describe("JobsConfig", () => {
	it.effect("fault injection is refused without NODE_ENV=test, with a message naming it", () =>
		Effect.gen(function* () {
			for (const environment of [{}, { NODE_ENV: "production" }, { NODE_ENV: "development" }]) {
				const refused = yield* read({ JOBS_FAULT_INJECTION: "tenant.delete:complete", ...environment })
				expect(Either.isLeft(refused)).toBe(true)
				const line = yield* Either.match(refused, {
					onLeft: (error) => Startup.explain(Cause.fail(error)),
					onRight: () => Effect.succeed(Option.none<string>()),
				})
				expect(Option.getOrNull(line)).toMatch(/^JOBS_FAULT_INJECTION is invalid \(.*NODE_ENV=test.*\)/)
			}
		}),
	)

	it.effect("fault injection is accepted with NODE_ENV=test; unset, it is empty everywhere", () =>
		Effect.gen(function* () {
			const accepted = yield* read({ JOBS_FAULT_INJECTION: "tenant.delete:complete", NODE_ENV: "test" })
			expect(Either.map(accepted, (config) => config.faultInjection)).toEqual(
				Either.right("tenant.delete:complete"),
			)
			const unset = yield* read({ NODE_ENV: "production" })
			expect(Either.map(unset, (config) => config.faultInjection)).toEqual(Either.right(""))
		}),
	)
})
