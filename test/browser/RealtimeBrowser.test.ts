// One path in a real browser (Debian's Chromium, headless, driven by playwright-core): a page served from another
// origin opens the realtime socket, authenticates with a session token, subscribes, and shows a message that a
// server broadcast over HTTP.
import { createServer, type Server } from "node:http"
import { type Browser } from "playwright-core"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { freePort } from "../fixtures/Processes.ts"
import { authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"
import { launchChromium } from "../fixtures/Chromium.ts"

// --- [CONSTANTS]

const Page = `<!doctype html>
<html><body>
<ul id="messages"></ul>
<p id="status">connecting</p>
<script>
	const params = new URLSearchParams(location.search)
	const socket = new WebSocket(params.get("ws") + "/v1/realtime?app_id=" + params.get("app"))
	const status = document.getElementById("status")
	socket.onopen = () => socket.send(JSON.stringify({ type: "auth", token: window.sessionToken }))
	socket.onmessage = (event) => {
		const frame = JSON.parse(event.data)
		if (frame.type === "authenticated") socket.send(JSON.stringify({ type: "subscribe", channel: "headlines" }))
		if (frame.type === "subscribed") status.textContent = "subscribed"
		if (frame.type === "message") {
			const item = document.createElement("li")
			item.textContent = frame.seq + ": " + frame.payload.text
			document.getElementById("messages").appendChild(item)
		}
	}
	socket.onclose = (event) => { status.textContent = "closed " + event.code }
</script>
</body></html>`

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle
let pageServer: Server
let pageUrl = ""
let browser: Browser

// --- [SUITE]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform()
	const port = await freePort()
	pageServer = createServer((_request, response) =>
		response.writeHead(200, { "content-type": "text/html" }).end(Page),
	)
	await new Promise<void>((resolve) => pageServer.listen(port, "127.0.0.1", resolve))
	pageUrl = `http://127.0.0.1:${port}/`
	browser = await launchChromium()
}, 120_000)

afterAll(async () => {
	await browser?.close()
	await new Promise((resolve) => pageServer?.close(resolve))
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("sign-in in a browser", () => {
	it("Chromium keeps the __Host- session cookie the gateway sets over http://127.0.0.1, and it authenticates", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "browser-cookie-co",
		})
		idp.signInAs({ sub: "browser-cookie-user", email: "cookie@example.com" })
		const context = await browser.newContext()
		const page = await context.newPage()
		const start = new URL(`${platform.baseUrl}/v1/auth/oauth/idp/start`)
		start.searchParams.set("app_id", tenant.slug)
		start.searchParams.set("redirect_to", "/signed-in")
		await page.goto(start.toString())
		await page.waitForURL(`${platform.baseUrl}/signed-in`, { timeout: 15_000 })
		const session = (await context.cookies(platform.baseUrl)).find((cookie) => cookie.name === "__Host-ecp_session")
		expect(session).toMatchObject({ secure: true, httpOnly: true, path: "/", sameSite: "Lax" })
		const me = await fetch(`${platform.baseUrl}/v1/users/me`, {
			headers: { cookie: `__Host-ecp_session=${session?.value ?? ""}`, "x-app-id": tenant.slug },
		})
		expect(me.status).toBe(200)
		expect(await me.json()).toMatchObject({ email: "cookie@example.com", emailVerified: true })
		await context.close()
	}, 60_000)
})

describe("realtime in a browser", () => {
	it("a page authenticates, subscribes and shows a message broadcast over HTTP", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "browser-co",
		})
		idp.signInAs({ sub: "browser-user" })
		const token = (await signIn(platform.baseUrl, tenant.slug)).body?.token ?? ""
		const page = await browser.newPage()
		const url = new URL(pageUrl)
		url.searchParams.set("ws", platform.baseUrl.replace(/^http/, "ws"))
		url.searchParams.set("app", tenant.slug)
		// Handed to the page in memory, as an app holding its session would: never in a URL.
		await page.addInitScript((value) => Object.assign(globalThis, { sessionToken: value }), token)
		await page.goto(url.toString())
		await page.waitForSelector("#status:text('subscribed')", { timeout: 15_000 })
		const broadcast = await authed(platform.baseUrl, tenant.slug, token, "/channels/headlines/broadcast", {
			method: "POST",
			body: '{"payload":{"text":"hello from the server"}}',
		})
		expect(broadcast.status).toBe(202)
		await page.waitForSelector("#messages li", { timeout: 15_000 })
		expect(await page.locator("#messages li").allTextContents()).toEqual(["1: hello from the server"])
		await page.close()
	}, 60_000)
})
