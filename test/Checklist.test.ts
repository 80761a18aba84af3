// The "How to add a domain" checklist (README) as a test: every entity the runner hosts has a protocol test. The list
// is read from the code: the layers runners/Runner.ts merges into RunnerEntitiesLive, the modules they come from, the
// protocol values those modules call `.toLayer` on, and the protocol files those values are imported from. A protocol
// `XProtocol.ts` is tested by a file `XProtocol.test.ts` under test/ that imports it.
import { readdirSync, readFileSync } from "node:fs"
import path from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "vitest"

// --- [CONSTANTS]

const root = fileURLToPath(new URL("..", import.meta.url))
const runnerFile = path.join(root, "runners/Runner.ts")

// --- [FUNCTIONS]

const read = (file: string) => readFileSync(file, "utf8")

// Identifier → absolute path of the module it is imported from (relative imports only).
const importsOf = (file: string) =>
	new Map(
		[...read(file).matchAll(/import\s+(?:type\s+)?\{([^}]*)\}\s+from\s+"(\.[^"]+)"/g)].flatMap(
			([, names = "", from = ""]) =>
				names
					.split(",")
					.map(
						(name) =>
							name
								.replace(/^\s*type\s+/, "")
								.trim()
								.split(/\s+as\s+/)
								.pop() ?? "",
					)
					.filter((name) => name !== "")
					.map((name) => [name, path.resolve(path.dirname(file), from)] as const),
		),
	)

// The identifiers merged into RunnerEntitiesLive.
const registeredLayers = () => {
	const merged = /const RunnerEntitiesLive = Layer\.mergeAll\(([^)]*)\)/.exec(read(runnerFile))?.[1] ?? ""
	return merged
		.split(",")
		.map((name) => name.trim())
		.filter((name) => name !== "")
}

// Protocol file → the entity or workflow values implemented from it, over every registered module.
const hostedProtocols = () => {
	const runnerImports = importsOf(runnerFile)
	const modules = [...new Set(registeredLayers().map((layer) => runnerImports.get(layer) ?? `unresolved:${layer}`))]
	return modules.flatMap((module) => {
		const imports = importsOf(module)
		return [...read(module).matchAll(/\b(\w+)\.toLayer\(/g)].map(([, value = ""]) => ({
			module: path.relative(root, module),
			value,
			protocol: imports.get(value) ?? `unresolved:${value}`,
		}))
	})
}

const testFiles = (directory: string): ReadonlyArray<string> =>
	readdirSync(directory, { withFileTypes: true }).flatMap((entry) =>
		entry.isDirectory()
			? entry.name === "fixtures"
				? []
				: testFiles(path.join(directory, entry.name))
			: entry.name.endsWith(".test.ts")
				? [path.join(directory, entry.name)]
				: [],
	)

// The test files named after `protocol` that import it.
const protocolTests = (protocol: string) =>
	testFiles(path.join(root, "test")).filter(
		(file) =>
			path.basename(file) === `${path.basename(protocol, ".ts")}.test.ts` &&
			[...importsOf(file).values()].includes(protocol),
	)

// --- [TESTS]

describe("domain checklist", () => {
	it("reads the hosted entities from the runner (the parse itself is checked, so it cannot pass empty)", () => {
		const hosted = hostedProtocols()
		expect(registeredLayers()).toContain("TenantEntitiesLive")
		expect(hosted.map((entry) => entry.value)).toEqual(expect.arrayContaining(["Tenant", "Socket"]))
		expect(hosted.filter((entry) => entry.protocol.startsWith("unresolved:"))).toEqual([])
	})

	it("every entity and workflow the runner hosts has a protocol test (XProtocol.test.ts importing XProtocol.ts)", () => {
		const missing = [...new Set(hostedProtocols().map((entry) => entry.protocol))]
			.filter((protocol) => protocolTests(protocol).length === 0)
			.map((protocol) => path.relative(root, protocol))
		expect(missing).toEqual([])
	})
})
