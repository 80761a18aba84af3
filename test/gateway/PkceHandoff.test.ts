// Browser apps on another origin, over plain HTTP (the browser itself is in test/browser/PkceBrowser.test.ts): CORS
// per tenant (`allowedOrigins`, its default from `allowedRedirectOrigins`, preflights), the PKCE hand-off (start with
// code_challenge → 302 to redirect_to?code=… → POST /v1/auth/token) and its refusals (wrong verifier, reuse,
// another tenant, expiry), and failed sign-ins sent back to redirect_to with ?error=.
import { createHash, randomBytes } from "node:crypto"
import { Schema } from "effect"
import { Redis } from "ioredis"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { makeBrowser } from "../fixtures/BrowserClient.ts"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { adminCall, authed, isCallback, setUpTenant, signIn } from "../fixtures/SignIn.ts"

// --- [TYPES]

type ErrorBody = { readonly _tag: string; readonly message: string }

type SignedIn = {
	readonly token: string
	readonly session: { readonly id: string; readonly status: string }
	readonly user: { readonly id: string; readonly email: string | null }
}

// --- [CONSTANTS]

const encodeJson = Schema.encodeSync(Schema.parseJson())

const redisPrefix = `test:pkce:${crypto.randomUUID()}:`
const AppOrigin = "https://app.example.com"
const OtherOrigin = "https://evil.example.net"

// --- [STATE]

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle
// Signs nobody in: every authorization ends in `error=access_denied`.
let denyingIdp: OidcProviderHandle
let redis: Redis
// Tenant A allows AppOrigin (as a redirect origin, so by default as a CORS origin too); B likewise.
let tenantA = { id: "", slug: "" }
let tenantB = { id: "", slug: "" }

// --- [FUNCTIONS]

const verifierPair = () => {
	const verifier = randomBytes(32).toString("base64url")
	return { verifier, challenge: createHash("sha256").update(verifier).digest("base64url") }
}

const startUrl = (slug: string, params: Readonly<Record<string, string>>, provider = "idp") => {
	const url = new URL(`${platform.baseUrl}/v1/auth/oauth/${provider}/start`)
	url.searchParams.set("app_id", slug)
	Object.entries(params).forEach(([name, value]) => url.searchParams.set(name, value))
	return url.toString()
}

// Start → provider → callback; the callback's response (not followed further).
const throughCallback = async (slug: string, params: Readonly<Record<string, string>>, provider = "idp") => {
	const browser = makeBrowser()
	const start = await browser.get(startUrl(slug, params, provider))
	expect(start.status, await start.clone().text()).toBe(302)
	const reached = await browser.follow(start.headers.get("location") ?? "", { stopAt: isCallback })
	const callback = await browser.get(reached.url)
	return { callback, browser, location: new URL(callback.headers.get("location") ?? "", platform.baseUrl) }
}

// A hand-off up to the one-time code on redirect_to.
const codeFor = async (slug: string, sub: string, redirectTo = `${AppOrigin}/signed-in`) => {
	const pair = verifierPair()
	idp.signInAs({ sub, email: `${sub}@example.com` })
	const { callback, browser, location } = await throughCallback(slug, {
		redirect_to: redirectTo,
		code_challenge: pair.challenge,
		code_challenge_method: "S256",
	})
	expect(callback.status, await callback.clone().text()).toBe(302)
	return { ...pair, code: location.searchParams.get("code") ?? "", location, callback, browser }
}

const exchange = (slug: string, body: unknown, headers: Readonly<Record<string, string>> = {}) =>
	fetch(`${platform.baseUrl}/v1/auth/token`, {
		method: "POST",
		headers: { "x-app-id": slug, "content-type": "application/json", ...headers },
		body: encodeJson(body),
	})

const expectInvalidGrant = async (response: Response) => {
	expect(response.status).toBe(400)
	const body = (await response.json()) as ErrorBody
	expect(body).toEqual({ _tag: "InvalidGrant", message: "the code is invalid, expired or already used" })
}

const patchSettings = (tenantId: string, settings: unknown) =>
	adminCall(platform.baseUrl, platform.adminToken, "PATCH", `/tenants/${tenantId}`, encodeJson({ settings }))

const tenantFrom = (slug: string, origin: string) =>
	fetch(`${platform.baseUrl}/v1/tenant`, { headers: { "x-app-id": slug, origin } })

// Settings changes reach the gateway's tenant cache through the change feed: wait until one shows.
const eventually = async (check: () => Promise<boolean>) => {
	const deadline = Date.now() + 15_000
	const attempt = async (): Promise<boolean> =>
		(await check())
			? true
			: Date.now() > deadline
				? false
				: new Promise((resolve) => setTimeout(resolve, 100)).then(attempt)
	return attempt()
}

// --- [SUITE]

beforeAll(async () => {
	;[idp, denyingIdp] = await Promise.all([startOidcProvider({ clients: [] }), startOidcProvider({ clients: [] })])
	platform = await startPlatform({ REDIS_KEY_PREFIX: redisPrefix, GATEWAY_ANONYMOUS_BURST: "100000" })
	expect(platform.ready).toBe(true)
	redis = new Redis("redis://127.0.0.1:6379")
	const settings = encodeJson({ allowedRedirectOrigins: [AppOrigin] })
	const [madeA, madeB] = await Promise.all([
		setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug: "pkce-a", settings }),
		setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug: "pkce-b", settings }),
	])
	tenantA = madeA.tenant
	tenantB = madeB.tenant
	const clientId = `client-pkce-a-deny`
	const clientSecret = `secret-${crypto.randomUUID()}`
	denyingIdp.addClient({ clientId, clientSecret, redirectUris: [`${platform.baseUrl}/v1/auth/oauth/deny/callback`] })
	const put = await adminCall(
		platform.baseUrl,
		platform.adminToken,
		"PUT",
		`/tenants/${tenantA.id}/oauth-providers/deny`,
		encodeJson({ issuer: denyingIdp.issuer, clientId, clientSecret }),
	)
	expect(put.status).toBe(200)
}, 120_000)

afterAll(async () => {
	redis?.disconnect()
	await platform?.stop()
	await Promise.all([idp?.stop(), denyingIdp?.stop()])
}, 90_000)

describe("CORS", () => {
	it("an actual response carries Access-Control-Allow-Origin for an origin the tenant allows (default: its redirect origins)", async () => {
		const response = await tenantFrom(tenantA.slug, AppOrigin)
		expect(response.status).toBe(200)
		expect(response.headers.get("access-control-allow-origin")).toBe(AppOrigin)
		expect(response.headers.get("access-control-expose-headers")).toBe("X-Request-Id, Retry-After")
		expect(response.headers.get("access-control-allow-credentials")).toBeNull()
		expect(response.headers.get("vary")).toContain("Origin")
	})

	it("another origin, or no tenant, gets no Access-Control-Allow-Origin", async () => {
		const other = await tenantFrom(tenantA.slug, OtherOrigin)
		expect(other.status).toBe(200)
		expect(other.headers.get("access-control-allow-origin")).toBeNull()
		expect(other.headers.get("vary")).toContain("Origin")
		const missing = await fetch(`${platform.baseUrl}/v1/tenant`, { headers: { origin: AppOrigin } })
		expect(missing.status).toBe(400)
		expect(missing.headers.get("access-control-allow-origin")).toBeNull()
		const unknown = await tenantFrom("pkce-nobody", AppOrigin)
		expect(unknown.status).toBe(404)
		expect(unknown.headers.get("access-control-allow-origin")).toBeNull()
		const health = await fetch(`${platform.baseUrl}/health/live`, { headers: { origin: AppOrigin } })
		expect(health.headers.get("access-control-allow-origin")).toBeNull()
	})

	it("an error response of the tenant's routes is readable by an allowed origin too", async () => {
		const response = await fetch(`${platform.baseUrl}/v1/users/me`, {
			headers: { "x-app-id": tenantA.slug, origin: AppOrigin },
		})
		expect(response.status).toBe(401)
		expect(response.headers.get("access-control-allow-origin")).toBe(AppOrigin)
	})

	it("a preflight names no tenant: 204 with the listed methods and headers, the origin echoed, no credentials", async () => {
		const response = await fetch(`${platform.baseUrl}/v1/auth/token`, {
			method: "OPTIONS",
			headers: {
				origin: OtherOrigin,
				"access-control-request-method": "POST",
				"access-control-request-headers": "x-app-id, content-type",
			},
		})
		expect(response.status).toBe(204)
		expect(response.headers.get("access-control-allow-origin")).toBe(OtherOrigin)
		expect(response.headers.get("access-control-allow-methods")).toBe("GET, POST, PUT, PATCH, DELETE")
		const allowed = (response.headers.get("access-control-allow-headers") ?? "").toLowerCase().split(/,\s*/)
		expect(allowed).toEqual(
			expect.arrayContaining(["authorization", "x-app-id", "idempotency-key", "content-type"]),
		)
		expect(response.headers.get("access-control-allow-credentials")).toBeNull()
		expect(response.headers.get("vary")).toContain("Origin")
		expect(response.headers.get("x-request-id")).toBeTruthy()
	})

	it("a preflight with ?app_id= is answered for that tenant alone", async () => {
		const preflight = (origin: string, slug: string) =>
			fetch(`${platform.baseUrl}/v1/tenant?app_id=${slug}`, {
				method: "OPTIONS",
				headers: {
					origin,
					"access-control-request-method": "GET",
					"access-control-request-headers": "x-app-id",
				},
			})
		const allowed = await preflight(AppOrigin, tenantA.slug)
		expect(allowed.status).toBe(204)
		expect(allowed.headers.get("access-control-allow-origin")).toBe(AppOrigin)
		const refused = await preflight(OtherOrigin, tenantA.slug)
		expect(refused.status).toBe(204)
		expect(refused.headers.get("access-control-allow-origin")).toBeNull()
		const unknown = await preflight(AppOrigin, "pkce-nobody")
		expect(unknown.headers.get("access-control-allow-origin")).toBeNull()
	})

	it("PATCH settings.allowedOrigins takes only origins, and replaces the default", async () => {
		const made = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "pkce-cors-set",
			settings: encodeJson({ allowedRedirectOrigins: [AppOrigin] }),
		})
		await Promise.all(
			[
				["https://app.example.com/"],
				["https://app.example.com/path"],
				["ftp://app.example.com"],
				["not an origin"],
				["https://user@app.example.com"],
			].map(async (allowedOrigins) => {
				const response = await patchSettings(made.tenant.id, { allowedOrigins })
				expect(response.status, encodeJson(allowedOrigins)).toBe(400)
				expect(((await response.json()) as ErrorBody)._tag).toBe("ValidationError")
			}),
		)
		const patched = await patchSettings(made.tenant.id, {
			allowedRedirectOrigins: [AppOrigin],
			allowedOrigins: ["http://localhost:5173"],
		})
		expect(patched.status, await patched.clone().text()).toBe(200)
		expect(
			await eventually(
				async () =>
					(await tenantFrom(made.tenant.slug, "http://localhost:5173")).headers.get(
						"access-control-allow-origin",
					) === "http://localhost:5173",
			),
		).toBe(true)
		// The explicit list replaces the default: the redirect origin is no longer a CORS origin.
		expect((await tenantFrom(made.tenant.slug, AppOrigin)).headers.get("access-control-allow-origin")).toBeNull()
	})
})

describe("PKCE hand-off", () => {
	it("the callback answers 302 to redirect_to?code=…, with no session cookie; the code and verifier buy a session once", async () => {
		const { code, verifier, location, callback } = await codeFor(tenantA.slug, "handoff-user")
		expect(`${location.origin}${location.pathname}`).toBe(`${AppOrigin}/signed-in`)
		expect(code).toMatch(/^[A-Za-z0-9_-]{43}$/)
		expect(location.href).not.toContain("ecps_")
		expect(callback.headers.getSetCookie().join("\n")).not.toContain("__Host-ecp_session=ecps_")
		const first = await exchange(tenantA.slug, { code, codeVerifier: verifier }, { origin: AppOrigin })
		expect(first.status, await first.clone().text()).toBe(200)
		expect(first.headers.get("cache-control")).toBe("no-store")
		expect(first.headers.get("access-control-allow-origin")).toBe(AppOrigin)
		const body = (await first.json()) as SignedIn
		expect(body.token).toMatch(/^ecps_/)
		expect(body.session.status).toBe("active")
		expect(body.user.email).toBe("handoff-user@example.com")
		const me = await authed(platform.baseUrl, tenantA.slug, body.token, "/users/me")
		expect(me.status).toBe(200)
		expect(((await me.json()) as { id: string }).id).toBe(body.user.id)
		await expectInvalidGrant(await exchange(tenantA.slug, { code, codeVerifier: verifier }))
	})

	it("the code is kept only under its hash, with a lifetime of OAUTH_CODE_TTL (60 s), and refused once expired", async () => {
		const { code, verifier } = await codeFor(tenantA.slug, "expiring-user")
		const key = `${redisPrefix}oauth:code:${createHash("sha256").update(code).digest("hex")}`
		const stored = (await redis.get(key)) ?? ""
		expect(stored).not.toContain(code)
		expect(stored).toContain(tenantA.id)
		const ttl = await redis.pttl(key)
		expect(ttl).toBeGreaterThan(0)
		expect(ttl).toBeLessThanOrEqual(60_000)
		expect(await redis.keys(`${redisPrefix}*${code}*`)).toEqual([])
		// Expiry is the store's own: let the entry run out now instead of waiting a minute.
		await redis.pexpire(key, 1)
		await new Promise((resolve) => setTimeout(resolve, 20))
		await expectInvalidGrant(await exchange(tenantA.slug, { code, codeVerifier: verifier }))
	})

	it("a wrong verifier is refused and burns the code", async () => {
		const { code, verifier } = await codeFor(tenantA.slug, "wrong-verifier-user")
		await expectInvalidGrant(
			await exchange(tenantA.slug, { code, codeVerifier: randomBytes(32).toString("base64url") }),
		)
		await expectInvalidGrant(await exchange(tenantA.slug, { code, codeVerifier: verifier }))
	})

	it("a code issued for tenant A is refused under tenant B's X-App-Id", async () => {
		const { code, verifier } = await codeFor(tenantA.slug, "cross-tenant-user")
		await expectInvalidGrant(await exchange(tenantB.slug, { code, codeVerifier: verifier }))
		await expectInvalidGrant(await exchange(tenantA.slug, { code, codeVerifier: verifier }))
	})

	it("a user deactivated between the callback and the exchange gets InvalidGrant, not a session", async () => {
		const { code, verifier } = await codeFor(tenantA.slug, "deactivated-user")
		idp.signInAs({ sub: "deactivated-user", email: "deactivated-user@example.com" })
		const other = await signIn(platform.baseUrl, tenantA.slug)
		expect(other.status, other.text).toBe(200)
		const deactivated = await authed(
			platform.baseUrl,
			tenantA.slug,
			other.body?.token ?? "",
			"/users/me/deactivate",
			{
				method: "POST",
			},
		)
		expect(deactivated.status, await deactivated.clone().text()).toBe(202)
		await expectInvalidGrant(await exchange(tenantA.slug, { code, codeVerifier: verifier }))
	})

	it("an unknown code, and malformed requests, are refused with tagged 400s", async () => {
		const { verifier } = verifierPair()
		await expectInvalidGrant(await exchange(tenantA.slug, { code: "nope", codeVerifier: verifier }))
		const short = await exchange(tenantA.slug, { code: "nope", codeVerifier: "short" })
		expect(short.status).toBe(400)
		expect(((await short.json()) as ErrorBody)._tag).toBe("ValidationError")
		const noTenant = await fetch(`${platform.baseUrl}/v1/auth/token`, {
			method: "POST",
			headers: { "content-type": "application/json" },
			body: encodeJson({ code: "nope", codeVerifier: verifier }),
		})
		expect(noTenant.status).toBe(400)
		expect(((await noTenant.json()) as ErrorBody)._tag).toBe("MissingTenant")
	})

	it("start refuses a challenge without redirect_to, a method other than S256, and a malformed challenge", async () => {
		const { challenge } = verifierPair()
		const cases: ReadonlyArray<Readonly<Record<string, string>>> = [
			{ code_challenge: challenge },
			{ code_challenge: challenge, code_challenge_method: "plain", redirect_to: `${AppOrigin}/x` },
			{ code_challenge: "abc", redirect_to: `${AppOrigin}/x` },
		]
		await Promise.all(
			cases.map(async (params) => {
				const response = await fetch(startUrl(tenantA.slug, params), { redirect: "manual" })
				expect(response.status, encodeJson(params)).toBe(400)
				expect(((await response.json()) as ErrorBody)._tag).toBe("ValidationError")
			}),
		)
		const foreign = await fetch(
			startUrl(tenantA.slug, { code_challenge: challenge, redirect_to: `${OtherOrigin}/x` }),
			{ redirect: "manual" },
		)
		expect(foreign.status).toBe(400)
		expect(((await foreign.json()) as ErrorBody)._tag).toBe("RedirectNotAllowed")
	})

	it("the OpenAPI document declares POST /v1/auth/token and the start's PKCE parameters", async () => {
		const document = (await (await fetch(`${platform.baseUrl}/openapi.json`)).json()) as {
			paths: Record<
				string,
				Record<string, { parameters?: Array<{ name: string }>; responses: Record<string, unknown> }>
			>
		}
		expect(Object.keys(document.paths["/v1/auth/token"]?.["post"]?.responses ?? {})).toEqual(
			expect.arrayContaining(["200", "400", "404", "503"]),
		)
		const startParams = document.paths["/v1/auth/oauth/{provider}/start"]?.["get"]?.parameters ?? []
		expect(startParams.map((parameter) => parameter.name)).toEqual(
			expect.arrayContaining(["code_challenge", "code_challenge_method", "redirect_to"]),
		)
	})
})

describe("failed sign-ins go back to redirect_to", () => {
	it("the provider refused: 302 to redirect_to?error=access_denied&error_description=…, nothing else", async () => {
		const { challenge } = verifierPair()
		const { callback, location } = await throughCallback(
			tenantA.slug,
			{ redirect_to: `${AppOrigin}/signed-in?step=2`, code_challenge: challenge },
			"deny",
		)
		expect(callback.status).toBe(302)
		expect(`${location.origin}${location.pathname}`).toBe(`${AppOrigin}/signed-in`)
		expect(location.searchParams.get("step")).toBe("2")
		expect(location.searchParams.get("error")).toBe("access_denied")
		expect(location.searchParams.get("error_description")).toBe("sign-in failed; start again")
		expect(location.searchParams.get("code")).toBeNull()
		expect([...location.searchParams.keys()].sort()).toEqual(["error", "error_description", "step"])
		expect(callback.headers.getSetCookie().join("\n")).not.toContain("ecps_")
	})

	it("a refused exchange at the provider (a tampered code) also goes back, without the provider's words", async () => {
		idp.signInAs({ sub: "tamper-user" })
		const browser = makeBrowser()
		const start = await browser.get(startUrl(tenantA.slug, { redirect_to: `${AppOrigin}/signed-in` }))
		const reached = await browser.follow(start.headers.get("location") ?? "", { stopAt: isCallback })
		const tampered = new URL(reached.url)
		tampered.searchParams.set("code", "forged-code")
		const callback = await browser.get(tampered.href)
		expect(callback.status).toBe(302)
		const location = new URL(callback.headers.get("location") ?? "")
		expect(location.origin).toBe(AppOrigin)
		expect(location.searchParams.get("error")).toBe("access_denied")
		expect(location.searchParams.get("error_description")).toBe("sign-in failed; start again")
	})

	it("without redirect_to, or with an unknown state, the failure stays a JSON 401", async () => {
		const browser = makeBrowser()
		const start = await browser.get(startUrl(tenantA.slug, {}, "deny"))
		const reached = await browser.follow(start.headers.get("location") ?? "", { stopAt: isCallback })
		const callback = await browser.get(reached.url)
		expect(callback.status).toBe(401)
		expect(((await callback.json()) as ErrorBody)._tag).toBe("OAuthFailed")
		const unknown = await fetch(`${platform.baseUrl}/v1/auth/oauth/idp/callback?state=nope&code=x`, {
			redirect: "manual",
		})
		expect(unknown.status).toBe(401)
	})
})
