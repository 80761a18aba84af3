// What the generated OpenAPI document cannot say through annotations alone: tenant routes need `X-App-Id` next to
// their credential, every mutating route takes `Idempotency-Key` (the `idempotent` edge applies it to POST, PUT,
// PATCH and DELETE alike), unknown body fields are ignored (so no schema claims `additionalProperties: false`), and
// `servers` names the gateway as the caller reaches it: OAUTH_CALLBACK_BASE_URL when set, else the request's host.
import { HttpApi, HttpApiBuilder, HttpServerRequest, HttpServerResponse, OpenApi } from "@effect/platform"
import { Config, Effect, Layer, Option } from "effect"

// --- [TYPES]

type Json = Readonly<Record<string, unknown>>

// --- [CONSTANTS]

const AppIdScheme = "appId"
const MutatingMethods: ReadonlyArray<string> = ["post", "put", "patch", "delete"]
const HostPattern = /^[A-Za-z0-9.-]+(:\d{1,5})?$|^\[[0-9A-Fa-f:.]+\](:\d{1,5})?$/

const IdempotencyKeyParameter = {
	name: "Idempotency-Key",
	in: "header",
	required: false,
	description:
		"1–255 printable ASCII characters. A repeat with the same key and credential within 24 h answers the first " +
		"request's outcome (with `Idempotent-Replayed: true`).",
	schema: { type: "string", minLength: 1, maxLength: 255, pattern: "^[\\x20-\\x7e]+$" },
}

const AppIdSecurityScheme = {
	type: "apiKey",
	in: "header",
	name: "X-App-Id",
	description: "The tenant, by id or slug. Required on every operation that lists it (400 MissingTenant without it).",
}

// --- [FUNCTIONS]

// An operation of a tenant group: `X-App-Id` is required together with each credential it accepts.
const tenantRoute = (operation: Json): Json => {
	const security = (operation["security"] ?? []) as ReadonlyArray<Json>
	return {
		...operation,
		security:
			security.length === 0
				? [{ [AppIdScheme]: [] }]
				: security.map((requirement) => ({ [AppIdScheme]: [], ...requirement })),
	}
}

// Unknown fields are ignored on decode: a schema that forbids them would describe another server. The generator marks
// its `unknown`/`any` leaves with one fixed `$id` each; repeated in one document, an `$id` makes it invalid.
const dropped = (key: string, field: unknown) =>
	(key === "additionalProperties" && field === false) ||
	(key === "$id" && typeof field === "string" && field.startsWith("/schemas/"))

const portable = (value: unknown): unknown =>
	Array.isArray(value)
		? value.map(portable)
		: typeof value === "object" && value !== null
			? Object.fromEntries(
					Object.entries(value)
						.filter(([key, field]) => !dropped(key, field))
						.map(([key, field]) => [key, portable(field)]),
				)
			: value

const withIdempotencyKey = (item: Json): Json =>
	Object.fromEntries(
		Object.entries(item).map(([method, operation]) =>
			MutatingMethods.includes(method)
				? [
						method,
						{
							...(operation as Json),
							parameters: [
								...(((operation as Json)["parameters"] ?? []) as ReadonlyArray<unknown>),
								{ $ref: "#/components/parameters/IdempotencyKey" },
							],
						},
					]
				: [method, operation],
		),
	)

// The WebSocket route is served beside the HttpApi (it upgrades the connection), so the generator does not see it.
const RealtimePath: Json = {
	get: {
		tags: ["realtime"],
		operationId: "realtime.connect",
		summary: "Open a realtime WebSocket",
		description:
			"Upgrades to a WebSocket. The tenant is the `app_id` query parameter (browsers cannot set headers on a " +
			'WebSocket). The first frame must be `{ "type": "auth", "token": "<session token or API key>" }` within ' +
			"REALTIME_AUTH_TIMEOUT, else close 4401. Client frames: subscribe, unsubscribe, publish, presence, ping; " +
			"server frames: authenticated, message, presence_diff, error, pong, session_revoked (see the README).",
		parameters: [
			{
				name: "app_id",
				in: "query",
				required: true,
				schema: { type: "string" },
				description: "The tenant, by id or slug.",
			},
		],
		responses: {
			"101": { description: "Switching Protocols: the connection is a WebSocket from here on" },
			"400": { description: "MissingTenant" },
			"404": { description: "TenantNotFound" },
			"426": { description: "UpgradeRequired: not a WebSocket handshake" },
			"429": { description: "TooManyRequests: too many connections from this address or user" },
			"503": { description: "ServiceUnavailable" },
		},
	},
}

// The internal API (gateway/rpc/): an @effect/rpc group spoken as NDJSON, served beside the HttpApi.
const RpcPathItem: Json = {
	post: {
		tags: ["internal"],
		operationId: "rpc.call",
		summary: "Internal API (@effect/rpc over HTTP, NDJSON)",
		description:
			"The internal API as one @effect/rpc group (procedures `tenants.*`, `jobs.*`, `workflows.*`, `dlq.*`, " +
			"`users.*`, `requests.caused`), for services using the typed client in gateway/rpc/InternalRpcClient.ts. " +
			"The body is NDJSON: one @effect/rpc message per line; the answer streams NDJSON messages back, typed " +
			"errors included (Unauthorized, Forbidden, MissingTenant, TenantNotFound and each procedure's own). " +
			"ADMIN_TOKEN calls every procedure; a session token or API key with X-App-Id calls the tenant's `jobs.*`.",
		security: [{ bearer: [] }],
		requestBody: {
			required: true,
			content: { "application/ndjson": { schema: { type: "string" } } },
		},
		responses: {
			"200": {
				description: "NDJSON: the procedures' answers (exits, typed errors included)",
				content: { "application/ndjson": { schema: { type: "string" } } },
			},
			"413": { description: "PayloadTooLarge" },
			"415": { description: "UnsupportedMediaType: the body must be application/ndjson" },
		},
	},
}

const documentTransform = (spec: Json): Json => {
	const relaxed = portable(spec) as Json
	const components = (relaxed["components"] ?? {}) as Json
	return {
		...relaxed,
		components: {
			...components,
			securitySchemes: { ...((components["securitySchemes"] ?? {}) as Json), [AppIdScheme]: AppIdSecurityScheme },
			parameters: { ...((components["parameters"] ?? {}) as Json), IdempotencyKey: IdempotencyKeyParameter },
		},
		paths: {
			...Object.fromEntries(
				Object.entries(relaxed["paths"] as Json).map(([path, item]) => [
					path,
					withIdempotencyKey(item as Json),
				]),
			),
			"/v1/realtime": RealtimePath,
			"/rpc": withIdempotencyKey(RpcPathItem),
		},
	}
}

const serverUrl = (publicUrl: Option.Option<string>, host: string | undefined) =>
	Option.orElse(publicUrl, () =>
		Option.fromNullable(host).pipe(
			Option.filter((value) => HostPattern.test(value)),
			Option.map((value) => `http://${value}`),
		),
	).pipe(
		Option.map((url) => url.replace(/\/+$/, "")),
		Option.getOrElse(() => "/"),
	)

// --- [LAYERS]

// GET /openapi.json: the document of the served HttpApi with the `servers` this caller can use.
const OpenApiRouteLive = HttpApiBuilder.Router.use((router) =>
	Effect.gen(function* () {
		const { api } = yield* HttpApi.Api
		const publicUrl = yield* Config.option(Config.nonEmptyString("OAUTH_CALLBACK_BASE_URL")).pipe(Effect.orDie)
		const spec = OpenApi.fromApi(api)
		yield* router.get(
			"/openapi.json",
			Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
				HttpServerResponse.unsafeJson({
					...spec,
					servers: [{ url: serverUrl(publicUrl, request.headers["host"]), description: "this gateway" }],
				}),
			),
		)
	}),
) satisfies Layer.Layer<never, never, HttpApi.Api>

// --- [EXPORT]

export { documentTransform, OpenApiRouteLive, tenantRoute }
