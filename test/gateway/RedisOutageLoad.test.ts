// Redis outage under load: a private redis-server under an in-process platform is killed while workers keep sending
// authenticated reads (session and API key), tenant reads, admin reads and broadcasts, then started again. Nothing
// may hang (every request is bounded at 10 s and must answer within it); during the outage authenticated reads answer
// from memory (200) or fail closed (503 with a JSON `_tag` and Retry-After), never 401 for a valid credential and
// never another 5xx; broadcasts answer 503; within 10 s of Redis returning every kind of request succeeds again.
import { type ChildProcess, spawn } from "node:child_process"
import { Option, Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { freePort, sleep, waitFor } from "../fixtures/Processes.ts"
import { authed, setUpTenant, signIn, type SignedIn } from "../fixtures/SignIn.ts"

// --- [CONSTANTS]

const requestBoundMs = 10_000
const recoveryBudgetMs = 10_000
const outageMs = 8_000
const workers = 4
const encodeJson = Schema.encodeSync(Schema.parseJson())
const decodeJson = Schema.decodeUnknownOption(Schema.parseJson(Schema.Unknown))

// --- [TYPES]

type Phase = "before" | "outage" | "after"

type Kind = "tenant" | "whoami-session" | "me-key" | "jobs-key" | "admin-tenant" | "broadcast"

type Answer = {
	readonly kind: Kind
	readonly phase: Phase
	readonly answeredIn: Phase
	readonly status: number
	readonly tagged: boolean
	readonly retryAfter: boolean
	readonly detail: string
}

// --- [STATE]

let redisPort = 0
let redis: ChildProcess | undefined
let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle
let slug = ""
let tenantId = ""
let token = ""
let apiKey = ""

// --- [FUNCTIONS]

const startRedis = () =>
	spawn("redis-server", ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"], {
		stdio: "ignore",
	})

const killRedis = () =>
	new Promise<void>((resolve) => {
		redis === undefined || redis.exitCode !== null ? resolve() : redis.once("exit", () => resolve())
		redis?.kill("SIGKILL")
	})

const redisUp = () =>
	new Promise<boolean>((resolve) => {
		const probe = spawn("redis-cli", ["-p", String(redisPort), "ping"], { stdio: ["ignore", "pipe", "ignore"] })
		const out: Array<string> = []
		probe.stdout.on("data", (chunk: Buffer) => out.push(chunk.toString()))
		probe.once("exit", () => resolve(out.join("").includes("PONG")))
	})

const requestOf = (kind: Kind): { readonly path: string; readonly init: RequestInit } =>
	({
		tenant: { path: "/v1/tenant", init: { headers: { "x-app-id": slug } } },
		"whoami-session": {
			path: "/v1/auth/whoami",
			init: { headers: { "x-app-id": slug, authorization: `Bearer ${token}` } },
		},
		"me-key": { path: "/v1/users/me", init: { headers: { "x-app-id": slug, authorization: `Bearer ${apiKey}` } } },
		"jobs-key": { path: "/v1/jobs", init: { headers: { "x-app-id": slug, authorization: `Bearer ${apiKey}` } } },
		"admin-tenant": {
			path: `/admin/v1/tenants/${tenantId}`,
			init: { headers: { authorization: `Bearer ${platform.adminToken}` } },
		},
		broadcast: {
			path: "/v1/channels/outage/broadcast",
			init: {
				method: "POST",
				headers: { "x-app-id": slug, authorization: `Bearer ${apiKey}`, "content-type": "application/json" },
				body: encodeJson({ payload: { at: Date.now() } }),
			},
		},
	})[kind]

const Kinds: ReadonlyArray<Kind> = ["tenant", "whoami-session", "me-key", "jobs-key", "admin-tenant", "broadcast"]

const call = (kind: Kind, phase: () => Phase): Promise<Answer> => {
	const request = requestOf(kind)
	const sentIn = phase()
	return fetch(`${platform.baseUrl}${request.path}`, {
		...request.init,
		signal: AbortSignal.timeout(requestBoundMs),
	}).then(
		async (response) => {
			const text = await response.text()
			const tagged = decodeJson(text).pipe(
				Option.exists(
					(value) =>
						typeof value === "object" &&
						value !== null &&
						typeof (value as Record<string, unknown>)["_tag"] === "string",
				),
			)
			return {
				kind,
				phase: sentIn,
				answeredIn: phase(),
				status: response.status,
				tagged,
				retryAfter: response.headers.get("retry-after") !== null,
				detail: `${kind} [${sentIn}] → ${response.status} ${text.slice(0, 160) || "(empty body)"}`,
			}
		},
		(error: unknown) => ({
			kind,
			phase: sentIn,
			answeredIn: phase(),
			status: 0,
			tagged: false,
			retryAfter: false,
			detail: `${kind} [${sentIn}] → no answer within ${requestBoundMs} ms (${error instanceof Error ? error.message : String(error)})`,
		}),
	)
}

const expected = (kind: Kind) => (kind === "broadcast" ? 202 : 200)

// What an answer may be in its phase; the reason when it may not. A broadcast sent during the outage that waited for
// Redis and went out once it returned (202 after the restart, within the request bound) is not a failure.
const verdict = (answer: Answer): Option.Option<string> =>
	answer.status === 0
		? Option.some("hung")
		: answer.status === 503 && !(answer.tagged && answer.retryAfter)
			? Option.some("503 without JSON _tag or Retry-After")
			: answer.status >= 500 && answer.status !== 503
				? Option.some("5xx other than 503")
				: answer.phase === "outage"
					? answer.kind === "broadcast"
						? answer.status === 503 || (answer.answeredIn === "after" && answer.status === 202)
							? Option.none()
							: Option.some("broadcast during the outage did not answer 503")
						: [expected(answer.kind), 503].includes(answer.status)
							? Option.none()
							: Option.some("neither served from memory nor failed closed with 503")
					: // A request sent before the outage but answered once it began may fail closed like the outage's own.
						answer.phase === "before" &&
						  !(answer.answeredIn !== "before" && answer.status === 503) &&
						  answer.status !== expected(answer.kind)
						? Option.some("failed while Redis was up")
						: Option.none()

// --- [SUITE]

beforeAll(async () => {
	redisPort = await freePort()
	redis = startRedis()
	expect(await waitFor(redisUp, 10_000, 100)).toBe(true)
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({ REDIS_URL: `redis://127.0.0.1:${redisPort}` })
	expect(platform.ready).toBe(true)
	slug = `outage-load-${Math.random().toString(36).slice(2, 8)}`
	const made = await setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug })
	expect(made.putStatus).toBe(200)
	tenantId = made.tenant.id
	idp.signInAs({ sub: "outage-load-user", email: "outage@example.test" })
	const signed = await signIn(platform.baseUrl, slug)
	expect(signed.status, signed.text).toBe(200)
	token = (signed.body as SignedIn).token
	const created = await authed(platform.baseUrl, slug, token, "/api-keys", {
		method: "POST",
		body: encodeJson({ name: "outage" }),
	})
	expect(created.status).toBe(201)
	apiKey = ((await created.json()) as { key: string }).key
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
	await killRedis()
}, 90_000)

describe("Redis outage under load", () => {
	it("nothing hangs; reads served or 503; broadcasts 503; full service within 10 s of Redis returning", async () => {
		let phase: Phase = "before"
		let running = true
		const answers: Array<Answer> = []
		const worker = async (offset: number) => {
			let round = offset
			while (running) {
				answers.push(await call(Kinds[round % Kinds.length] as Kind, () => phase))
				round += 1
			}
		}
		const load = Promise.all(Array.from({ length: workers }, (_, index) => worker(index)))
		await sleep(2_000)

		// The outage starts when the kill is sent: a request answered while Redis dies belongs to it.
		phase = "outage"
		await killRedis()
		await sleep(outageMs)

		redis = startRedis()
		expect(await waitFor(redisUp, 10_000, 100)).toBe(true)
		phase = "after"
		const returnedAt = Date.now()
		// Full service: one request of every kind succeeds in the same round, polled until 10 s after Redis returned.
		const recovered = await waitFor(
			async () =>
				(await Promise.all(Kinds.map((kind) => call(kind, () => "after")))).every(
					(answer) => answer.status === expected(answer.kind),
				),
			recoveryBudgetMs,
			250,
		)
		const recoveredMs = Date.now() - returnedAt
		running = false
		await load

		const counts = new Map<string, number>()
		answers.forEach((answer) => {
			const key = `${answer.phase}:${answer.kind}:${answer.status}`
			counts.set(key, (counts.get(key) ?? 0) + 1)
		})
		console.log(
			`[redis-outage-load] ${answers.length} requests; recovered=${recovered} ${recoveredMs} ms after Redis returned; ` +
				[...counts.entries()].map(([key, count]) => `${key}×${count}`).join(" "),
		)
		const wrong = answers.flatMap((answer) =>
			Option.match(verdict(answer), { onNone: () => [], onSome: (reason) => [`${reason}: ${answer.detail}`] }),
		)
		expect(answers.filter((answer) => answer.phase === "outage").length).toBeGreaterThan(0)
		expect([...new Set(wrong)].slice(0, 20)).toEqual([])
		expect(recovered).toBe(true)
	}, 120_000)
})
