// The compose file and the image it builds, checked without Docker: every process is a package.json script of one
// image, runners are distinct cluster members, gateways report readiness, and nothing starts before migrations ran.
import { readFileSync } from "node:fs"
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
	environment: Schema.optional(Schema.Record({ key: Schema.String, value: Schema.String })),
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

// `npm start` → "start", `npm run runner` → "runner", anything else → undefined.
const scriptOf = (command: string | ReadonlyArray<string>) => {
	const [npm, verb, script] = words(command)
	return npm !== "npm" ? undefined : verb === "start" ? "start" : verb === "run" ? script : undefined
}

const servicesRunning = (script: string) =>
	services.filter(([, service]) => service.command !== undefined && scriptOf(service.command) === script)

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

	it("runs only package.json scripts (`npm run <script>` or `npm start`)", () => {
		const commands = services.flatMap(([name, service]) =>
			service.command === undefined ? [] : [{ name, script: scriptOf(service.command) }],
		)
		expect(commands.length).toBeGreaterThanOrEqual(5)
		commands.forEach(({ name, script }) => {
			expect(script, `${name}: command is not npm run <script> / npm start`).toBeDefined()
			expect(Object.keys(scripts), `${name}: no package.json script "${script}"`).toContain(script)
		})
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
					expect.arrayContaining(["DATABASE_URL", "REDIS_URL", "ENCRYPTION_KEYS", "ADMIN_TOKEN"]),
				)
			})
	})
})

describe("Dockerfile", () => {
	const dockerfile = read("Dockerfile")

	it("installs with npm ci on node:20-slim and starts the all-in-one by default", () => {
		expect(dockerfile).toMatch(/^FROM node:20-slim\b/m)
		expect(dockerfile).toMatch(/^RUN npm ci\b/m)
		expect(dockerfile).toMatch(/^CMD \["npm", "start"\]$/m)
	})
})
