// The gateway's /openapi.json is a valid OpenAPI 3.1 document a client can call the API from: three tenant routes are
// called with requests built only from what the document declares (server, path, security schemes, parameters), and
// each answer has a declared status and a body of the declared schema.
import { Validator } from "@seriousme/openapi-schema-validator"
import { Ajv2020 } from "ajv/dist/2020.js"
import addFormats from "ajv-formats"
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"

// --- [TYPES]

type Json = Record<string, unknown>

type Parameter = { readonly name: string; readonly in: string; readonly required?: boolean; readonly schema?: Json }

type Operation = {
	readonly summary?: string
	readonly security: ReadonlyArray<Record<string, ReadonlyArray<string>>>
	readonly parameters?: ReadonlyArray<Parameter | { readonly $ref: string }>
	readonly requestBody?: { readonly content: Record<string, { readonly schema: Json }> }
	readonly responses: Record<string, { readonly content?: Record<string, { readonly schema: Json }> }>
}

type Document = {
	readonly servers: ReadonlyArray<{ readonly url: string }>
	readonly paths: Record<string, Record<string, Operation>>
	readonly components: {
		readonly securitySchemes: Record<string, { type: string; in?: string; name?: string; scheme?: string }>
		readonly parameters?: Record<string, Parameter>
	}
}

type Answer = { readonly status: number; readonly body: unknown }

// --- [FIXTURES]

const encodeJson = Schema.encodeSync(Schema.parseJson(Schema.Unknown))
const decodeJson = Schema.decodeUnknownSync(Schema.parseJson(Schema.Unknown))

let platform: Awaited<ReturnType<typeof startPlatform>>
let documentUrl: string
let document: Document
let ajv: Ajv2020

// What the test knows that the document cannot: the tenant, the credential and the values of declared parameters.
const credentials = (): Record<string, string> => ({ appId: "openapi-co", bearer: platform.adminToken })

const pointer = (...segments: ReadonlyArray<string>) =>
	`openapi.json#/${segments.map((segment) => segment.replaceAll("~", "~0").replaceAll("/", "~1")).join("/")}`

const parameterOf = (entry: Parameter | { readonly $ref: string }): Parameter =>
	"$ref" in entry
		? (document.components.parameters?.[entry.$ref.replace("#/components/parameters/", "")] as Parameter)
		: entry

// A request to `method path` built from the operation's declarations: the first security requirement whose schemes
// the test holds a value for, every declared path parameter, optional header parameters it has values for.
const call = async (
	method: string,
	path: string,
	values: {
		readonly path?: Record<string, string>
		readonly headers?: Record<string, string>
		readonly body?: unknown
	},
): Promise<Answer & { readonly operation: Operation }> => {
	const operation = document.paths[path]?.[method]
	expect(operation, `${method} ${path} is declared`).toBeDefined()
	const declared = operation as Operation
	const held = credentials()
	const requirement = declared.security.find((candidate) => Object.keys(candidate).every((name) => name in held))
	expect(requirement, `${method} ${path} has a security requirement the client can meet`).toBeDefined()
	const securityHeaders = Object.keys(requirement ?? {}).map((name) => {
		const scheme = document.components.securitySchemes[name]
		expect(scheme?.type === "http" || (scheme?.type === "apiKey" && scheme.in === "header")).toBe(true)
		return scheme?.type === "http"
			? ["authorization", `Bearer ${held[name]}`]
			: [String(scheme?.name), String(held[name])]
	})
	const parameters = (declared.parameters ?? []).map(parameterOf)
	const resolvedPath = parameters
		.filter((parameter) => parameter.in === "path")
		.reduce((url, parameter) => {
			const value = values.path?.[parameter.name]
			expect(value, `a value for path parameter ${parameter.name}`).toBeDefined()
			return url.replace(`{${parameter.name}}`, encodeURIComponent(String(value)))
		}, path)
	const parameterHeaders = parameters
		.filter((parameter) => parameter.in === "header" && values.headers?.[parameter.name] !== undefined)
		.map((parameter) => [parameter.name, String(values.headers?.[parameter.name])])
	expect(
		Object.keys(values.headers ?? {}).filter(
			(name) => !parameterHeaders.some(([declaredName]) => declaredName === name),
		),
	).toEqual([])
	const bodySchema = declared.requestBody?.content["application/json"]?.schema
	expect(values.body === undefined || bodySchema !== undefined).toBe(true)
	expect(
		values.body === undefined ||
			ajv.validate(
				{ $ref: pointer("paths", path, method, "requestBody", "content", "application/json", "schema") },
				values.body,
			),
		encodeJson(ajv.errors ?? null),
	).toBe(true)
	const server = new URL(document.servers[0]?.url ?? "/", documentUrl)
	const response = await fetch(new URL(resolvedPath.replace(/^\//, ""), `${server.href.replace(/\/?$/, "/")}`), {
		method: method.toUpperCase(),
		headers: Object.fromEntries([
			...securityHeaders,
			...parameterHeaders,
			...(values.body === undefined ? [] : [["content-type", "application/json"]]),
		]),
		...(values.body === undefined ? {} : { body: encodeJson(values.body) }),
	})
	const text = await response.text()
	return { status: response.status, body: text.length === 0 ? undefined : decodeJson(text), operation: declared }
}

// The answer's status is declared by the operation and its body is of the schema declared for that status.
const expectDeclared = (method: string, path: string, answer: Answer & { readonly operation: Operation }) => {
	const status = String(answer.status)
	expect(Object.keys(answer.operation.responses), encodeJson(answer.body ?? null)).toContain(status)
	const schema = answer.operation.responses[status]?.content?.["application/json"]?.schema
	expect(schema, `${method} ${path} ${status} declares a JSON body`).toBeDefined()
	const valid = ajv.validate(
		{ $ref: pointer("paths", path, method, "responses", status, "content", "application/json", "schema") },
		answer.body,
	)
	expect(valid, `${encodeJson(ajv.errors ?? null)} in ${encodeJson(answer.body ?? null)}`).toBe(true)
}

beforeAll(async () => {
	platform = await startPlatform({ JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1" })
	expect(platform.ready).toBe(true)
	const created = await fetch(`${platform.baseUrl}/admin/v1/tenants`, {
		method: "POST",
		headers: { authorization: `Bearer ${platform.adminToken}`, "content-type": "application/json" },
		body: '{"slug":"openapi-co","name":"OpenAPI Co"}',
	})
	expect(created.status).toBe(201)
	documentUrl = `${platform.baseUrl}/openapi.json`
	document = (await (await fetch(documentUrl)).json()) as Document
	ajv = new Ajv2020({ strict: false, allErrors: true })
	addFormats.default(ajv)
	ajv.addSchema(document as unknown as Json, "openapi.json")
}, 120_000)

afterAll(async () => {
	await platform?.stop()
}, 60_000)

// --- [TESTS]

describe("the OpenAPI document", () => {
	it("is a valid OpenAPI 3.1 document with a summary for every operation and a server to call", async () => {
		const result = await new Validator().validate(document as unknown as Json)
		expect(result.errors ?? [], encodeJson(result.errors ?? null)).toEqual([])
		expect(result.valid).toBe(true)
		const unsummarised = Object.entries(document.paths).flatMap(([path, item]) =>
			Object.entries(item)
				.filter(([, operation]) => (operation.summary ?? "").length === 0)
				.map(([method]) => `${method} ${path}`),
		)
		expect(unsummarised).toEqual([])
		expect(document.servers[0]?.url).toBe(platform.baseUrl)
		// The WebSocket route lives beside the HttpApi; the document still describes it.
		expect(document.paths["/v1/realtime"]?.["get"]?.summary).toBe("Open a realtime WebSocket")
	})

	it("declares X-App-Id with the credential on tenant routes and Idempotency-Key on every mutating route", () => {
		expect(document.components.securitySchemes["appId"]).toMatchObject({
			type: "apiKey",
			in: "header",
			name: "X-App-Id",
		})
		expect(document.paths["/v1/jobs"]?.["post"]?.security).toEqual([
			{ appId: [], bearer: [] },
			{ appId: [], cookie: [] },
		])
		expect(document.paths["/admin/v1/tenants"]?.["post"]?.security).toEqual([{ bearer: [] }])
		const mutating = Object.entries(document.paths).flatMap(([path, item]) =>
			Object.entries(item)
				.filter(([method]) => ["post", "put", "patch", "delete"].includes(method))
				.map(([method, operation]) => ({
					operation: `${method} ${path}`,
					idempotencyKey: (operation.parameters ?? [])
						.map(parameterOf)
						.some(
							(parameter) =>
								parameter.name === "Idempotency-Key" &&
								parameter.in === "header" &&
								parameter.required === false,
						),
				})),
		)
		expect(mutating.length).toBeGreaterThan(10)
		expect(mutating.filter((entry) => !entry.idempotencyKey)).toEqual([])
		expect(encodeJson(document)).not.toContain('"additionalProperties":false')
	})

	it("calls GET /v1/tenant, POST /v1/jobs and GET /v1/jobs/{id} from the document alone", async () => {
		const tenant = await call("get", "/v1/tenant", {})
		expect(tenant.status).toBe(200)
		expectDeclared("get", "/v1/tenant", tenant)
		expect(tenant.body).toMatchObject({ slug: "openapi-co" })

		const submitted = await call("post", "/v1/jobs", {
			headers: { "Idempotency-Key": `openapi-${crypto.randomUUID()}` },
			body: { type: "http.call", payload: { url: `${platform.baseUrl}/health/live`, method: "GET" } },
		})
		expect(submitted.status).toBe(202)
		expectDeclared("post", "/v1/jobs", submitted)
		const job = submitted.body as { readonly id: string }

		const fetched = await call("get", "/v1/jobs/{id}", { path: { id: job.id } })
		expect(fetched.status).toBe(200)
		expectDeclared("get", "/v1/jobs/{id}", fetched)
		expect(fetched.body).toMatchObject({ id: job.id, type: "http.call" })

		const unknown = await call("get", "/v1/jobs/{id}", { path: { id: crypto.randomUUID() } })
		expect(unknown.status).toBe(404)
		expectDeclared("get", "/v1/jobs/{id}", unknown)
	})

	it("an unknown body field is ignored, as the document (no additionalProperties: false) says", async () => {
		const submitted = await call("post", "/v1/jobs", {
			body: { type: "http.call", payload: { url: `${platform.baseUrl}/health/live` }, note: "extra" },
		})
		expect(submitted.status).toBe(202)
		expectDeclared("post", "/v1/jobs", submitted)
	})
})

describe("validation messages say what is wrong in plain words", () => {
	it("an enum filter, an empty job array, a bad optional field and a wrong payload method", async () => {
		const listed = await fetch(`${platform.baseUrl}/v1/jobs?status=bogus`, {
			headers: { "x-app-id": "openapi-co", authorization: `Bearer ${platform.adminToken}` },
		})
		expect(listed.status).toBe(400)
		expect(await listed.json()).toMatchObject({
			_tag: "ValidationError",
			message: "status: must be one of queued, running, succeeded, failed, dead_lettered, cancelled",
			issues: [
				{
					path: ["status"],
					message: "must be one of queued, running, succeeded, failed, dead_lettered, cancelled",
				},
			],
		})
		const submission = pointer("paths", "/v1/jobs", "post", "requestBody", "content", "application/json", "schema")
		expect(ajv.validate({ $ref: submission }, []), "the document refuses an empty array too").toBe(false)
		const submit = (body: string) =>
			fetch(`${platform.baseUrl}/v1/jobs`, {
				method: "POST",
				headers: {
					"x-app-id": "openapi-co",
					authorization: `Bearer ${platform.adminToken}`,
					"content-type": "application/json",
				},
				body,
			}).then(async (response) => ({ status: response.status, body: (await response.json()) as Json }))
		expect(await submit("[]")).toMatchObject({
			status: 400,
			body: {
				_tag: "ValidationError",
				message: "request: must be an object or a non-empty array (at least 1 item(s))",
			},
		})
		const blankKey = await submit(
			`{"type":"http.call","payload":{"url":"${platform.baseUrl}/health/live"},"dedupeKey":""}`,
		)
		expect(blankKey).toMatchObject({
			status: 400,
			body: { message: "dedupeKey: must be a string at least 1 character(s) long" },
		})
		expect(encodeJson(blankKey.body)).not.toContain("undefined")
		const badMethod = await submit(
			`{"type":"http.call","payload":{"url":"${platform.baseUrl}/health/live","method":"SECRET-VALUE"}}`,
		)
		expect(badMethod).toMatchObject({
			status: 400,
			body: {
				message: "payload.method: must be one of GET, POST, PUT, PATCH, DELETE",
				issues: [{ path: ["payload", "method"], message: "must be one of GET, POST, PUT, PATCH, DELETE" }],
			},
		})
		expect(encodeJson(badMethod.body)).not.toContain("SECRET-VALUE")
		const missing = await submit('{"payload":{}}')
		expect(missing).toMatchObject({ status: 400, body: { message: "type: is required" } })
	})
})
