// OAuth failures an operator can act on (issue 10 item 7): each failed callback is logged once at warn with its stage
// and the provider's OAuth error, never a code, state, cookie or secret; every failure answers one 401 OAuthFailed body
// naming the stage; a provider whose discovery cannot work is refused when it is saved (400 InvalidProvider with the
// reason) and not saved; an operator clears login-failure counters (DELETE /admin/v1/tenants/{id}/login-failures).
// Also (item 8): a chunked request body over GATEWAY_MAX_BODY_BYTES is answered 413 PayloadTooLarge, not reset.
import { request as httpRequest, createServer, type Server } from "node:http"
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeBrowser } from "../fixtures/BrowserClient.ts"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { captureOutput } from "../fixtures/OutputCapture.ts"
import { freePort } from "../fixtures/Processes.ts"
import { adminCall, reachCallback, setUpTenant } from "../fixtures/SignIn.ts"

// --- [TYPES]

type LogLine = {
	readonly message: unknown
	readonly logLevel: string
	readonly annotations: Readonly<Record<string, unknown>>
}

// --- [CONSTANTS]

const MaxBodyBytes = 65_536

const parseJson = Schema.decodeUnknownSync(Schema.parseJson())

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle
// Serves broken discovery documents: /not-json, /no-endpoints.
let brokenProvider: Server
let brokenBase = ""
const output = captureOutput()

// --- [FUNCTIONS]

const admin = (method: string, path: string, body?: string) =>
	adminCall(platform.baseUrl, platform.adminToken, method, path, body)

const from = (client: string, requestId: string) => ({ "x-forwarded-for": client, "x-request-id": requestId })

// The JSON log lines (LOG_FORMAT=json) written since `mark`.
const logLines = (mark: number): ReadonlyArray<LogLine> =>
	output
		.since(mark)
		.split("\n")
		.filter((line) => line.startsWith("{") && line.includes('"logLevel"'))
		.map((line) => parseJson(line) as LogLine)

const failuresOf = (mark: number, requestId: string) =>
	logLines(mark).filter(
		(line) => String(line.message).includes("OAuth callback failed") && line.annotations.requestId === requestId,
	)

const makeTenant = async (slug: string) => {
	idp.signInAs({ sub: `user-of-${slug}` })
	const made = await setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug })
	expect(made.putStatus).toBe(200)
	return made
}

const forgedCallback = (client: string) =>
	fetch(`${platform.baseUrl}/v1/auth/oauth/idp/callback?code=x&state=forged-${crypto.randomUUID()}`, {
		headers: from(client, `forged-${crypto.randomUUID()}`),
	})

// Sends `size` bytes of JSON-ish body with Transfer-Encoding: chunked (no Content-Length); the response, however the
// server ends the connection afterwards.
const chunkedPost = (path: string, body: Buffer) =>
	new Promise<{ status: number; text: string }>((resolve, reject) => {
		const url = new URL(path, platform.baseUrl)
		const sent = httpRequest(
			url,
			{
				method: "POST",
				headers: {
					authorization: `Bearer ${platform.adminToken}`,
					"content-type": "application/json",
					"transfer-encoding": "chunked",
				},
			},
			(response) => {
				const chunks: Array<Buffer> = []
				response.on("data", (chunk: Buffer) => chunks.push(chunk))
				response.on("end", () =>
					resolve({ status: response.statusCode ?? 0, text: Buffer.concat(chunks).toString("utf8") }),
				)
				response.on("error", reject)
			},
		)
		// No answer at all (the connection reset or hung) fails the test instead of waiting for its timeout.
		sent.setTimeout(20_000, () => sent.destroy(new Error("no answer within 20 s")))
		// Once the server has answered and closed, the rest of the upload fails to write: that is expected.
		sent.on("error", (error) => (sent.writableEnded ? undefined : reject(error)))
		const pieces = Array.from({ length: Math.ceil(body.length / 16_384) }, (_, index) =>
			body.subarray(index * 16_384, (index + 1) * 16_384),
		)
		const writeNext = (index: number): void => {
			const piece = pieces[index]
			piece === undefined
				? void sent.end()
				: sent.write(piece)
					? writeNext(index + 1)
					: void sent.once("drain", () => writeNext(index + 1))
		}
		writeNext(0)
	})

// --- [SUITE]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	brokenProvider = createServer((request, response) => {
		const path = request.url ?? "/"
		const noEndpoints = path.startsWith("/no-endpoints/")
		response.setHeader("content-type", noEndpoints ? "application/json" : "text/html")
		response.end(noEndpoints ? `{"issuer":"${brokenBase}/no-endpoints"}` : "<html>not here</html>")
	})
	await new Promise<void>((resolve) => brokenProvider.listen(0, "127.0.0.1", resolve))
	const address = brokenProvider.address()
	brokenBase = `http://127.0.0.1:${typeof address === "object" && address !== null ? address.port : 0}`
	platform = await startPlatform({
		LOG_LEVEL: "Info",
		LOG_FORMAT: "json",
		GATEWAY_TRUSTED_PROXIES: "127.0.0.1",
		GATEWAY_MAX_BODY_BYTES: String(MaxBodyBytes),
		OAUTH_FAILURE_LIMIT_PER_IP: "2",
		GATEWAY_ANONYMOUS_BURST: "100000",
	})
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
	brokenProvider?.close()
	output.restore()
}, 90_000)

describe("a failed OAuth callback", () => {
	it("a code the provider refuses: 401 naming the stage, one warning with stage and the provider's error code, no secret", async () => {
		const made = await makeTenant("refused-co")
		const browser = makeBrowser()
		const reached = await reachCallback(browser, platform.baseUrl, "refused-co")
		const url = new URL(reached.callbackUrl ?? "")
		const badCode = `bad-code-${crypto.randomUUID()}`
		url.searchParams.set("code", badCode)
		const state = url.searchParams.get("state") ?? ""
		const cookies = Object.values(browser.cookies(new URL(platform.baseUrl).host))
		expect(cookies.length).toBeGreaterThan(0)
		const requestId = `refused-${crypto.randomUUID()}`
		const mark = output.mark()
		const response = await browser.get(url.toString(), { headers: from("192.0.2.1", requestId) })
		expect(response.status).toBe(401)
		const body = (await response.json()) as { _tag: string; stage: string; message: string }
		expect(body).toMatchObject({ _tag: "OAuthFailed", stage: "token_exchange" })
		expect(body.message).toContain("did not accept the authorization code")
		const logged = failuresOf(mark, requestId)
		expect(logged).toHaveLength(1)
		expect(logged[0]?.logLevel).toBe("WARN")
		expect(logged[0]?.annotations).toMatchObject({
			oauthStage: "token_exchange",
			providerError: "invalid_grant",
			provider: "idp",
			tenantId: made.tenant.id,
		})
		const text = output.since(mark)
		;[badCode, state, made.clientSecret, ...cookies].forEach((secret) => expect(text).not.toContain(secret))
	})

	it("the provider sends an error back: stage provider_error with its code and description, not counted", async () => {
		await makeTenant("cancel-co")
		const mark = output.mark()
		const statuses = []
		const requestIds = [1, 2, 3].map(() => `cancel-${crypto.randomUUID()}`)
		for (const requestId of requestIds) {
			const browser = makeBrowser()
			const reached = await reachCallback(browser, platform.baseUrl, "cancel-co")
			const url = new URL(reached.callbackUrl ?? "")
			url.searchParams.delete("code")
			url.searchParams.set("error", "access_denied")
			url.searchParams.set("error_description", "The user said no")
			const response = await browser.get(url.toString(), { headers: from("192.0.2.2", requestId) })
			statuses.push(response.status)
			expect(await response.json()).toMatchObject({ _tag: "OAuthFailed", stage: "provider_error" })
		}
		// Three failures with a limit of two, and still 401s: cancellations are not counted.
		expect(statuses).toEqual([401, 401, 401])
		requestIds.forEach((requestId) => {
			const logged = failuresOf(mark, requestId)
			expect(logged).toHaveLength(1)
			expect(logged[0]?.annotations).toMatchObject({
				oauthStage: "provider_error",
				providerError: "access_denied",
				providerErrorDescription: "The user said no",
			})
		})
	})

	it("an unknown state: stage state, logged once, the same body shape", async () => {
		const requestId = `forged-${crypto.randomUUID()}`
		const state = `forged-${crypto.randomUUID()}`
		const mark = output.mark()
		const response = await fetch(`${platform.baseUrl}/v1/auth/oauth/idp/callback?code=some-code&state=${state}`, {
			headers: from("192.0.2.3", requestId),
		})
		expect(response.status).toBe(401)
		expect(await response.json()).toMatchObject({ _tag: "OAuthFailed", stage: "state" })
		const logged = failuresOf(mark, requestId)
		expect(logged).toHaveLength(1)
		expect(logged[0]?.annotations).toMatchObject({ oauthStage: "state", providerError: null })
		expect(output.since(mark)).not.toContain(state)
	})
})

describe("saving a provider checks its discovery", () => {
	it("unreachable, not JSON, endpoints missing, another issuer → 400 InvalidProvider with the reason; nothing saved", async () => {
		const created = await admin("POST", "/tenants", `{"slug":"discovery-co","name":"D"}`)
		const tenant = (await created.json()) as { id: string }
		const closedPort = await freePort()
		const cases = [
			[`http://127.0.0.1:${closedPort}`, "is unreachable"],
			[`${brokenBase}/not-json`, "did not answer JSON"],
			[`${brokenBase}/no-endpoints`, "lacks authorization_endpoint, token_endpoint, jwks_uri"],
			[idp.issuer.replace("127.0.0.1", "localhost"), `names issuer ${idp.issuer}`],
		] as const
		for (const [issuer, reason] of cases) {
			const put = await admin(
				"PUT",
				`/tenants/${tenant.id}/oauth-providers/broken`,
				`{"issuer":"${issuer}","clientId":"c","clientSecret":"s"}`,
			)
			const body = (await put.json()) as { _tag: string; message: string }
			expect(put.status, body.message).toBe(400)
			expect(body._tag).toBe("InvalidProvider")
			expect(body.message).toContain(reason)
		}
		const listed = await admin("GET", `/tenants/${tenant.id}/oauth-providers`)
		expect(await listed.json()).toEqual({ items: [], nextCursor: null })
		const good = await admin(
			"PUT",
			`/tenants/${tenant.id}/oauth-providers/good`,
			`{"issuer":"${idp.issuer}","clientId":"c","clientSecret":"s"}`,
		)
		expect(good.status).toBe(200)
	})
})

describe("clearing login failures", () => {
	it("every client group that failed at the tenant, or one by ?ip=: 204, and the blocked client signs in again", async () => {
		await makeTenant("blocked-co")
		const client = "198.51.100.20"
		for (const _ of [1, 2]) {
			const browser = makeBrowser()
			const reached = await reachCallback(browser, platform.baseUrl, "blocked-co")
			const url = new URL(reached.callbackUrl ?? "")
			url.searchParams.set("code", "not-a-code")
			const response = await browser.get(url.toString(), { headers: from(client, crypto.randomUUID()) })
			expect(response.status).toBe(401)
		}
		expect((await forgedCallback(client)).status).toBe(429)
		const cleared = await admin("DELETE", "/tenants/blocked-co/login-failures")
		expect(cleared.status).toBe(204)
		expect((await forgedCallback(client)).status).toBe(401)

		// Forged states belong to no tenant: only ?ip= clears them.
		const other = "198.51.100.21"
		expect((await forgedCallback(other)).status).toBe(401)
		expect((await forgedCallback(other)).status).toBe(401)
		expect((await forgedCallback(other)).status).toBe(429)
		expect((await admin("DELETE", "/tenants/blocked-co/login-failures")).status).toBe(204)
		expect((await forgedCallback(other)).status).toBe(429)
		expect((await admin("DELETE", `/tenants/blocked-co/login-failures?ip=${other}`)).status).toBe(204)
		expect((await forgedCallback(other)).status).toBe(401)
	})

	it("a malformed ip is 400, an unknown tenant 404, no admin token 401", async () => {
		const bad = await admin("DELETE", "/tenants/blocked-co/login-failures?ip=not-an-address")
		expect(bad.status).toBe(400)
		expect(await bad.json()).toMatchObject({ _tag: "ValidationError" })
		const unknown = await admin("DELETE", "/tenants/no-such-co/login-failures")
		expect(unknown.status).toBe(404)
		expect(await unknown.json()).toMatchObject({ _tag: "TenantNotFound" })
		const anonymous = await fetch(`${platform.baseUrl}/admin/v1/tenants/blocked-co/login-failures`, {
			method: "DELETE",
		})
		expect(anonymous.status).toBe(401)
	})
})

describe("chunked request bodies", () => {
	it("over GATEWAY_MAX_BODY_BYTES without Content-Length → 413 PayloadTooLarge, not a reset", async () => {
		const body = Buffer.from(`{"slug":"chunky-co","name":"${"x".repeat(MaxBodyBytes * 3)}"}`)
		const answered = await chunkedPost("/admin/v1/tenants", body)
		expect(answered.status).toBe(413)
		expect(parseJson(answered.text)).toMatchObject({ _tag: "PayloadTooLarge", limitBytes: MaxBodyBytes })
	})

	it("within the limit, chunked, is read as usual", async () => {
		const answered = await chunkedPost("/admin/v1/tenants", Buffer.from(`{"slug":"chunked-ok","name":"Fine"}`))
		expect(answered.status, answered.text).toBe(201)
		expect(parseJson(answered.text)).toMatchObject({ slug: "chunked-ok" })
	})
})
