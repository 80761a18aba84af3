// Schema-driven fuzz of every route the gateway's own /openapi.json lists: requests built by fast-check from the JSON
// schemas of each route's parameters and body (valid values, values with one field of the wrong type or hostile,
// random JSON, raw hostile bodies: deep nesting, huge numbers, broken JSON, wrong content types), with every kind of
// credential and tenant header (none, garbage, another tenant's, the admin token, a session, an API key). Not one
// answer may be a 5xx or fail to come within the request bound; every 4xx is a JSON error with a `_tag`; the platform
// still answers /health/live afterwards. FUZZ_RUNS (default 300) sets the number of requests, FUZZ_SEED replays a run.
import fc from "fast-check"
import { Option, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import {
	arbitraryOf,
	hostileString,
	HostileStrings,
	loadDocument,
	mutated,
	type OpenApiDocument,
	type Operation,
	operationsOf,
} from "../fixtures/OpenApiRoutes.ts"
import { authed, setUpTenant, signIn, type SignedIn } from "../fixtures/SignIn.ts"

// --- [CONSTANTS]

const runs = Number(process.env.FUZZ_RUNS ?? "300")
const seed = Number(process.env.FUZZ_SEED ?? String(Date.now() % 2_147_483_647))
const requestTimeoutMs = 15_000
const concurrency = 6
// Routes that end the fuzzer's own credentials run last, so the rest of the run keeps exercising signed-in paths.
const Destructive = ["POST /v1/users/me/deactivate", "DELETE /v1/auth/session", "DELETE /v1/auth/sessions"]

const encodeJson = Schema.encodeSync(Schema.parseJson())
// fast-check's `anything` may draw a top-level undefined, which has no JSON text.
const toJson = (value: unknown) => encodeJson(value === undefined ? null : value)
const decodeJson = Schema.decodeUnknownOption(Schema.parseJson(Schema.Unknown))

// Bodies no schema generator produces on its own.
const RawBodies = [
	"[".repeat(100_000) + "]".repeat(100_000),
	'{"a":'.repeat(50_000) + "1" + "}".repeat(50_000),
	"[".repeat(5_000) + "]".repeat(5_000),
	'{"name":1e999999}',
	'{"name":-0,"slug":1e-400}',
	'{"name":123456789012345678901234567890123456789}',
	'{"__proto__":{"polluted":true},"name":"x","slug":"proto-x"}',
	'{"constructor":{"prototype":{"polluted":true}}}',
	"{",
	'{"name":"unterminated',
	"\ufeff{}",
	"null",
	"[]",
	'""',
	"0",
	"",
	'{"name":"\\ud800"}',
	'{"a":1,"a":2}',
	"x".repeat(2 * 1024 * 1024),
]

// Sent to every route that takes a body, with valid credentials.
const StructuralBodies = [
	"[".repeat(5_000) + "]".repeat(5_000),
	'{"a":'.repeat(5_000) + "1" + "}".repeat(5_000),
	'{"name":1e999999,"payload":1e999999}',
	'{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}}}',
]

const ContentTypes = [
	"application/json",
	"text/plain",
	"application/x-www-form-urlencoded",
	"multipart/form-data; boundary=zz",
	"application/json; charset=utf-16",
	"application/xml",
]

// --- [TYPES]

type Credentials = { readonly tenantId: string; readonly slug: string; readonly token: string; readonly key: string }

type Case = {
	readonly operation: Operation
	readonly path: string
	readonly headers: Record<string, string>
	readonly body: string | undefined
}

type Outcome = { readonly label: string; readonly ok: boolean; readonly detail: string }

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle
let document: OpenApiDocument
let own: Credentials
let other: Credentials

// --- [FUNCTIONS]

// A tenant with a signed-in user and an API key of that user.
const tenantWithCredentials = async (slug: string, sub: string): Promise<Credentials> => {
	const made = await setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug })
	expect(made.putStatus).toBe(200)
	idp.signInAs({ sub, email: `${sub}@example.test`, name: sub })
	const signed = await signIn(platform.baseUrl, slug)
	expect(signed.status, signed.text).toBe(200)
	const token = (signed.body as SignedIn).token
	const created = await authed(platform.baseUrl, slug, token, "/api-keys", {
		method: "POST",
		body: encodeJson({ name: `fuzz-${slug}` }),
	})
	expect(created.status).toBe(201)
	const key = ((await created.json()) as { key: string }).key
	return { tenantId: made.tenant.id, slug, token, key }
}

// Printable ASCII or Latin-1 only: anything else is not a valid header value for the client.
const headerText = fc.oneof(
	fc.string({ maxLength: 80 }),
	fc.constantFrom("", " ", "A".repeat(300), "caf\u00e9", "..", "%00", "' OR 1=1--", "null"),
)

const pathValue = (operation: Operation, name: string) =>
	fc.oneof(
		{ arbitrary: fc.uuid(), weight: 3 },
		{ arbitrary: fc.uuid().map((uuid) => uuid.toUpperCase()), weight: 1 },
		{ arbitrary: fc.constantFrom(other.tenantId, other.slug, own.tenantId, own.slug), weight: 2 },
		{ arbitrary: fc.constantFrom("idp", "google", "news", "user:x", "events"), weight: 2 },
		{ arbitrary: hostileString, weight: 3 },
		{
			arbitrary: arbitraryOf(
				document,
				operation.parameters.find((parameter) => parameter.name === name)?.schema ?? {},
			).map(String),
			weight: 2,
		},
	)

const queryValue = (schema: Record<string, unknown>) =>
	fc.oneof(
		arbitraryOf(document, schema).map(String),
		fc.constantFrom("0", "-1", "101", "1e309", "abc", "99999999999999999999", "", "1.5", " 5", "[]"),
		hostileString,
	)

const bodyOf = (operation: Operation): fc.Arbitrary<{ readonly text: string | undefined; readonly type: string }> => {
	const valid = operation.body === undefined ? fc.jsonValue({ maxDepth: 2 }) : arbitraryOf(document, operation.body)
	return fc.oneof(
		{ arbitrary: valid.map((value) => ({ text: toJson(value), type: "application/json" })), weight: 4 },
		{ arbitrary: mutated(valid).map((value) => ({ text: toJson(value), type: "application/json" })), weight: 4 },
		{
			arbitrary: fc
				.jsonValue({ maxDepth: 4 })
				.map((value) => ({ text: toJson(value), type: "application/json" })),
			weight: 1,
		},
		{ arbitrary: fc.constantFrom(...RawBodies).map((text) => ({ text, type: "application/json" })), weight: 3 },
		{
			arbitrary: fc.tuple(valid, fc.constantFrom(...ContentTypes)).map(([value, type]) => ({
				text: toJson(value),
				type,
			})),
			weight: 1,
		},
		{ arbitrary: fc.constant({ text: undefined, type: "application/json" }), weight: 1 },
	)
}

const caseOf = (operation: Operation): fc.Arbitrary<Case> => {
	const pathNames = [...operation.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] as string)
	const queries = operation.parameters.filter((parameter) => parameter.in === "query")
	return fc
		.record({
			path: fc.tuple(...pathNames.map((name) => pathValue(operation, name))),
			query: fc.record(
				Object.fromEntries(queries.map((parameter) => [parameter.name, queryValue(parameter.schema)])),
				{ requiredKeys: [] },
			),
			extraQuery: fc.option(fc.tuple(hostileString, hostileString), { nil: undefined }),
			// Mostly the credential and tenant the route expects, so most requests get past authentication.
			credential: fc.oneof(
				{
					arbitrary: operation.path.startsWith("/admin/")
						? fc.constant("admin" as const)
						: fc.constantFrom("own-session" as const, "own-key" as const, "admin" as const),
					weight: 7,
				},
				{
					arbitrary: fc.constantFrom(
						"none" as const,
						"other-session" as const,
						"garbage" as const,
						"empty-bearer" as const,
						"basic" as const,
					),
					weight: 3,
				},
			),
			app: fc.oneof(
				{ arbitrary: fc.constantFrom("own-slug" as const, "own-id" as const), weight: 7 },
				{
					arbitrary: fc.constantFrom(
						"own-id-upper" as const,
						"other-slug" as const,
						"none" as const,
						"empty" as const,
						"unknown" as const,
						"hostile" as const,
					),
					weight: 3,
				},
			),
			appHostile: headerText,
			idempotencyKey: fc.option(headerText, { nil: undefined }),
			requestId: fc.option(headerText, { nil: undefined }),
			body: bodyOf(operation),
		})
		.map((drawn) => {
			const filled = pathNames.reduce(
				(path, name, index) => path.replace(`{${name}}`, encodeURIComponent(String(drawn.path[index]))),
				operation.path,
			)
			const search = new URLSearchParams(
				Object.entries(drawn.query).filter((entry): entry is [string, string] => entry[1] !== undefined),
			)
			drawn.extraQuery === undefined ? undefined : search.append(drawn.extraQuery[0], drawn.extraQuery[1])
			const authorization = {
				none: undefined,
				"own-session": `Bearer ${own.token}`,
				"own-key": `Bearer ${own.key}`,
				"other-session": `Bearer ${other.token}`,
				admin: `Bearer ${platform.adminToken}`,
				garbage: `Bearer ${HostileStrings[0]}`,
				"empty-bearer": "Bearer ",
				basic: "Basic YWRtaW46YWRtaW4=",
			}[drawn.credential]
			const appId = {
				"own-slug": own.slug,
				"own-id": own.tenantId,
				"own-id-upper": own.tenantId.toUpperCase(),
				"other-slug": other.slug,
				none: undefined,
				empty: "",
				unknown: "no-such-tenant",
				hostile: drawn.appHostile,
			}[drawn.app]
			const carriesBody = ["POST", "PUT", "PATCH", "DELETE"].includes(operation.method)
			const headers = Object.fromEntries(
				Object.entries({
					authorization,
					"x-app-id": appId,
					"idempotency-key": drawn.idempotencyKey,
					"x-request-id": drawn.requestId,
					"content-type": carriesBody && drawn.body.text !== undefined ? drawn.body.type : undefined,
				}).filter((entry): entry is [string, string] => entry[1] !== undefined),
			)
			const query = search.toString()
			return {
				operation,
				path: `${filled}${query === "" ? "" : `?${query}`}`,
				headers,
				body: carriesBody ? drawn.body.text : undefined,
			}
		})
}

const label = (fuzz: Case) => `${fuzz.operation.method} ${fuzz.operation.path}`

const describeRequest = (fuzz: Case) =>
	`${fuzz.operation.method} ${fuzz.path.slice(0, 200)} headers=${encodeJson(
		Object.fromEntries(
			Object.entries(fuzz.headers).map(([name, value]) => [
				name,
				name === "authorization" ? value.slice(0, 12) : value.slice(0, 60),
			]),
		),
	)} body=${fuzz.body === undefined ? "none" : `${fuzz.body.length}B ${fuzz.body.slice(0, 80)}`}`

const send = (fuzz: Case): Promise<Outcome> =>
	fetch(`${platform.baseUrl}${fuzz.path}`, {
		method: fuzz.operation.method,
		headers: fuzz.headers,
		redirect: "manual",
		signal: AbortSignal.timeout(requestTimeoutMs),
		...(fuzz.body === undefined ? {} : { body: fuzz.body }),
	}).then(
		async (response) => {
			const text = await response.text()
			const parsed = decodeJson(text).pipe(
				Option.filter((value): value is Record<string, unknown> => typeof value === "object" && value !== null),
			)
			const tagged = Option.exists(parsed, (value) => typeof value["_tag"] === "string")
			const ok = response.status < 500 && (response.status < 400 || tagged)
			return {
				label: `${label(fuzz)} → ${response.status}`,
				ok,
				detail: `${response.status} ${text.slice(0, 160) || "(empty body)"} ← ${describeRequest(fuzz)}`,
			}
		},
		(error: unknown) => ({
			label: `${label(fuzz)} → no answer`,
			ok: false,
			detail: `no answer within ${requestTimeoutMs} ms (${error instanceof Error ? error.message : String(error)}) ← ${describeRequest(fuzz)}`,
		}),
	)

// Runs `cases` with a bounded number in flight; the answers keep the order of the cases.
const runBounded = async (cases: ReadonlyArray<Case>) => {
	const outcomes: Array<Outcome> = []
	let next = 0
	const worker = async () => {
		while (next < cases.length) {
			const index = next
			next += 1
			outcomes[index] = await send(cases[index] as Case)
		}
	}
	await Promise.all(Array.from({ length: concurrency }, worker))
	return outcomes
}

// --- [SUITE]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform()
	expect(platform.ready).toBe(true)
	own = await tenantWithCredentials("fuzz-own", "fuzz-own-user")
	other = await tenantWithCredentials("fuzz-other", "fuzz-other-user")
	document = await loadDocument(platform.baseUrl)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("schema-driven fuzz of every route in /openapi.json", () => {
	it(`${runs} requests: no 5xx, no hang, every 4xx a JSON error with _tag, the process still live`, async () => {
		const operations = operationsOf(document)
		expect(operations.length).toBeGreaterThan(40)
		// Every route at least once; every route that takes a body once with each structurally hostile body, sent with
		// the credential and tenant it expects (so the body is decoded); then the rest drawn at random; the destructive
		// ones at the end.
		const perRoute = operations.map((operation) => fc.sample(caseOf(operation), { numRuns: 1, seed })[0] as Case)
		const hostileBodies = perRoute
			.filter((fuzz) => fuzz.body !== undefined || ["POST", "PUT", "PATCH"].includes(fuzz.operation.method))
			.flatMap((fuzz) =>
				StructuralBodies.map((text) => ({
					...fuzz,
					body: text,
					headers: {
						authorization: `Bearer ${fuzz.operation.path.startsWith("/admin/") ? platform.adminToken : own.key}`,
						"x-app-id": own.slug,
						"content-type": "application/json",
					},
				})),
			)
		const drawn = fc.sample(
			fc.constantFrom(...operations).chain((operation) => caseOf(operation)),
			{ numRuns: Math.max(0, runs - perRoute.length - hostileBodies.length), seed: seed + 1 },
		)
		const cases = [...perRoute, ...hostileBodies, ...drawn].sort(
			(left, right) => Number(Destructive.includes(label(left))) - Number(Destructive.includes(label(right))),
		)
		const startedAt = Date.now()
		const outcomes = await runBounded(cases)
		const failures = outcomes.filter((outcome) => !outcome.ok)
		const byKind = new Map<string, Array<string>>()
		failures.forEach((failure) => byKind.set(failure.label, [...(byKind.get(failure.label) ?? []), failure.detail]))
		const statuses = new Map<string, number>()
		outcomes.forEach((outcome) => {
			const status = outcome.label.split("→ ").pop() ?? ""
			statuses.set(status, (statuses.get(status) ?? 0) + 1)
		})
		console.log(
			`[fuzz] seed=${seed} ${cases.length} requests over ${operations.length} routes in ${Date.now() - startedAt} ms; ` +
				`statuses ${[...statuses.entries()].map(([status, count]) => `${status}×${count}`).join(" ")}; ` +
				`${failures.length} failures`,
		)
		const live = await fetch(`${platform.baseUrl}/health/live`, { signal: AbortSignal.timeout(requestTimeoutMs) })
		expect(live.status).toBe(200)
		// One example per kind of failure (route and status), with its count: readable and replayable (FUZZ_SEED).
		expect(
			[...byKind.entries()].map(([kind, details]) => `${details.length}× ${kind}: ${details[0]}`),
			`FUZZ_SEED=${seed}`,
		).toEqual([])
	}, 240_000)
})
