// The folder boundaries and seed rules are lint rules, not review habits: planted violations fail the project's own
// lint config, and the allowed imports pass.
import { ESLint } from "eslint"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

// --- [CONSTANTS]

const root = fileURLToPath(new URL("..", import.meta.url))
const eslint = new ESLint({ cwd: root })

// --- [FUNCTIONS]

// The rule ids lint reports for `code` placed at `path` (a file that does not exist: only its folder matters).
const violations = async (path: string, code: string) =>
	(await eslint.lintText(code, { filePath: `${root}${path}` })).flatMap((result) =>
		result.messages.map((message) => message.ruleId),
	)

// --- [TESTS]

describe("lint boundaries", () => {
	it("the gateway may not import a repo or a handler, only protocol, model and error files", async () => {
		expect(
			await violations("gateway/Planted.ts", 'import { TenantRepo } from "../entities/tenant/TenantRepo.ts"\n'),
		).toEqual(["no-restricted-imports"])
		expect(
			await violations("gateway/Planted.ts", 'import { JobEntityLive } from "../entities/job/JobEntity.ts"\n'),
		).toEqual(["no-restricted-imports"])
		expect(
			await violations(
				"gateway/Planted.ts",
				'import { Tenant } from "../entities/tenant/TenantProtocol.ts"\nimport { TenantView } from "../entities/tenant/TenantModel.ts"\n',
			),
		).toEqual([])
		// The same from a domain folder of the gateway, two levels down.
		expect(
			await violations("gateway/jobs/Planted.ts", 'import { JobRepo } from "../../entities/job/JobRepo.ts"\n'),
		).toEqual(["no-restricted-imports"])
		expect(
			await violations("gateway/jobs/Planted.ts", 'import { Job } from "../../entities/job/JobProtocol.ts"\n'),
		).toEqual([])
	})

	it("platform imports nothing of the domain; only entrypoints import runners; migrations import no lists", async () => {
		expect(await violations("platform/Planted.ts", 'import { TenantId } from "../entities/Tenancy.ts"\n')).toEqual([
			"no-restricted-imports",
		])
		expect(await violations("entities/Planted.ts", 'import { RunnerLive } from "../runners/Runner.ts"\n')).toEqual([
			"no-restricted-imports",
		])
		expect(
			await violations(
				"workflows/Planted.ts",
				'import { TenantCache } from "../gateway/tenant/TenantCache.ts"\n',
			),
		).toEqual(["no-restricted-imports"])
		expect(
			await violations(
				"migrations/0099_planted.ts",
				'import { JobStatuses } from "../entities/job/JobModel.ts"\n',
			),
		).toEqual(["no-restricted-imports"])
		expect(await violations("runners/runner/Planted.ts", 'import { RunnerLive } from "../Runner.ts"\n')).toEqual([])
	})

	it("seed rules: no 1–2 letter parameter names, no if, no let", async () => {
		expect(
			await violations("gateway/Planted.ts", "const double = (x: number) => x * 2\nexport { double }\n"),
		).toEqual(["no-restricted-syntax"])
		expect(
			await violations(
				"entities/Planted.ts",
				"const sign = (value: number) => {\n\tlet result = 0\n\tif (value > 0) result = 1\n\treturn result\n}\nexport { sign }\n",
			),
		).toEqual(["no-restricted-syntax", "no-restricted-syntax"])
	})

	it("seed rule: module-level types are derived from schemas or values, never written by hand (tests excepted)", async () => {
		expect(
			await violations(
				"entities/Planted.ts",
				"interface Asset {\n\treadonly name: string\n}\nexport type { Asset }\n",
			),
		).toEqual(["no-restricted-syntax"])
		expect(
			await violations(
				"platform/Planted.ts",
				'type Asset = { readonly name: string }\ntype Kind = "image" | "video"\nexport type { Asset, Kind }\n',
			),
		).toEqual(["no-restricted-syntax", "no-restricted-syntax"])
		expect(
			await violations(
				"gateway/Planted.ts",
				[
					'import { Effect, Schema } from "effect"',
					"const Asset = Schema.Struct({ name: Schema.String })",
					"type Asset = typeof Asset.Type",
					'type AssetName = Asset["name"]',
					'type Encoded = Pick<Schema.Schema.Encoded<typeof Asset>, "name">',
					"const make = () => Effect.succeed({ size: 1 })",
					"type Made = Effect.Effect.Success<ReturnType<typeof make>>",
					"export { Asset, type AssetName, type Encoded, type Made, make }",
					"",
				].join("\n"),
			),
		).toEqual([])
		expect(
			await violations("test/Planted.test.ts", "type Body = { readonly name: string }\nexport type { Body }\n"),
		).toEqual([])
		// A generic alias is a kit's contract over its caller's types (a transition row over the caller's states).
		expect(
			await violations(
				"entities/Planted.ts",
				"type Row<State extends string> = { readonly from: ReadonlyArray<State>; readonly to: State }\nexport type { Row }\n",
			),
		).toEqual([])
	})
})
