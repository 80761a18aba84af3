// MFA with passkeys in one process against real Postgres and Redis: under `mfa: optional`, an OAuth sign-in of a user
// with a passkey answers an `mfa_pending` session whose token every non-MFA route refuses with 401 MfaRequired (the
// routes read from /openapi.json, not listed here); a passkey verification makes it active. Under `mfa: required` a
// user without a passkey may only register one, then verify it.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { loadDocument, operationsOf } from "../fixtures/OpenApiRoutes.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { adminCall, authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"
import { softAuthenticator } from "../fixtures/SoftAuthenticator.ts"
import { connect } from "../fixtures/RealtimeClient.ts"

// --- [CONSTANTS]

const Origin = "http://localhost:5173"
const RpId = "localhost"
const StepUpSeconds = 3

// --- [FUNCTIONS]

const json = Schema.encodeSync(Schema.parseJson())

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle

const configure = (tenantId: string, mfa: string) =>
	adminCall(
		platform.baseUrl,
		platform.adminToken,
		"PUT",
		`/tenants/${tenantId}/webauthn`,
		json({ rpId: RpId, rpName: "Test", origins: [Origin], mfa, userVerification: "required" }),
	)

const post = (tenant: string, token: string, path: string, body?: unknown) =>
	authed(platform.baseUrl, tenant, token, path, {
		method: "POST",
		...(body === undefined ? {} : { body: json(body) }),
	})

const signInAs = async (tenant: string, sub: string) => {
	idp.signInAs({ sub, email: `${sub}@example.com`, name: sub })
	const signedIn = await signIn(platform.baseUrl, tenant)
	expect(signedIn.status, signedIn.text).toBe(200)
	return {
		token: signedIn.body?.token ?? "",
		userId: signedIn.body?.user.id ?? "",
		status: signedIn.body?.session.status ?? "",
	}
}

const registerWith = async (tenant: string, token: string, authenticator: ReturnType<typeof softAuthenticator>) => {
	const options = await post(tenant, token, "/auth/passkeys/registration/options")
	expect(options.status).toBe(200)
	const { challenge } = (await options.json()) as { challenge: string }
	return post(tenant, token, "/auth/passkeys/registration", {
		response: authenticator.register({ challenge, rpId: RpId, origin: Origin }),
	})
}

const verifyWith = async (
	tenant: string,
	token: string,
	authenticator: ReturnType<typeof softAuthenticator>,
	userId: string,
) => {
	const options = await post(tenant, token, "/auth/mfa/options")
	expect(options.status).toBe(200)
	const body = (await options.json()) as { challenge: string; allowCredentials: Array<{ id: string }> }
	expect(body.allowCredentials.map((item) => item.id)).toContain(authenticator.credentialId)
	return post(tenant, token, "/auth/mfa/verify", {
		response: authenticator.assert({ challenge: body.challenge, rpId: RpId, origin: Origin, userHandle: userId }),
	})
}

const tagOf = async (response: Response) => ((await response.json()) as { _tag?: string })._tag

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({ WEBAUTHN_STEP_UP_WINDOW: `${StepUpSeconds} seconds` })
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("passkey MFA", () => {
	it("optional: a user with a passkey signs in mfa_pending, refused on every other route until verified", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "mfa-optional",
		})
		expect((await configure(tenant.id, "optional")).status).toBe(200)
		const first = await signInAs(tenant.slug, "mfa-user")
		expect(first.status).toBe("active")
		const authenticator = softAuthenticator()
		expect((await registerWith(tenant.slug, first.token, authenticator)).status).toBe(201)

		const second = await signInAs(tenant.slug, "mfa-user")
		expect(second.status).toBe("mfa_pending")
		const document = await loadDocument(platform.baseUrl)
		// Every route that takes a user's credential (a bearer scheme in its security), MFA's own aside.
		const takesCredential = (path: string, method: string) =>
			json(document.paths[path]?.[method.toLowerCase()] ?? {}).includes('"bearer"')
		const guarded = operationsOf(document).filter(
			(operation) =>
				operation.path.startsWith("/v1/") &&
				!operation.path.startsWith("/v1/auth/mfa/") &&
				takesCredential(operation.path, operation.method),
		)
		expect(guarded.length).toBeGreaterThan(20)
		const refused = await Promise.all(
			guarded.map(async (operation) => {
				const path = operation.path.replace(/\{[^}]+\}/g, "00000000-0000-4000-8000-000000000000")
				const response = await authed(platform.baseUrl, tenant.slug, second.token, path.slice(3), {
					method: operation.method,
					...(operation.method === "GET" || operation.method === "DELETE" ? {} : { body: "{}" }),
				})
				return `${operation.method} ${operation.path} ${response.status} ${await tagOf(response)}`
			}),
		)
		expect(refused.filter((line) => !line.endsWith(" 401 MfaRequired"))).toEqual([])
		// The realtime socket refuses it too.
		const socket = await connect(platform.baseUrl, tenant.slug)
		socket.send({ type: "auth", token: second.token })
		expect(await socket.closed).toMatchObject({ code: 4401 })
		expect(socket.frames).toMatchObject([{ type: "error", _tag: "Unauthorized" }])

		// The first (active) session still works; a wrong authenticator does not complete MFA.
		expect((await authed(platform.baseUrl, tenant.slug, first.token, "/users/me")).status).toBe(200)
		const stranger = softAuthenticator()
		const options = (await (await post(tenant.slug, second.token, "/auth/mfa/options")).json()) as {
			challenge: string
		}
		const wrong = await post(tenant.slug, second.token, "/auth/mfa/verify", {
			response: stranger.assert({
				challenge: options.challenge,
				rpId: RpId,
				origin: Origin,
				userHandle: second.userId,
			}),
		})
		expect(wrong.status).toBe(401)
		expect(await tagOf(wrong)).toBe("PasskeyVerificationFailed")
		expect((await authed(platform.baseUrl, tenant.slug, second.token, "/users/me")).status).toBe(401)

		const verified = await verifyWith(tenant.slug, second.token, authenticator, second.userId)
		expect(verified.status).toBe(200)
		expect(((await verified.json()) as { session: { status: string } }).session.status).toBe("active")
		expect((await authed(platform.baseUrl, tenant.slug, second.token, "/users/me")).status).toBe(200)

		// Step-up: the first session never verified a passkey; the second did just now, for WEBAUTHN_STEP_UP_WINDOW.
		const createKey = (token: string) => post(tenant.slug, token, "/api-keys", { name: "ci" })
		const unverified = await createKey(first.token)
		expect(unverified.status).toBe(403)
		expect(await tagOf(unverified)).toBe("StepUpRequired")
		expect((await createKey(second.token)).status).toBe(201)
		await new Promise((resolve) => setTimeout(resolve, (StepUpSeconds + 1) * 1000))
		const lapsed = await createKey(second.token)
		expect(lapsed.status).toBe(403)
		expect(await tagOf(lapsed)).toBe("StepUpRequired")
		expect((await verifyWith(tenant.slug, first.token, authenticator, first.userId)).status).toBe(200)
		expect((await createKey(first.token)).status).toBe(201)
	}, 90_000)

	it("required: a user without a passkey may only register one, then verify it", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "mfa-required",
		})
		expect((await configure(tenant.id, "required")).status).toBe(200)
		const pending = await signInAs(tenant.slug, "enroll-user")
		expect(pending.status).toBe("mfa_pending")
		const me = await authed(platform.baseUrl, tenant.slug, pending.token, "/users/me")
		expect(me.status).toBe(401)
		expect(await tagOf(me)).toBe("MfaRequired")
		const authenticator = softAuthenticator()
		expect((await registerWith(tenant.slug, pending.token, authenticator)).status).toBe(201)
		// Now it has a passkey: registering another is no longer open to this session.
		const more = await post(tenant.slug, pending.token, "/auth/passkeys/registration/options")
		expect(more.status).toBe(401)
		expect(await tagOf(more)).toBe("MfaRequired")
		expect((await verifyWith(tenant.slug, pending.token, authenticator, pending.userId)).status).toBe(200)
		expect((await authed(platform.baseUrl, tenant.slug, pending.token, "/users/me")).status).toBe(200)
	}, 90_000)

	it("recovery codes complete MFA once each; regenerating voids the earlier ones", async () => {
		const { tenant } = await setUpTenant({
			baseUrl: platform.baseUrl,
			adminToken: platform.adminToken,
			idp,
			slug: "mfa-recovery",
		})
		expect((await configure(tenant.id, "optional")).status).toBe(200)
		const first = await signInAs(tenant.slug, "recovery-user")
		const authenticator = softAuthenticator()
		expect((await registerWith(tenant.slug, first.token, authenticator)).status).toBe(201)
		const generate = async (token: string) => {
			expect((await verifyWith(tenant.slug, token, authenticator, first.userId)).status).toBe(200)
			const created = await post(tenant.slug, token, "/auth/recovery-codes")
			expect(created.status).toBe(201)
			return ((await created.json()) as { codes: Array<string> }).codes
		}
		const codes = await generate(first.token)
		expect(codes).toHaveLength(10)
		expect(new Set(codes).size).toBe(10)

		const recover = async (code: string) => {
			const pending = await signInAs(tenant.slug, "recovery-user")
			expect(pending.status).toBe("mfa_pending")
			return { pending, answer: await post(tenant.slug, pending.token, "/auth/mfa/recovery", { code }) }
		}
		const used = await recover(codes[0] ?? "")
		expect(used.answer.status).toBe(200)
		expect(((await used.answer.json()) as { session: { status: string } }).session.status).toBe("active")
		expect((await authed(platform.baseUrl, tenant.slug, used.pending.token, "/users/me")).status).toBe(200)

		const reused = await recover(codes[0] ?? "")
		expect(reused.answer.status).toBe(401)
		expect(await tagOf(reused.answer)).toBe("PasskeyVerificationFailed")
		expect((await authed(platform.baseUrl, tenant.slug, reused.pending.token, "/users/me")).status).toBe(401)
		expect((await recover((codes[1] ?? "").toUpperCase())).answer.status).toBe(200)

		const fresh = await generate(first.token)
		expect((await recover(codes[2] ?? "")).answer.status).toBe(401)
		expect((await recover(fresh[0] ?? "")).answer.status).toBe(200)
	}, 90_000)
})
