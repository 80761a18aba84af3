// Cross-tenant canaries: tenant B's data carries a unique marker (its user's subject, email and display name, API key
// name, job URLs, dedupe keys and bodies, the user agent and request ids of its requests, channel payloads and
// presence state), and B's own reads show it (so the marker is detectable). Then 1,000 requests with tenant A's
// credentials and B's ids, slugs and channels on every route of the served /openapi.json, plus A's realtime sockets
// on the same channel names and on B's tenant: not one byte of the marker (nor B's credentials) may appear in any
// response body or header, realtime frame received by A, or log line written meanwhile; B's data is intact afterwards.
import { randomBytes } from "node:crypto"
import { createServer, type Server } from "node:http"
import fc from "fast-check"
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { arbitraryOf, loadDocument, type Operation, operationsOf } from "../fixtures/OpenApiRoutes.ts"
import { captureOutput } from "../fixtures/OutputCapture.ts"
import { connect, connectAs, type RealtimeClient } from "../fixtures/RealtimeClient.ts"
import { authed, setUpTenant, signIn, type SignedIn } from "../fixtures/SignIn.ts"

// --- [CONSTANTS]

const marker = `cnry${randomBytes(6).toString("hex")}`
const suffix = randomBytes(3).toString("hex")
const attackCount = 1_000
const concurrency = 8
const requestTimeoutMs = 15_000
const sharedChannel = "shared-room"
const guessableDedupeKey = "order-1"
// A's own routes that end A's credentials: last, so the other requests run signed in.
const Destructive = ["POST /v1/users/me/deactivate", "DELETE /v1/auth/session", "DELETE /v1/auth/sessions"]

const encodeJson = Schema.encodeSync(Schema.parseJson())

// --- [TYPES]

type Actor = {
	readonly tenantId: string
	readonly slug: string
	readonly token: string
	readonly key: string
	readonly keyId: string
	readonly userId: string
	readonly sessionId: string
}

type Job = { readonly id: string; readonly executionId: string | null; readonly status: string }

type Attack = {
	readonly method: string
	readonly path: string
	readonly headers: Record<string, string>
	readonly body?: string
}

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle
let receiver: Server
let receiverUrl = ""
let output: ReturnType<typeof captureOutput>
let tenantA: Actor
let tenantB: Actor
let jobsB: Array<Job> = []
const sockets: Array<RealtimeClient> = []

// --- [FUNCTIONS]

const actor = async (slug: string, account: { sub: string; email: string; name: string }, keyName: string) => {
	const made = await setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug })
	expect(made.putStatus).toBe(200)
	idp.signInAs(account)
	const signed = await signIn(platform.baseUrl, slug)
	expect(signed.status, signed.text).toBe(200)
	const body = signed.body as SignedIn
	const created = await authed(platform.baseUrl, slug, body.token, "/api-keys", {
		method: "POST",
		body: encodeJson({ name: keyName }),
	})
	expect(created.status).toBe(201)
	const key = (await created.json()) as { id: string; key: string }
	return {
		tenantId: made.tenant.id,
		slug,
		token: body.token,
		key: key.key,
		keyId: key.id,
		userId: body.user.id,
		sessionId: body.session.id,
	}
}

// A request of B, made the way B's app would (its user agent and request id carry the marker).
// B's session by default; `http.call` jobs need an API key (or the service principal), so they go with B's key.
const asB = (path: string, init: RequestInit = {}, credential = tenantB.token) =>
	fetch(`${platform.baseUrl}/v1${path}`, {
		...init,
		headers: {
			"x-app-id": tenantB.slug,
			authorization: `Bearer ${credential}`,
			"content-type": "application/json",
			"user-agent": `${marker}-agent`,
			"x-request-id": `${marker}-${Math.random().toString(36).slice(2, 8)}`,
		},
	})

const forbidden = () => [marker, tenantB.token, tenantB.key]

const leaks = (text: string) => forbidden().filter((secret) => text.includes(secret))

// B's ids for a path parameter of that name on that route.
const bValues = (path: string, name: string): ReadonlyArray<string> =>
	name === "userId"
		? [tenantB.userId]
		: name === "provider"
			? ["idp"]
			: name === "channel"
				? [sharedChannel, `user:${tenantB.userId}`, "b-only"]
				: name === "executionId"
					? jobsB.flatMap((job) => (job.executionId === null ? [] : [job.executionId]))
					: path.startsWith("/admin/v1/tenants/")
						? [tenantB.tenantId, tenantB.slug]
						: path.startsWith("/v1/jobs/")
							? jobsB.map((job) => job.id)
							: path.startsWith("/v1/api-keys/")
								? [tenantB.keyId]
								: path.startsWith("/v1/auth/sessions/")
									? [tenantB.sessionId]
									: [
											tenantB.tenantId,
											tenantB.userId,
											tenantB.keyId,
											tenantB.sessionId,
											...jobsB.map((job) => job.id),
										]

const attacksOf = (operation: Operation, document: Awaited<ReturnType<typeof loadDocument>>, round: number): Attack => {
	const names = [...operation.path.matchAll(/\{([^}]+)\}/g)].map((match) => match[1] as string)
	const path = names.reduce((filled, name) => {
		const values = bValues(operation.path, name)
		return filled.replace(`{${name}}`, encodeURIComponent(values[round % values.length] ?? tenantB.tenantId))
	}, operation.path)
	const query = new URLSearchParams(
		operation.parameters
			.filter((parameter) => parameter.in === "query")
			.flatMap((parameter): Array<[string, string]> =>
				parameter.name === "tenant"
					? [["tenant", round % 2 === 0 ? tenantB.tenantId : tenantB.slug]]
					: parameter.name === "app_id"
						? [["app_id", tenantB.slug]]
						: [],
			),
	).toString()
	const appIds = [tenantA.slug, tenantA.tenantId, tenantB.slug, tenantB.tenantId]
	const credentials = [tenantA.token, tenantA.key]
	const body =
		operation.body === undefined
			? undefined
			: operation.path === "/v1/jobs"
				? encodeJson({
						type: "http.call",
						payload: { url: `${receiverUrl}/a-${round}` },
						dedupeKey: round % 3 === 0 ? guessableDedupeKey : `a-${round}`,
					})
				: encodeJson(fc.sample(arbitraryOf(document, operation.body), { numRuns: 1, seed: round })[0] ?? {})
	return {
		method: operation.method,
		path: `${path}${query === "" ? "" : `?${query}`}`,
		headers: {
			"x-app-id": appIds[round % appIds.length] as string,
			authorization: `Bearer ${credentials[Math.floor(round / appIds.length) % credentials.length]}`,
			...(body === undefined ? {} : { "content-type": "application/json" }),
		},
		...(body === undefined ? {} : { body }),
	}
}

const send = (attack: Attack) =>
	fetch(`${platform.baseUrl}${attack.path}`, {
		method: attack.method,
		headers: attack.headers,
		redirect: "manual",
		signal: AbortSignal.timeout(requestTimeoutMs),
		...(attack.body === undefined ? {} : { body: attack.body }),
	}).then(
		async (response) => {
			const text = `${[...response.headers.entries()].map(([name, value]) => `${name}: ${value}`).join("\n")}\n${await response.text()}`
			return { attack, status: response.status, leaked: leaks(text), excerpt: text.slice(-200) }
		},
		(error: unknown) => ({
			attack,
			status: 0,
			leaked: [] as Array<string>,
			excerpt: error instanceof Error ? error.message : String(error),
		}),
	)

const runBounded = async (attacks: ReadonlyArray<Attack>) => {
	const results: Array<Awaited<ReturnType<typeof send>>> = []
	let next = 0
	const worker = async () => {
		while (next < attacks.length) {
			const index = next
			next += 1
			results[index] = await send(attacks[index] as Attack)
		}
	}
	await Promise.all(Array.from({ length: concurrency }, worker))
	return results
}

// --- [SUITE]

beforeAll(async () => {
	output = captureOutput()
	receiver = createServer((request, response) => {
		request.resume()
		response.writeHead(200, { "content-type": "text/plain" }).end("ok")
	})
	await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", () => resolve()))
	const address = receiver.address()
	receiverUrl = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({ JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1", LOG_LEVEL: "Info" })
	expect(platform.ready).toBe(true)
	tenantA = await actor(
		`xt-a-${suffix}`,
		{ sub: `a-user-${suffix}`, email: `a-${suffix}@example.test`, name: "A user" },
		"a-key",
	)
	tenantB = await actor(
		`xt-b-${suffix}`,
		{ sub: `${marker}-sub`, email: `${marker}@example.test`, name: `${marker} name` },
		`${marker}-key`,
	)
}, 120_000)

afterAll(async () => {
	sockets.forEach((socket) => socket.close())
	output?.restore()
	await platform?.stop()
	await idp?.stop()
	receiver?.closeAllConnections()
	await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())))
}, 90_000)

describe("cross-tenant canaries", () => {
	it("B's marked data is visible to B (the canaries are detectable)", async () => {
		const renamed = await asB("/users/me", {
			method: "PATCH",
			body: encodeJson({ displayName: `${marker} display` }),
		})
		expect(renamed.status).toBe(200)
		const submitted = await asB(
			"/jobs",
			{
				method: "POST",
				body: encodeJson([
					{ type: "http.call", payload: { url: `${receiverUrl}/${marker}-1`, body: { secret: marker } } },
					{
						type: "http.call",
						payload: { url: `${receiverUrl}/${marker}-2` },
						dedupeKey: `${marker}-dedupe`,
					},
					{
						type: "http.call",
						payload: { url: `${receiverUrl}/${marker}-3` },
						dedupeKey: guessableDedupeKey,
					},
				]),
			},
			tenantB.key,
		)
		expect(submitted.status).toBe(202)
		jobsB = (await submitted.json()) as Array<Job>
		expect(jobsB).toHaveLength(3)

		const bSocket = await connectAs(platform.baseUrl, tenantB.slug, tenantB.token, [sharedChannel, "b-only"])
		sockets.push(bSocket)
		bSocket.send({ type: "presence", channel: sharedChannel, state: { note: `${marker}-presence` } })
		const broadcast = await asB(`/channels/${sharedChannel}/broadcast`, {
			method: "POST",
			body: encodeJson({ payload: { secret: `${marker}-broadcast` } }),
		})
		expect(broadcast.status).toBe(202)
		await bSocket.next((frame) => frame.type === "message" && leaks(encodeJson(frame)).length > 0, 10_000)

		const views = await Promise.all(
			[
				"/users/me",
				"/api-keys",
				`/jobs/${jobsB[0]?.id}`,
				`/jobs/${jobsB[1]?.id}`,
				`/channels/${sharedChannel}/presence`,
			].map(async (path) => ({ path, text: await (await asB(path)).text() })),
		)
		expect(
			views
				.filter((view) => !view.text.includes(marker))
				.map((view) => `${view.path}: ${view.text.slice(0, 200)}`),
		).toEqual([])
	}, 60_000)

	it(`${attackCount} requests with A's credentials and B's ids on every route: 0 bytes of B's marker anywhere`, async () => {
		expect(jobsB).toHaveLength(3)
		const document = await loadDocument(platform.baseUrl)
		const operations = operationsOf(document).filter((operation) => !operation.path.startsWith("/health"))
		expect(operations.length).toBeGreaterThan(40)
		const logMark = output.mark()

		// A's sockets: on A's tenant, subscribed to the channel names B uses (and B's user channel, which must be
		// refused); and one opened on B's tenant with A's token, which must not authenticate.
		const aSocket = await connectAs(platform.baseUrl, tenantA.slug, tenantA.token, [sharedChannel, "b-only"])
		sockets.push(aSocket)
		aSocket.send({ type: "subscribe", channel: `user:${tenantB.userId}` })
		aSocket.send({ type: "presence", channel: sharedChannel, state: { note: "a" } })
		const intruder = await connect(platform.baseUrl, tenantB.slug)
		sockets.push(intruder)
		intruder.send({ type: "auth", token: tenantA.token })
		intruder.send({ type: "subscribe", channel: sharedChannel })
		const intruderKey = await connect(platform.baseUrl, tenantB.tenantId)
		sockets.push(intruderKey)
		intruderKey.send({ type: "auth", token: tenantA.key })
		intruderKey.send({ type: "subscribe", channel: sharedChannel })

		const ordered = Array.from({ length: attackCount }, (_, round) =>
			attacksOf(
				operations[round % operations.length] as Operation,
				document,
				Math.floor(round / operations.length) * 7 + round,
			),
		).sort(
			(left, right) =>
				Number(Destructive.includes(`${left.method} ${left.path.split("?")[0]}`)) -
				Number(Destructive.includes(`${right.method} ${right.path.split("?")[0]}`)),
		)
		// B keeps broadcasting marked payloads while A's requests run.
		let attacking = true
		const chatter = (async () => {
			let count = 0
			while (attacking) {
				count += 1
				await asB(`/channels/${count % 2 === 0 ? sharedChannel : "b-only"}/broadcast`, {
					method: "POST",
					body: encodeJson({ payload: `${marker}-live-${count}` }),
				})
			}
			return count
		})()
		const results = await runBounded(ordered)
		attacking = false
		const broadcasts = await chatter
		// Let the last frames arrive before reading what A's sockets received (A's socket may be closed by now: the
		// last requests deactivate A's user).
		await new Promise((resolve) => setTimeout(resolve, 1_000))

		const statuses = new Map<number, number>()
		results.forEach((result) => statuses.set(result.status, (statuses.get(result.status) ?? 0) + 1))
		const successes = results.filter((result) => result.status >= 200 && result.status < 300)
		console.log(
			`[cross-tenant] ${results.length} requests over ${operations.length} routes, ${broadcasts} broadcasts by B; ` +
				`statuses ${[...statuses.entries()].map(([status, count]) => `${status}×${count}`).join(" ")}; ` +
				`2xx on: ${[...new Set(successes.map((result) => `${result.attack.method} ${result.attack.path.split("?")[0]} (${result.attack.headers["x-app-id"]})`))].slice(0, 15).join(", ")}`,
		)
		const leaked = results
			.filter((result) => result.leaked.length > 0)
			.map(
				(result) =>
					`${result.attack.method} ${result.attack.path} app=${result.attack.headers["x-app-id"]} → ${result.status}: ${result.excerpt}`,
			)
		expect(leaked).toEqual([])
		expect(
			results
				.filter((result) => result.status === 0)
				.map((result) => `${result.attack.method} ${result.attack.path}: ${result.excerpt}`),
		).toEqual([])
		const frames = [aSocket, intruder, intruderKey].flatMap((socket) =>
			socket.frames.map((frame) => encodeJson(frame)),
		)
		expect(frames.filter((frame) => leaks(frame).length > 0)).toEqual([])
		expect(intruder.frames.some((frame) => frame.type === "authenticated")).toBe(false)
		expect(intruderKey.frames.some((frame) => frame.type === "authenticated")).toBe(false)
		const logLines = output
			.since(logMark)
			.split("\n")
			.filter((line) => leaks(line).length > 0 && !line.includes("[cross-tenant]"))
		expect(logLines.slice(0, 5)).toEqual([])

		// A guessable dedupe key of B, submitted by A, made A's own job (not B's).
		const guessed = await fetch(`${platform.baseUrl}/v1/jobs`, {
			method: "POST",
			headers: {
				"x-app-id": tenantA.slug,
				authorization: `Bearer ${tenantA.key}`,
				"content-type": "application/json",
			},
			body: encodeJson({
				type: "http.call",
				payload: { url: `${receiverUrl}/a` },
				dedupeKey: guessableDedupeKey,
			}),
		})
		const guessedBody = await guessed.text()
		expect(leaks(guessedBody)).toEqual([])
		expect(jobsB.some((job) => guessedBody.includes(job.id))).toBe(false)

		// B is intact: its session and key still work, its user is active, its jobs were not cancelled by A.
		const whoamiB = await Promise.all(
			[tenantB.token, tenantB.key].map((credential) =>
				authed(platform.baseUrl, tenantB.slug, credential, "/auth/whoami"),
			),
		)
		expect(whoamiB.map((response) => response.status)).toEqual([200, 200])
		const me = (await (await asB("/users/me")).json()) as { status: string }
		expect(me.status).toBe("active")
		const finalJobs = await Promise.all(
			jobsB.map(async (job) => ((await (await asB(`/jobs/${job.id}`)).json()) as Job).status),
		)
		expect(finalJobs.filter((status) => status === "cancelled")).toEqual([])
	}, 240_000)
})
