// The PKCE hand-off in a real browser (Debian's Chromium, headless, driven by playwright-core), across origins: an app
// page on one loopback port signs in through the gateway on another (and the fixture OpenID provider), trades the
// one-time code for a session with a cross-origin fetch, reads /v1/users/me with the token and authenticates on the
// realtime socket. A page of an origin the tenant does not allow is stopped by the browser's CORS check.
import { createServer, type Server } from "node:http"
import { Schema } from "effect"
import { type Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { freePort } from "../fixtures/Processes.ts"
import { setUpTenant } from "../fixtures/SignIn.ts"
import { hasChromium, launchChromium } from "../fixtures/Chromium.ts"

// --- [TYPES]

type AppResult = {
	readonly error?: string
	readonly tokenStatus?: number
	readonly tokenVisible?: boolean
	readonly requestIdExposed?: boolean
	readonly meStatus?: number
	readonly email?: string
	readonly realtime?: string
	readonly replayStatus?: number
	readonly replayTag?: string
	readonly tokenInUrl?: boolean
}

// --- [CONSTANTS]

const encodeJson = Schema.encodeSync(Schema.parseJson())
const decodeResult = Schema.decodeUnknownSync(Schema.parseJson())

// The whole app: first visit starts the sign-in, the return to /callback finishes it. `config` is filled in per server.
const AppPage = (config: { readonly gateway: string; readonly app: string }) => `<!doctype html>
<html><body>
<pre id="result"></pre>
<script>
	const gateway = ${encodeJson(config.gateway)}
	const app = ${encodeJson(config.app)}
	const params = new URLSearchParams(location.search)
	const base64url = (bytes) =>
		btoa(String.fromCharCode(...bytes)).replace(/\\+/g, "-").replace(/\\//g, "_").replace(/=+$/, "")
	const show = (value) => { document.getElementById("result").textContent = JSON.stringify(value) }
	const begin = async () => {
		const verifier = base64url(crypto.getRandomValues(new Uint8Array(32)))
		sessionStorage.setItem("verifier", verifier)
		const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier))
		const start = new URL(gateway + "/v1/auth/oauth/idp/start")
		start.searchParams.set("app_id", app)
		start.searchParams.set("redirect_to", location.origin + "/callback")
		start.searchParams.set("code_challenge", base64url(new Uint8Array(digest)))
		start.searchParams.set("code_challenge_method", "S256")
		location.assign(start.toString())
	}
	const exchange = (code) =>
		fetch(gateway + "/v1/auth/token", {
			method: "POST",
			headers: { "X-App-Id": app, "Content-Type": "application/json" },
			body: JSON.stringify({ code, codeVerifier: sessionStorage.getItem("verifier") }),
		})
	const authenticate = (token) =>
		new Promise((resolve, reject) => {
			const socket = new WebSocket(gateway.replace(/^http/, "ws") + "/v1/realtime?app_id=" + encodeURIComponent(app))
			socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token }))
			socket.onmessage = (event) => { resolve(JSON.parse(event.data).type); socket.close() }
			socket.onclose = (event) => reject(new Error("socket closed " + event.code))
		})
	const finish = async (code) => {
		const tokenResponse = await exchange(code)
		const signedIn = await tokenResponse.json()
		const me = await fetch(gateway + "/v1/users/me", {
			headers: { Authorization: "Bearer " + signedIn.token, "X-App-Id": app },
		})
		const profile = await me.json()
		const realtime = await authenticate(signedIn.token)
		const replay = await exchange(code)
		show({
			tokenStatus: tokenResponse.status,
			tokenVisible: typeof signedIn.token === "string" && signedIn.token.startsWith("ecps_"),
			requestIdExposed: tokenResponse.headers.get("X-Request-Id") !== null,
			meStatus: me.status,
			email: profile.email,
			realtime,
			replayStatus: replay.status,
			replayTag: (await replay.json())._tag,
			tokenInUrl: location.href.includes("ecps_"),
		})
	}
	const main = () =>
		params.has("error")
			? Promise.resolve(show({ error: params.get("error") }))
			: params.has("code")
				? finish(params.get("code"))
				: begin()
	main().catch((error) => show({ error: String(error) }))
</script>
</body></html>`

const BlankPage = "<!doctype html><html><body>another origin</body></html>"

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle
let browser: Browser
const servers: Array<Server> = []
let appOrigin = ""
let otherOrigin = ""
let tenantSlug = ""

// --- [FUNCTIONS]

// Serves `page()` at every path but /blank, which is an empty page of the same origin.
const serve = async (page: () => string) => {
	const port = await freePort()
	const server = createServer((request, response) =>
		response.writeHead(200, { "content-type": "text/html" }).end(request.url === "/blank" ? BlankPage : page()),
	)
	await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
	servers.push(server)
	return `http://127.0.0.1:${port}`
}

// --- [SUITE]

describe.skipIf(!hasChromium())("a browser app on another origin (PKCE hand-off, CORS)", () => {
	beforeAll(async () => {
		idp = await startOidcProvider({ clients: [] })
		platform = await startPlatform()
		appOrigin = await serve(() => AppPage({ gateway: platform.baseUrl, app: tenantSlug }))
		otherOrigin = await serve(() => BlankPage)
		const made = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "pkce-browser-co",
			settings: encodeJson({ allowedRedirectOrigins: [appOrigin] }),
		})
		expect(made.putStatus).toBe(200)
		tenantSlug = made.tenant.slug
		browser = await launchChromium()
	}, 120_000)

	afterAll(async () => {
		await browser?.close()
		await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))))
		await platform?.stop()
		await idp?.stop()
	}, 90_000)

	it("signs in, trades the code with a cross-origin fetch, reads /v1/users/me and authenticates on the socket", async () => {
		idp.signInAs({ sub: "browser-pkce-user", email: "pkce@example.com" })
		const context = await browser.newContext()
		const page = await context.newPage()
		await page.goto(`${appOrigin}/`)
		await page.waitForURL((url) => url.origin === appOrigin && url.pathname === "/callback", { timeout: 20_000 })
		await page.waitForFunction("document.getElementById('result').textContent !== ''", undefined, {
			timeout: 20_000,
		})
		const result = decodeResult((await page.locator("#result").textContent()) ?? "") as AppResult
		expect(result).toEqual({
			tokenStatus: 200,
			tokenVisible: true,
			requestIdExposed: true,
			meStatus: 200,
			email: "pkce@example.com",
			realtime: "authenticated",
			replayStatus: 400,
			replayTag: "InvalidGrant",
			tokenInUrl: false,
		})
		// The hand-off set no session cookie on the gateway's origin: the app holds the token itself.
		expect((await context.cookies(platform.baseUrl)).map((cookie) => cookie.name)).not.toContain(
			"__Host-ecp_session",
		)
		await context.close()
	}, 60_000)

	it("a page of an origin the tenant does not allow cannot read a response: the browser blocks the fetch", async () => {
		const page = await browser.newPage()
		const attempt = (origin: string) =>
			page.goto(`${origin}/blank`).then(() =>
				page.evaluate(
					([gateway, app]) =>
						fetch(`${gateway}/v1/tenant`, { headers: { "X-App-Id": app } }).then(
							(response) => `status ${response.status}`,
							(error: unknown) => `blocked: ${String(error)}`,
						),
					[platform.baseUrl, tenantSlug] as const,
				),
			)
		expect(await attempt(otherOrigin)).toMatch(/^blocked: TypeError/)
		// The same call from the allowed origin goes through (so the block above is CORS, not the gateway).
		expect(await attempt(appOrigin)).toBe("status 200")
		await page.close()
	}, 60_000)
})
