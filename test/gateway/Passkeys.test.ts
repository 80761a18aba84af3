// Passkeys end to end in one process against real Postgres and Redis: registration for a signed-in user, usernameless
// sign-in, management, and the failures that must change nothing (401 PasskeyVerificationFailed): a reused, replayed
// or expired challenge, a wrong origin or RP ID, user verification missing where required, another user's or tenant's
// credential, and a signature counter that goes backwards (the passkey is then cloned: refused from then on, audited).
// The authenticator is test/fixtures/SoftAuthenticator.ts: real ES256 signatures checked by @simplewebauthn/server.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import pg from "pg"
import { Schema } from "effect"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { adminCall, authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"
import { softAuthenticator } from "../fixtures/SoftAuthenticator.ts"

// --- [CONSTANTS]

const Origin = "http://localhost:5173"
const RpId = "localhost"
const ChallengeTtlSeconds = 4

// --- [FUNCTIONS]

const json = Schema.encodeSync(Schema.parseJson())

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle

const query = async (text: string, values: Array<unknown>) => {
	const client = new pg.Client({ connectionString: platform.databaseUrl })
	await client.connect()
	return client
		.query(text, values)
		.then((result) => result.rows)
		.finally(() => client.end())
}

const configure = (tenantId: string, overrides: Record<string, unknown> = {}) =>
	adminCall(
		platform.baseUrl,
		platform.adminToken,
		"PUT",
		`/tenants/${tenantId}/webauthn`,
		json({ rpId: RpId, rpName: "Test", origins: [Origin], mfa: "off", userVerification: "required", ...overrides }),
	)

const tenantWithUser = async (slug: string, sub: string) => {
	const { tenant } = await setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug })
	expect((await configure(tenant.id)).status).toBe(200)
	idp.signInAs({ sub, email: `${sub}@example.com`, name: sub })
	const signedIn = await signIn(platform.baseUrl, tenant.slug)
	expect(signedIn.status, signedIn.text).toBe(200)
	return { tenant, token: signedIn.body?.token ?? "", userId: signedIn.body?.user.id ?? "" }
}

const post = (tenant: string, token: string | null, path: string, body?: unknown) =>
	token === null
		? fetch(`${platform.baseUrl}/v1${path}`, {
				method: "POST",
				headers: { "x-app-id": tenant, "content-type": "application/json" },
				...(body === undefined ? {} : { body: json(body) }),
			})
		: authed(platform.baseUrl, tenant, token, path, {
				method: "POST",
				...(body === undefined ? {} : { body: json(body) }),
			})

const challengeOf = async (response: Response) => {
	expect(response.status).toBe(200)
	return ((await response.json()) as { challenge: string }).challenge
}

const register = async (
	tenant: string,
	token: string,
	authenticator: ReturnType<typeof softAuthenticator>,
	name?: string,
) => {
	const challenge = await challengeOf(await post(tenant, token, "/auth/passkeys/registration/options"))
	const response = authenticator.register({ challenge, rpId: RpId, origin: Origin })
	return post(tenant, token, "/auth/passkeys/registration", name === undefined ? { response } : { response, name })
}

const loginWith = async (
	tenant: string,
	authenticator: ReturnType<typeof softAuthenticator>,
	userHandle: string,
	options: { readonly origin?: string; readonly rpId?: string; readonly uv?: boolean } = {},
) => {
	const challenge = await challengeOf(await post(tenant, null, "/auth/passkeys/login/options"))
	const response = authenticator.assert({
		challenge,
		rpId: options.rpId ?? RpId,
		origin: options.origin ?? Origin,
		userHandle,
		uv: options.uv ?? true,
	})
	return { response, answer: await post(tenant, null, "/auth/passkeys/login", { response }) }
}

// A passkey verification of the session (POST /v1/auth/mfa/options + verify): the step-up of sensitive operations.
const stepUp = async (
	tenant: string,
	token: string,
	authenticator: ReturnType<typeof softAuthenticator>,
	userId: string,
) => {
	const challenge = await challengeOf(await post(tenant, token, "/auth/mfa/options"))
	const response = authenticator.assert({ challenge, rpId: RpId, origin: Origin, userHandle: userId })
	return post(tenant, token, "/auth/mfa/verify", { response })
}

const expectRefused = async (response: Response) => {
	expect(response.status).toBe(401)
	expect(((await response.json()) as { _tag: string })._tag).toBe("PasskeyVerificationFailed")
}

const passkeyRow = async (credentialId: string) =>
	(
		await query("SELECT counter::int AS counter, cloned, last_used_at FROM passkeys WHERE credential_id = $1", [
			credentialId,
		])
	)[0] as { counter: number; cloned: boolean; last_used_at: Date | null } | undefined

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({ WEBAUTHN_CHALLENGE_TTL: `${ChallengeTtlSeconds} seconds` })
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("passkeys", () => {
	it("registers a passkey for a signed-in user, lists, renames it; a reused registration challenge is refused", async () => {
		const { tenant, token, userId } = await tenantWithUser("pk-reg", "reg-user")
		const challenge = await challengeOf(await post(tenant.slug, token, "/auth/passkeys/registration/options"))
		const authenticator = softAuthenticator()
		const response = authenticator.register({ challenge, rpId: RpId, origin: Origin })
		const created = await post(tenant.slug, token, "/auth/passkeys/registration", { response, name: "Laptop" })
		expect(created.status).toBe(201)
		const view = (await created.json()) as Record<string, unknown>
		expect(view).toMatchObject({ name: "Laptop", lastUsedAt: null, backedUp: false, transports: ["internal"] })
		expect(Object.keys(view).sort()).toEqual(["backedUp", "createdAt", "id", "lastUsedAt", "name", "transports"])

		// Stepped up (a second registration needs it), the spent challenge is still refused.
		expect((await stepUp(tenant.slug, token, authenticator, userId)).status).toBe(200)
		const again = authenticator.register({ challenge, rpId: RpId, origin: Origin })
		await expectRefused(await post(tenant.slug, token, "/auth/passkeys/registration", { response: again }))

		const options = (await (await post(tenant.slug, token, "/auth/passkeys/registration/options")).json()) as {
			rp: { id: string }
			user: { id: string }
			excludeCredentials: Array<{ id: string }>
			authenticatorSelection: { residentKey: string; userVerification: string }
		}
		expect(options.rp.id).toBe(RpId)
		expect(Buffer.from(options.user.id, "base64url").toString()).toBe(userId)
		expect(options.excludeCredentials.map((item) => item.id)).toEqual([authenticator.credentialId])
		expect(options.authenticatorSelection).toMatchObject({ residentKey: "required", userVerification: "required" })

		const renamed = await authed(platform.baseUrl, tenant.slug, token, `/auth/passkeys/${view.id}`, {
			method: "PATCH",
			body: json({ name: "Work laptop" }),
		})
		expect(renamed.status).toBe(200)
		const list = (await (await authed(platform.baseUrl, tenant.slug, token, "/auth/passkeys")).json()) as {
			items: Array<{ id: string; name: string }>
		}
		expect(list.items.map((item) => [item.id, item.name])).toEqual([[view.id, "Work laptop"]])
		const audits = await query("SELECT operation FROM audit_logs WHERE subject_id = $1 ORDER BY id", [view.id])
		expect(audits.map((row) => row.operation)).toEqual(["enroll", "sign", "update"])
	}, 60_000)

	it("signs in with a discoverable passkey; replay, wrong origin, wrong RP ID and missing UV change nothing", async () => {
		const { tenant, token, userId } = await tenantWithUser("pk-login", "login-user")
		const authenticator = softAuthenticator()
		expect((await register(tenant.slug, token, authenticator)).status).toBe(201)

		const { response, answer } = await loginWith(tenant.slug, authenticator, userId)
		expect(answer.status).toBe(200)
		const signedIn = (await answer.json()) as { token: string; session: { status: string }; user: { id: string } }
		expect(signedIn.session.status).toBe("active")
		expect(signedIn.user.id).toBe(userId)
		expect(answer.headers.get("set-cookie")).toContain("__Host-ecp_session=")
		const me = await authed(platform.baseUrl, tenant.slug, signedIn.token, "/users/me")
		expect(me.status).toBe(200)
		const after = await passkeyRow(authenticator.credentialId)
		expect(after).toMatchObject({ counter: 1, cloned: false })

		// The same answer again: its challenge was taken.
		await expectRefused(await post(tenant.slug, null, "/auth/passkeys/login", { response }))
		await expectRefused(
			(await loginWith(tenant.slug, authenticator, userId, { origin: "https://evil.test" })).answer,
		)
		await expectRefused((await loginWith(tenant.slug, authenticator, userId, { rpId: "evil.test" })).answer)
		await expectRefused((await loginWith(tenant.slug, authenticator, userId, { uv: false })).answer)
		// Each refused answer was signed with a higher counter, yet the stored one did not move.
		expect(await passkeyRow(authenticator.credentialId)).toEqual(after)

		// A challenge answered after WEBAUTHN_CHALLENGE_TTL is gone.
		const challenge = await challengeOf(await post(tenant.slug, null, "/auth/passkeys/login/options"))
		await new Promise((resolve) => setTimeout(resolve, (ChallengeTtlSeconds + 1) * 1000))
		const late = authenticator.assert({ challenge, rpId: RpId, origin: Origin, userHandle: userId })
		await expectRefused(await post(tenant.slug, null, "/auth/passkeys/login", { response: late }))
		expect(await passkeyRow(authenticator.credentialId)).toEqual(after)
		const signs = await query(
			"SELECT count(*)::int AS count FROM audit_logs WHERE app_id = $1 AND operation = 'sign'",
			[tenant.id],
		)
		expect(signs).toEqual([{ count: 1 }])
	}, 60_000)

	it("refuses another user's and another tenant's credential", async () => {
		const alice = await tenantWithUser("pk-alice", "alice-pk")
		const aliceKey = softAuthenticator()
		expect((await register(alice.tenant.slug, alice.token, aliceKey)).status).toBe(201)
		idp.signInAs({ sub: "bob-pk", email: "bob-pk@example.com", name: "Bob" })
		const bob = await signIn(platform.baseUrl, alice.tenant.slug)
		const bobId = bob.body?.user.id ?? ""
		// Alice's credential registered again, by Bob: the credential id is taken in this tenant.
		await expectRefused(await register(alice.tenant.slug, bob.body?.token ?? "", aliceKey))
		const bobKey = softAuthenticator()
		expect((await register(alice.tenant.slug, bob.body?.token ?? "", bobKey)).status).toBe(201)

		// Bob's key claiming to be Alice's, and Alice's key claiming to be Bob's.
		await expectRefused((await loginWith(alice.tenant.slug, bobKey, alice.userId)).answer)
		await expectRefused((await loginWith(alice.tenant.slug, aliceKey, bobId)).answer)
		// Alice's key at another tenant (same RP ID), where she is nobody.
		const other = await tenantWithUser("pk-other", "other-pk")
		await expectRefused((await loginWith(other.tenant.slug, aliceKey, alice.userId)).answer)
		expect((await loginWith(alice.tenant.slug, aliceKey, alice.userId)).answer.status).toBe(200)
	}, 60_000)

	it("a counter that goes backwards marks the passkey cloned: refused from then on, audited", async () => {
		const { tenant, token, userId } = await tenantWithUser("pk-clone", "clone-user")
		const original = softAuthenticator()
		expect((await register(tenant.slug, token, original)).status).toBe(201)
		const copy = original.copy()
		expect((await loginWith(tenant.slug, original, userId)).answer.status).toBe(200)
		expect((await loginWith(tenant.slug, original, userId)).answer.status).toBe(200)
		// The copy still counts from 0: its next signature carries 1, below the stored 2.
		await expectRefused((await loginWith(tenant.slug, copy, userId)).answer)
		expect(await passkeyRow(original.credentialId)).toMatchObject({ counter: 2, cloned: true })
		await expectRefused((await loginWith(tenant.slug, original, userId)).answer)
		const disabled = await query(
			"SELECT details->>'reason' AS reason FROM audit_logs WHERE app_id = $1 AND operation = 'disable'",
			[tenant.id],
		)
		expect(disabled).toEqual([{ reason: "cloned" }])
	}, 60_000)

	it("deletes a passkey; the last one is kept (409 LastFactor) while the tenant requires MFA", async () => {
		const { tenant, token, userId } = await tenantWithUser("pk-delete", "delete-user")
		const key = softAuthenticator()
		const first = (await (await register(tenant.slug, token, key)).json()) as { id: string }
		// With a passkey, registering another needs a step-up first.
		const refused = await register(tenant.slug, token, softAuthenticator())
		expect(refused.status).toBe(403)
		expect(((await refused.json()) as { _tag: string })._tag).toBe("StepUpRequired")
		expect((await stepUp(tenant.slug, token, key, userId)).status).toBe(200)
		const second = (await (await register(tenant.slug, token, softAuthenticator())).json()) as { id: string }
		expect((await configure(tenant.id, { mfa: "required" })).status).toBe(200)
		const del = (id: string) =>
			authed(platform.baseUrl, tenant.slug, token, `/auth/passkeys/${id}`, { method: "DELETE" })
		expect((await del(first.id)).status).toBe(200)
		const last = await del(second.id)
		expect(last.status).toBe(409)
		expect(((await last.json()) as { _tag: string })._tag).toBe("LastFactor")
		expect((await configure(tenant.id, { mfa: "off" })).status).toBe(200)
		expect((await del(second.id)).status).toBe(200)
		expect((await del(second.id)).status).toBe(404)
		const operations = await query(
			"SELECT operation FROM audit_logs WHERE app_id = $1 AND subject_type = 'passkey' ORDER BY id",
			[tenant.id],
		)
		expect(operations.map((row) => row.operation)).toEqual(["enroll", "sign", "enroll", "disable", "disable"])
	}, 60_000)
})
