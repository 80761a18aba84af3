// The compose file and the image it builds, checked without Docker: every process is the node invocation of a
// package.json script (node as the container's main process, so SIGTERM reaches it), runners are distinct cluster
// members, runners and gateways report health, nothing starts before migrations ran, and every setting the README
// documents reaches the processes.
import { readdirSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Schema } from "effect"
import { describe, expect, it } from "vitest"
import { parse } from "yaml"

const root = fileURLToPath(new URL("..", import.meta.url))
const read = (file: string) => readFileSync(`${root}${file}`, "utf8")

const StringOrList = Schema.Union(Schema.String, Schema.Array(Schema.String))

const Service = Schema.Struct({
	image: Schema.optional(Schema.String),
	build: Schema.optional(Schema.Union(Schema.String, Schema.Struct({ context: Schema.String }))),
	command: Schema.optional(StringOrList),
	// A key without a value is passed through from the shell that runs compose.
	environment: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.NullOr(Schema.String) })),
	ports: Schema.optional(Schema.Array(Schema.String)),
	healthcheck: Schema.optional(Schema.Struct({ test: StringOrList })),
	depends_on: Schema.optional(
		Schema.Union(
			Schema.Array(Schema.String),
			Schema.Record({
				key: Schema.String,
				value: Schema.Struct({ condition: Schema.optional(Schema.String) }),
			}),
		),
	),
})

const Compose = Schema.Struct({ services: Schema.Record({ key: Schema.String, value: Service }) })

const PackageJson = Schema.parseJson(
	Schema.Struct({ scripts: Schema.Record({ key: Schema.String, value: Schema.String }) }),
)

const compose = Schema.decodeUnknownSync(Compose)(parse(read("docker-compose.yml"), { merge: true }))
const scripts = Schema.decodeUnknownSync(PackageJson)(read("package.json")).scripts
const services = Object.entries(compose.services)

const words = (command: string | ReadonlyArray<string>) =>
	typeof command === "string" ? command.trim().split(/\s+/) : [...command]

// The package.json script whose body (after its `exec`) is exactly this command, if any.
const scriptOf = (command: string | ReadonlyArray<string>) =>
	Object.entries(scripts).find(([, body]) => body === `exec ${words(command).join(" ")}`)?.[0]

const servicesRunning = (script: string) =>
	services.filter(([, service]) => service.command !== undefined && scriptOf(service.command) === script)

// The variables the README's configuration table documents (a row may name two: `A` / `B`).
const documented = [
	...(read("README.md").split("## Configuration")[1]?.split("\n## ")[0] ?? "").matchAll(
		/^\| `([A-Z_]+)`(?: \/ `([A-Z_]+)`)?/gm,
	),
].flatMap((match) => [match[1], match[2]].filter((name): name is string => name !== undefined))

// The variables the code reads through Effect Config: `Config.x("NAME")`, `Config.x(Config.y(), "NAME")` and
// `Config.literal(…)("NAME")`.
const readByCode = (folder: string): ReadonlyArray<string> =>
	readdirSync(`${root}${folder}`, { withFileTypes: true }).flatMap((entry) =>
		entry.isDirectory()
			? readByCode(`${folder}/${entry.name}`)
			: entry.name.endsWith(".ts")
				? [
						...read(`${folder}/${entry.name}`).matchAll(
							/Config\.[a-zA-Z]+\(\s*(?:Config\.[a-zA-Z]+\(\),\s*)?"([A-Z][A-Z0-9_]+)"|\)\("([A-Z][A-Z0-9_]+)"\)/g,
						),
					].flatMap((match) => [match[1] ?? match[2] ?? ""])
				: [],
	)

const runners = servicesRunning("runner")
const gateways = servicesRunning("gateway")

describe("docker-compose.yml", () => {
	it("declares postgres, redis, migrate, two runners and two gateways", () => {
		expect(Object.keys(compose.services)).toEqual(
			expect.arrayContaining(["postgres", "redis", "migrate", "runner-1", "runner-2", "gateway-1", "gateway-2"]),
		)
		expect(runners.map(([name]) => name).sort()).toEqual(["runner-1", "runner-2"])
		expect(gateways.map(([name]) => name).sort()).toEqual(["gateway-1", "gateway-2"])
		expect(servicesRunning("migrate").map(([name]) => name)).toEqual(["migrate"])
		expect(compose.services.postgres?.image).toMatch(/^postgres:16/)
		expect(compose.services.redis?.image).toMatch(/^redis:7/)
		expect(words(compose.services.postgres?.healthcheck?.test ?? [])).toContain("pg_isready")
		expect(words(compose.services.redis?.healthcheck?.test ?? []).join(" ")).toContain("redis-cli ping")
	})

	it("runs node directly, as the package.json scripts do (npm would not wait for the drain as PID 1)", () => {
		const commands = services.flatMap(([name, service]) =>
			service.command === undefined ? [] : [{ name, script: scriptOf(service.command) }],
		)
		expect(commands.length).toBeGreaterThanOrEqual(5)
		commands.forEach(({ name, script }) => {
			expect(script, `${name}: command is not the body of a package.json script`).toBeDefined()
		})
		// Every script execs node, so SIGTERM to `npm run <script>` reaches the process (test/e2e/Signals.test.ts).
		;["start", "runner", "gateway", "migrate", "cli"].forEach((script) =>
			expect(scripts[script], script).toMatch(/^exec node /),
		)
	})

	it("gives the runners distinct RUNNER_HOSTs (their service names) and binds them on every interface", () => {
		const hosts = runners.map(([, service]) => service.environment?.RUNNER_HOST)
		expect(hosts).toEqual(runners.map(([name]) => name))
		expect(new Set(hosts).size).toBe(runners.length)
		runners.forEach(([, service]) => {
			expect(service.environment?.RUNNER_LISTEN_HOST).toBe("0.0.0.0")
			expect(service.environment?.RUNNER_PORT).toBe("34431")
		})
	})

	it("health-checks the runners on their cluster port and starts gateways once both are healthy", () => {
		runners.forEach(([name, service]) => {
			expect(words(service.healthcheck?.test ?? []).join(" "), name).toContain("34431")
		})
		gateways.forEach(([name, service]) => {
			runners.forEach(([runner]) =>
				expect(
					Object.entries(service.depends_on ?? {}).find(([dependency]) => dependency === runner)?.[1],
					name,
				).toEqual({ condition: "service_healthy" }),
			)
		})
	})

	it("health-checks the gateways on /health/ready and publishes 8080 and 8081", () => {
		gateways.forEach(([name, service]) => {
			expect(words(service.healthcheck?.test ?? []).join(" "), name).toContain("/health/ready")
			expect(service.environment?.GATEWAY_HOST, name).toBe("0.0.0.0")
		})
		expect(gateways.flatMap(([, service]) => service.ports ?? []).map((port) => port.split(":")[0])).toEqual([
			"8080",
			"8081",
		])
	})

	it("builds every application service from the same context", () => {
		const contexts = services.flatMap(([, service]) =>
			service.build === undefined
				? []
				: [typeof service.build === "string" ? service.build : service.build.context],
		)
		expect(contexts.length).toBe(5)
		expect(new Set(contexts)).toEqual(new Set(["."]))
	})

	it("starts every runner only after migrate completed successfully", () => {
		runners.forEach(([name, service]) => {
			// A list form of depends_on has no conditions: its entries are index → name and the lookup fails.
			expect(
				Object.entries(service.depends_on ?? {}).find(([dependency]) => dependency === "migrate")?.[1],
				name,
			).toEqual({ condition: "service_completed_successfully" })
		})
	})

	it("hands every application service the shared environment", () => {
		services
			.filter(([, service]) => service.build !== undefined)
			.forEach(([name, service]) => {
				expect(Object.keys(service.environment ?? {}), name).toEqual(
					expect.arrayContaining([
						"DATABASE_URL",
						"REDIS_URL",
						"ENCRYPTION_KEYS",
						"ADMIN_TOKEN",
						"OAUTH_CALLBACK_BASE_URL",
					]),
				)
			})
	})

	it("passes every setting of the README's configuration table through (all-in-one-only ones aside)", () => {
		expect(documented.length).toBeGreaterThan(30)
		// All-in-one-only settings, and the test-only ones.
		const allInOneOnly = [
			"DATA_DIR",
			"EMBEDDED_POSTGRES_PORT",
			"CACHE_MEMORY_MAX_ENTRIES",
			"JOBS_FAULT_INJECTION",
			"NODE_ENV",
		]
		services
			.filter(([, service]) => service.build !== undefined)
			.forEach(([name, service]) => {
				const names = Object.keys(service.environment ?? {})
				documented
					.filter((variable) => !allInOneOnly.includes(variable))
					.filter(
						(variable) =>
							![
								"GATEWAY_HOST",
								"GATEWAY_PORT",
								"RUNNER_HOST",
								"RUNNER_PORT",
								"RUNNER_LISTEN_HOST",
							].includes(variable),
					)
					.forEach((variable) => expect(names, `${name} lacks ${variable}`).toContain(variable))
			})
	})
})

describe("README configuration table", () => {
	it("lists exactly the variables the code reads through Config", () => {
		const code = ["gateway", "entities", "workflows", "platform", "runners", "migrations"].flatMap(readByCode)
		expect(code).toContain("JOBS_HTTP_TIMEOUT")
		expect([...new Set(documented)].sort()).toEqual([...new Set(code)].sort())
	})
})

describe("Dockerfile", () => {
	const dockerfile = read("Dockerfile")

	it("installs with npm ci on node:20-slim, runs as node, and starts the all-in-one's node process by default", () => {
		expect(dockerfile).toMatch(/^FROM node:20-slim\b/m)
		expect(dockerfile).toMatch(/^RUN npm ci\b/m)
		expect(dockerfile).toMatch(/^USER node$/m)
		const command = /^CMD (\[.*\])$/m.exec(dockerfile)?.[1] ?? "[]"
		expect(scriptOf(Schema.decodeUnknownSync(Schema.parseJson(Schema.Array(Schema.String)))(command))).toBe("start")
	})
})
