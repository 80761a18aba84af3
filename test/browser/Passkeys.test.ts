// Passkeys (CONTRACT.md "Passkeys (WebAuthn, MFA)") end to end, black box: the in-process platform, the fixture
// OpenID provider for OAuth sign-in, and real ceremonies in Debian's Chromium with DevTools virtual authenticators on
// pages served on the tenant's origin (test/fixtures/WebAuthnBrowser.ts, proven by WebAuthnHarness.test.ts).
//
// Assumptions where the contract is silent (the implementer must match them, or this file changes with a note):
// - Options routes answer the options JSON itself (not wrapped): `registration/options` → the
//   PublicKeyCredentialCreationOptionsJSON, `mfa/options` and `login/options` → PublicKeyCredentialRequestOptionsJSON.
//   `login/options` needs only `X-App-Id`, and leaves `allowCredentials` empty (discoverable credentials).
// - The options carry the tenant's `rpId` (`rp.id` / `rpId`) and its `userVerification` policy.
// - `GET /v1/auth/passkeys` is a list in the house format `{ "items": [...], "nextCursor" }`.
// - `DELETE /v1/auth/passkeys/{id}` answers 200 or 204; PATCH answers 200 with the passkey.
// - `mfa/verify` turns the very session (and token) that asked into `active`: the same token works afterwards.
// - With `mfa: "required"`, the first passkey registered by an `mfa_pending` session is then verified through
//   mfa/verify (200 whether registration already made the session active or not).
// - The first passkey of a user with no passkey needs no step-up (the contract: step-up "when the user has a passkey").
// - A wrong or reused recovery code → 401 (the contract names no tag; any `_tag` is accepted, and the session must stay
//   `mfa_pending`).
// - `mfa_pending` is refused on every `/v1/` operation whose /openapi.json `security` requires a credential (bearer or
//   session cookie in every alternative; X-App-Id alone is not one), except `POST /v1/auth/mfa/options|verify|recovery`,
//   before the body is looked at (401 `MfaRequired`, even with a body the route would refuse as 400); and on the
//   realtime socket (close 4401, no `authenticated` frame).
// - `http://app.localhost:<port>` is an acceptable origin for RP ID `localhost` (a subdomain of the RP ID; browsers
//   treat every `*.localhost` as a secure context, W3C Secure Contexts §3.1). Only the wrong-RP-ID case needs it.
// - Session status is read through the admin route `GET /admin/v1/tenants/{id}/users/{userId}/sessions` (its items
//   carry `id` and `status`), since an `mfa_pending` token cannot read its own session.
import fc from "fast-check"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hasChromium } from "../fixtures/Chromium.ts"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { arbitraryOf, loadDocument, type OpenApiDocument, operationsOf } from "../fixtures/OpenApiRoutes.ts"
import { type Answer, passkeyClient, request, show } from "../fixtures/PasskeyClient.ts"
import { sleep } from "../fixtures/Processes.ts"
import { connect } from "../fixtures/RealtimeClient.ts"
import { setUpTenant, signIn } from "../fixtures/SignIn.ts"
import { base64url, startWebAuthnBrowser } from "../fixtures/WebAuthnBrowser.ts"

// --- [TYPES]

type Platform = Awaited<ReturnType<typeof startPlatform>>
type Harness = Awaited<ReturnType<typeof startWebAuthnBrowser>>
type Device = Awaited<ReturnType<Harness["device"]>>
type Client = ReturnType<typeof passkeyClient>

// --- [CONSTANTS]

const MfaRoutes = ["POST /v1/auth/mfa/options", "POST /v1/auth/mfa/verify", "POST /v1/auth/mfa/recovery"]

// Short windows for the expiry cases (a second platform: the main one keeps the defaults).
const ChallengeTtlSeconds = 4
const StepUpWindowSeconds = 4

// --- [STATE]

let harness: Harness
let idp: OidcProviderHandle

// --- [FUNCTIONS]

// A tenant whose provider is the fixture IdP and whose relying party is `localhost` on the harness's origins.
const passkeyTenant = async (
	platform: Platform,
	slug: string,
	config: { readonly mfa?: string; readonly userVerification?: string; readonly origins?: ReadonlyArray<string> },
) => {
	const made = await setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug })
	expect(made.putStatus).toBe(200)
	const client = passkeyClient(platform.baseUrl, made.tenant.slug, platform.adminToken)
	const webauthn = {
		rpId: "localhost",
		rpName: `${slug} passkeys`,
		origins: config.origins ?? [harness.origin()],
		mfa: config.mfa ?? "optional",
		userVerification: config.userVerification ?? "required",
	}
	const put = await client.admin("PUT", `/tenants/${made.tenant.id}/webauthn`, webauthn)
	expect(put.status, show(put.body)).toBe(200)
	return { tenant: made.tenant, client, webauthn }
}

// An OAuth sign-in of `sub` (token, session, user), as the identity tests do it.
const oauth = async (platform: Platform, slug: string, sub: string) => {
	idp.signInAs({ sub, email: `${sub}@example.com` })
	const signedIn = await signIn(platform.baseUrl, slug)
	expect(signedIn.status, signedIn.text).toBe(200)
	return signedIn.body ?? { token: "", session: { id: "", userId: "", status: "" }, user: { id: "", email: "" } }
}

// Session statuses of a user, by session id, through the admin API.
const sessionStatuses = async (client: Client, tenantId: string, userId: string) => {
	const answer = await client.admin("GET", `/tenants/${tenantId}/users/${userId}/sessions?limit=100`)
	expect(answer.status).toBe(200)
	return Object.fromEntries(
		((answer.body["items"] ?? []) as ReadonlyArray<{ readonly id: string; readonly status: string }>).map(
			(session) => [session.id, session.status],
		),
	)
}

// Whether the document says the operation acts for someone: every alternative of its `security` names a credential
// scheme (HTTP bearer, or an API key in a cookie), not only the X-App-Id header. Public tenant routes (passkey login,
// the PKCE token exchange, GET /v1/tenant) read no credential, so they have none to refuse.
const needsCredential = (document: OpenApiDocument, method: string, path: string) => {
	const schemes = ((document.components as { readonly securitySchemes?: Record<string, Record<string, unknown>> })
		.securitySchemes ?? {}) as Record<string, Record<string, unknown>>
	const isCredential = (name: string) =>
		schemes[name]?.["type"] === "http" ||
		(schemes[name]?.["type"] === "apiKey" && schemes[name]?.["in"] === "cookie")
	const security = ((document.paths[path]?.[method.toLowerCase()] as { readonly security?: unknown } | undefined)
		?.security ?? []) as ReadonlyArray<Record<string, unknown>>
	return security.length > 0 && security.every((requirement) => Object.keys(requirement).some(isCredential))
}

const refusedWith = (answer: Answer, status: number, tag: string) => {
	expect({ status: answer.status, tag: answer.body._tag }).toEqual({ status, tag })
}

// A user signed in through OAuth (no passkey yet) who enrolls one on `device`; the still-active session's token.
const enrolledUser = async (platform: Platform, client: Client, slug: string, sub: string, device: Device) => {
	const first = await oauth(platform, slug, sub)
	expect(first.session.status).toBe("active")
	const enrolled = await client.enroll(device, first.token, `${sub} key`)
	expect(enrolled.status, show(enrolled.body)).toBe(201)
	return { token: first.token, userId: first.user.id, passkeyId: String(enrolled.body["id"]) }
}

// The credential of a device, copied into a new device on `origin` (optionally under another RP ID).
const copyOf = async (from: Device, origin: string, rpId?: string) => {
	const [credential] = await from.credentials()
	expect(credential).toBeDefined()
	const copy = await harness.device(origin)
	await copy.addCredential({ ...credential!, ...(rpId === undefined ? {} : { rpId }) })
	return copy
}

// --- [SUITE]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	harness = await startWebAuthnBrowser()
}, 120_000)

afterAll(async () => {
	await harness?.stop()
	await idp?.stop()
}, 60_000)

describe.skipIf(!hasChromium())("passkeys: configuration, enrollment, MFA, passkey sign-in, removal", () => {
	let platform: Platform
	let setup: Awaited<ReturnType<typeof passkeyTenant>>
	let device: Device
	let token = ""
	let userId = ""
	let passkeyId = ""

	beforeAll(async () => {
		platform = await startPlatform({ GATEWAY_ANONYMOUS_BURST: "1000000" })
		setup = await passkeyTenant(platform, "passkey-flow-co", { mfa: "optional" })
		device = await harness.device(harness.origin())
	}, 120_000)

	afterAll(async () => {
		await platform?.stop()
	}, 60_000)

	it("admin PUT/GET of the relying party; a bad policy is a 400, never a 500; no admin token → 401", async () => {
		const read = await setup.client.admin("GET", `/tenants/${setup.tenant.id}/webauthn`)
		expect(read.status).toBe(200)
		expect(read.body).toMatchObject(setup.webauthn)
		const bad = await setup.client.admin("PUT", `/tenants/${setup.tenant.id}/webauthn`, {
			...setup.webauthn,
			mfa: "sometimes",
		})
		expect(bad.status).toBe(400)
		expect(typeof bad.body._tag).toBe("string")
		const anonymous = await request(platform.baseUrl, "GET", `/admin/v1/tenants/${setup.tenant.id}/webauthn`)
		refusedWith(anonymous, 401, "Unauthorized")
		expect((await setup.client.admin("GET", `/tenants/${setup.tenant.id}/webauthn`)).body).toMatchObject(
			setup.webauthn,
		)
	}, 30_000)

	it("a page on the tenant's origin registers a passkey in the user's session (201 with the contract's fields)", async () => {
		const first = await oauth(platform, setup.tenant.slug, "flow-user")
		expect(first.session.status).toBe("active")
		token = first.token
		userId = first.user.id
		const options = await setup.client.registrationOptions(token)
		expect(options.status).toBe(200)
		expect(options.body).toMatchObject({ rp: { id: "localhost" }, challenge: expect.any(String) })
		const response = await setup.client.created(device, options)
		const registered = await setup.client.register(token, response, "Laptop")
		expect(registered.status, show(registered.body)).toBe(201)
		expect(registered.body).toMatchObject({
			id: expect.any(String),
			name: "Laptop",
			createdAt: expect.any(String),
			backedUp: expect.any(Boolean),
			transports: expect.any(Array),
		})
		expect("lastUsedAt" in registered.body).toBe(true)
		passkeyId = String(registered.body["id"])
		const listed = await setup.client.list(token)
		expect(listed.status).toBe(200)
		expect(listed.items.map((passkey) => [passkey.id, passkey.name])).toEqual([[passkeyId, "Laptop"]])
		// The authenticator holds it as a discoverable credential for the tenant's RP ID.
		expect(
			(await device.credentials()).map((credential) => [credential.isResidentCredential, credential.rpId]),
		).toEqual([[true, "localhost"]])
	}, 30_000)

	it("an OAuth sign-in now answers mfa_pending; the token is refused until mfa/options + mfa/verify make it active", async () => {
		const pending = await oauth(platform, setup.tenant.slug, "flow-user")
		expect(pending.session.status).toBe("mfa_pending")
		refusedWith(await setup.client.whoami(pending.token), 401, "MfaRequired")
		const options = await setup.client.mfaOptions(pending.token)
		expect(options.status).toBe(200)
		expect(options.body).toMatchObject({ rpId: "localhost", userVerification: "required" })
		const allowed = ((options.body["allowCredentials"] ?? []) as ReadonlyArray<{ readonly id: string }>).map(
			(credential) => credential.id,
		)
		const [held] = await device.credentials()
		expect(allowed).toContain(base64url(held?.credentialId ?? ""))
		const verified = await setup.client.mfaVerify(pending.token, await setup.client.asserted(device, options))
		expect(verified.status, show(verified.body)).toBe(200)
		expect((await setup.client.whoami(pending.token)).status).toBe(200)
		expect((await setup.client.session(pending.token)).body).toMatchObject({ session: { status: "active" } })
		expect((await sessionStatuses(setup.client, setup.tenant.id, userId))[pending.session.id]).toBe("active")
	}, 30_000)

	it("signs in with the passkey alone (discoverable): 200 with an active session of the same user", async () => {
		const options = await setup.client.loginOptions()
		expect(options.status).toBe(200)
		expect((options.body["allowCredentials"] ?? []) as ReadonlyArray<unknown>).toEqual([])
		const signedIn = await setup.client.login(await setup.client.asserted(device, options))
		expect(signedIn.status, show(signedIn.body)).toBe(200)
		expect(signedIn.body).toMatchObject({
			token: expect.any(String),
			session: { status: "active" },
			user: { id: userId },
		})
		expect((await setup.client.whoami(String(signedIn.body["token"]))).status).toBe(200)
		const listed = await setup.client.list(token)
		expect(listed.items.find((passkey) => passkey.id === passkeyId)?.lastUsedAt).toEqual(expect.any(String))
	}, 30_000)

	it("renames and deletes the passkey (after a step-up); it no longer signs in", async () => {
		const renamed = await setup.client.rename(token, passkeyId, "Work laptop")
		expect(renamed.status).toBe(200)
		expect((await setup.client.list(token)).items.map((passkey) => passkey.name)).toEqual(["Work laptop"])
		expect((await setup.client.verifyMfa(device, token)).status).toBe(200)
		const removed = await setup.client.remove(token, passkeyId)
		expect([200, 204]).toContain(removed.status)
		expect((await setup.client.list(token)).items).toEqual([])
		refusedWith(await setup.client.signInWithPasskey(device), 401, "PasskeyVerificationFailed")
		// With no passkey left, an OAuth sign-in is active at once again (mfa "optional").
		expect((await oauth(platform, setup.tenant.slug, "flow-user")).session.status).toBe("active")
	}, 30_000)

	it('mfa "off": a user with a passkey signs in through OAuth straight to an active session', async () => {
		const relaxed = await passkeyTenant(platform, "passkey-off-co", { mfa: "off" })
		const own = await harness.device(harness.origin())
		await enrolledUser(platform, relaxed.client, relaxed.tenant.slug, "relaxed-user", own)
		expect((await oauth(platform, relaxed.tenant.slug, "relaxed-user")).session.status).toBe("active")
		await own.close()
	}, 60_000)

	it('mfa "required": a user with no passkey yet is mfa_pending and may only register one; the last one is kept (409 LastFactor)', async () => {
		const strict = await passkeyTenant(platform, "passkey-required-co", { mfa: "required" })
		const pending = await oauth(platform, strict.tenant.slug, "required-user")
		expect(pending.session.status).toBe("mfa_pending")
		refusedWith(await strict.client.whoami(pending.token), 401, "MfaRequired")
		const own = await harness.device(harness.origin())
		const enrolled = await strict.client.enroll(own, pending.token, "Only key")
		expect(enrolled.status, show(enrolled.body)).toBe(201)
		const verified = await strict.client.verifyMfa(own, pending.token)
		expect(verified.status).toBe(200)
		const last = await strict.client.remove(pending.token, String(enrolled.body["id"]))
		refusedWith(last, 409, "LastFactor")
		expect((await strict.client.list(pending.token)).items.map((passkey) => passkey.id)).toEqual([
			String(enrolled.body["id"]),
		])
		await own.close()
	}, 60_000)
})

describe.skipIf(!hasChromium())("passkeys: every failed ceremony is refused and changes nothing", () => {
	let platform: Platform
	let setup: Awaited<ReturnType<typeof passkeyTenant>>
	let victim: Awaited<ReturnType<typeof enrolledUser>>
	let victimDevice: Device
	let elsewhere: Awaited<ReturnType<Harness["serveElsewhere"]>>

	// What a refused attempt must leave as it was: the victim's passkeys (with their last use) and sessions.
	const snapshot = async () => ({
		passkeys: (await setup.client.list(victim.token)).items,
		sessions: await sessionStatuses(setup.client, setup.tenant.id, victim.userId),
	})

	beforeAll(async () => {
		platform = await startPlatform({ GATEWAY_ANONYMOUS_BURST: "1000000" })
		elsewhere = await harness.serveElsewhere()
		setup = await passkeyTenant(platform, "passkey-negative-co", {})
		victimDevice = await harness.device(harness.origin())
		victim = await enrolledUser(platform, setup.client, setup.tenant.slug, "victim", victimDevice)
	}, 120_000)

	afterAll(async () => {
		await platform?.stop()
	}, 60_000)

	it("wrong origin: a copy of the credential on a page of an origin not in the config signs no one in → 401", async () => {
		const stranger = await copyOf(victimDevice, elsewhere.origin())
		const before = await snapshot()
		refusedWith(await setup.client.signInWithPasskey(stranger), 401, "PasskeyVerificationFailed")
		expect(await snapshot()).toEqual(before)
		await stranger.close()
	}, 30_000)

	it("wrong origin: the same copy completes no MFA → 401, the session stays mfa_pending", async () => {
		const stranger = await copyOf(victimDevice, elsewhere.origin())
		const before = await snapshot()
		const pending = await oauth(platform, setup.tenant.slug, "victim")
		refusedWith(await setup.client.verifyMfa(stranger, pending.token), 401, "PasskeyVerificationFailed")
		const after = await snapshot()
		expect(after.passkeys).toEqual(before.passkeys)
		expect(after.sessions).toEqual({ ...before.sessions, [pending.session.id]: "mfa_pending" })
		await stranger.close()
	}, 30_000)

	it("wrong RP ID: registration and sign-in asserted for app.localhost (an accepted origin) → 401, nothing changed", async () => {
		// A tenant that also accepts http://app.localhost:<port> (a subdomain of the RP ID, a secure context): a page
		// there may ask its authenticator for RP ID "app.localhost", so the origin passes and only the RP ID is wrong.
		const rp = await passkeyTenant(platform, "passkey-rpid-co", {
			origins: [harness.origin(), harness.origin("app.localhost")],
		})
		const page = await harness.device(harness.origin("app.localhost"))
		const newcomer = await oauth(platform, rp.tenant.slug, "rp-newcomer")
		const options = await rp.client.registrationOptions(newcomer.token)
		expect(options.status).toBe(200)
		const tampered = {
			...options,
			body: { ...options.body, rp: { ...(options.body["rp"] as object), id: "app.localhost" } },
		}
		refusedWith(
			await rp.client.register(newcomer.token, await rp.client.created(page, tampered)),
			401,
			"PasskeyVerificationFailed",
		)
		expect((await rp.client.list(newcomer.token)).items).toEqual([])
		// A member's very key, held under RP ID app.localhost, signing in with options tampered to that RP ID.
		const ownDevice = await harness.device(harness.origin())
		const member = await enrolledUser(platform, rp.client, rp.tenant.slug, "rp-member", ownDevice)
		const [credential] = await ownDevice.credentials()
		await page.addCredential({ ...credential!, rpId: "app.localhost" })
		const before = {
			passkeys: (await rp.client.list(member.token)).items,
			sessions: await sessionStatuses(rp.client, rp.tenant.id, member.userId),
		}
		const login = await rp.client.loginOptions()
		const assertion = await page.authenticate({
			...(login.body as { readonly challenge: string }),
			rpId: "app.localhost",
			allowCredentials: [{ id: base64url(credential!.credentialId), type: "public-key" }],
		})
		refusedWith(
			await rp.client.login(assertion.ok ? assertion.response : { browserRefused: assertion.error }),
			401,
			"PasskeyVerificationFailed",
		)
		expect({
			passkeys: (await rp.client.list(member.token)).items,
			sessions: await sessionStatuses(rp.client, rp.tenant.id, member.userId),
		}).toEqual(before)
		await page.close()
		await ownDevice.close()
	}, 60_000)

	it("a replayed assertion and a reused challenge → 401 for the second use, one session only", async () => {
		const before = await snapshot()
		const options = await setup.client.loginOptions()
		const assertion = await setup.client.asserted(victimDevice, options)
		const first = await setup.client.login(assertion)
		expect(first.status, show(first.body)).toBe(200)
		refusedWith(await setup.client.login(assertion), 401, "PasskeyVerificationFailed")
		// A fresh assertion (new counter, valid signature) over the challenge already spent.
		const again = await setup.client.login(await setup.client.asserted(victimDevice, options))
		refusedWith(again, 401, "PasskeyVerificationFailed")
		const after = await snapshot()
		expect(Object.keys(after.sessions).length).toBe(Object.keys(before.sessions).length + 1)
		expect(after.sessions[String((first.body["session"] as { readonly id: string }).id)]).toBe("active")
	}, 30_000)

	it('UV required but not performed (the page downgrades to "discouraged"): passkey sign-in → 401, nothing changed', async () => {
		const before = await snapshot()
		const options = await setup.client.loginOptions()
		expect(options.body["userVerification"]).toBe("required")
		await victimDevice.setUserVerified(false)
		const downgraded = { ...options, body: { ...options.body, userVerification: "discouraged" } }
		const assertion = await setup.client.asserted(victimDevice, downgraded)
		await victimDevice.setUserVerified(true)
		refusedWith(await setup.client.login(assertion), 401, "PasskeyVerificationFailed")
		expect(await snapshot()).toEqual(before)
	}, 30_000)

	it("UV required but not performed: mfa/verify → 401, the session stays mfa_pending", async () => {
		const before = await snapshot()
		const pending = await oauth(platform, setup.tenant.slug, "victim")
		const mfaOptions = await setup.client.mfaOptions(pending.token)
		expect(mfaOptions.body["userVerification"]).toBe("required")
		await victimDevice.setUserVerified(false)
		const mfaAssertion = await setup.client.asserted(victimDevice, {
			...mfaOptions,
			body: { ...mfaOptions.body, userVerification: "discouraged" },
		})
		await victimDevice.setUserVerified(true)
		refusedWith(await setup.client.mfaVerify(pending.token, mfaAssertion), 401, "PasskeyVerificationFailed")
		const after = await snapshot()
		expect(after.passkeys).toEqual(before.passkeys)
		expect(after.sessions).toEqual({ ...before.sessions, [pending.session.id]: "mfa_pending" })
	}, 30_000)

	it("another tenant's credential signs no one in: tenant B (same RP ID and origin) → 401", async () => {
		const before = await snapshot()
		const tenantB = await passkeyTenant(platform, "passkey-other-tenant-co", {})
		refusedWith(await tenantB.client.signInWithPasskey(victimDevice), 401, "PasskeyVerificationFailed")
		expect(await snapshot()).toEqual(before)
	}, 30_000)

	it("another user's credential completes no one's MFA → 401, the session stays mfa_pending", async () => {
		const otherDevice = await harness.device(harness.origin())
		const other = await enrolledUser(platform, setup.client, setup.tenant.slug, "other-user", otherDevice)
		const pending = await oauth(platform, setup.tenant.slug, "other-user")
		expect(pending.session.status).toBe("mfa_pending")
		const before = await snapshot()
		// The other user's MFA options, answered by the victim's authenticator with the victim's credential.
		const options = await setup.client.mfaOptions(pending.token)
		const [credential] = await victimDevice.credentials()
		const assertion = await victimDevice.authenticate({
			...(options.body as { readonly challenge: string }),
			allowCredentials: [{ id: base64url(credential!.credentialId), type: "public-key" }],
		})
		refusedWith(
			await setup.client.mfaVerify(pending.token, assertion.ok ? assertion.response : assertion.error),
			401,
			"PasskeyVerificationFailed",
		)
		expect((await sessionStatuses(setup.client, setup.tenant.id, other.userId))[pending.session.id]).toBe(
			"mfa_pending",
		)
		// Nor the other user's step-up, from that user's active session.
		const stepUp = await setup.client.mfaOptions(other.token)
		const borrowed = await victimDevice.authenticate({
			...(stepUp.body as { readonly challenge: string }),
			allowCredentials: [{ id: base64url(credential!.credentialId), type: "public-key" }],
		})
		refusedWith(
			await setup.client.mfaVerify(other.token, borrowed.ok ? borrowed.response : borrowed.error),
			401,
			"PasskeyVerificationFailed",
		)
		expect(await snapshot()).toEqual(before)
		await otherDevice.close()
	}, 60_000)

	it("counter regression: a copy answering with a lower counter → 401, and the passkey is refused from then on", async () => {
		const owner = await harness.device(harness.origin())
		const cloned = await enrolledUser(platform, setup.client, setup.tenant.slug, "clone-owner", owner)
		const copy = await copyOf(owner, harness.origin())
		expect((await setup.client.signInWithPasskey(owner)).status).toBe(200)
		expect((await setup.client.signInWithPasskey(owner)).status).toBe(200)
		const sessionsBefore = await sessionStatuses(setup.client, setup.tenant.id, cloned.userId)
		refusedWith(await setup.client.signInWithPasskey(copy), 401, "PasskeyVerificationFailed")
		// Marked cloned: even the genuine authenticator is refused now.
		refusedWith(await setup.client.signInWithPasskey(owner), 401, "PasskeyVerificationFailed")
		expect(await sessionStatuses(setup.client, setup.tenant.id, cloned.userId)).toEqual(sessionsBefore)
		await copy.close()
		await owner.close()
	}, 60_000)

	it("recovery codes: each completes MFA once; a reused or voided code → 401 and the session stays mfa_pending", async () => {
		expect((await setup.client.verifyMfa(victimDevice, victim.token)).status).toBe(200)
		const issued = await setup.client.recoveryCodes(victim.token)
		expect(issued.status).toBe(201)
		const codes = (issued.body["codes"] ?? []) as ReadonlyArray<string>
		expect(codes.length).toBe(10)
		expect(new Set(codes).size).toBe(10)
		const first = await oauth(platform, setup.tenant.slug, "victim")
		expect((await setup.client.recover(first.token, codes[0] ?? "")).status).toBe(200)
		expect((await setup.client.whoami(first.token)).status).toBe(200)
		const second = await oauth(platform, setup.tenant.slug, "victim")
		const reused = await setup.client.recover(second.token, codes[0] ?? "")
		expect(reused.status).toBe(401)
		expect(typeof reused.body._tag).toBe("string")
		expect((await sessionStatuses(setup.client, setup.tenant.id, victim.userId))[second.session.id]).toBe(
			"mfa_pending",
		)
		// New codes void the earlier ones.
		expect((await setup.client.verifyMfa(victimDevice, victim.token)).status).toBe(200)
		expect((await setup.client.recoveryCodes(victim.token)).status).toBe(201)
		expect((await setup.client.recover(second.token, codes[1] ?? "")).status).toBe(401)
		refusedWith(await setup.client.whoami(second.token), 401, "MfaRequired")
	}, 60_000)

	it("an mfa_pending token is refused (401 MfaRequired) on every secured /v1 route of /openapi.json but the MFA ones, and on the socket", async () => {
		const pending = await oauth(platform, setup.tenant.slug, "victim")
		expect(pending.session.status).toBe("mfa_pending")
		const document = await loadDocument(platform.baseUrl)
		const operations = operationsOf(document).filter(
			(operation) =>
				operation.path.startsWith("/v1/") &&
				needsCredential(document, operation.method, operation.path) &&
				!MfaRoutes.includes(`${operation.method} ${operation.path}`),
		)
		expect(operations.map((operation) => `${operation.method} ${operation.path}`)).toEqual(
			expect.arrayContaining([
				"GET /v1/users/me",
				"GET /v1/auth/passkeys",
				"POST /v1/auth/passkeys/registration/options",
			]),
		)
		const before = await snapshot()
		const outcomes = []
		for (const operation of operations) {
			const path = operation.path.replace(/\{[^}]+\}/g, () => crypto.randomUUID())
			const query = operation.parameters
				.filter((parameter) => parameter.in === "query" && parameter.required)
				.map(
					(parameter) =>
						`${parameter.name}=${encodeURIComponent(String(fc.sample(arbitraryOf(document, parameter.schema), { numRuns: 1, seed: 1 })[0]))}`,
				)
			const body =
				operation.body === undefined
					? undefined
					: fc.sample(arbitraryOf(document, operation.body), { numRuns: 1, seed: 1 })[0]
			const answer = await request(
				platform.baseUrl,
				operation.method,
				`${path}${query.length === 0 ? "" : `?${query.join("&")}`}`,
				{
					token: pending.token,
					tenant: setup.tenant.slug,
					...(body === undefined ? {} : { body }),
				},
			)
			outcomes.push([`${operation.method} ${operation.path}`, answer.status, answer.body._tag])
		}
		expect(outcomes).toEqual(
			operations.map((operation) => [`${operation.method} ${operation.path}`, 401, "MfaRequired"]),
		)
		const socket = await connect(platform.baseUrl, setup.tenant.slug)
		socket.send({ type: "auth", token: pending.token })
		expect((await socket.closed).code).toBe(4401)
		expect(socket.frames.map((frame) => frame.type)).not.toContain("authenticated")
		const after = await snapshot()
		expect(after.passkeys).toEqual(before.passkeys)
		expect(after.sessions[pending.session.id]).toBe("mfa_pending")
	}, 120_000)
})

describe.skipIf(!hasChromium())("passkeys: expired challenges and step-up windows", () => {
	let platform: Platform
	let setup: Awaited<ReturnType<typeof passkeyTenant>>
	let device: Device
	let user: Awaited<ReturnType<typeof enrolledUser>>

	beforeAll(async () => {
		platform = await startPlatform({
			GATEWAY_ANONYMOUS_BURST: "1000000",
			WEBAUTHN_CHALLENGE_TTL: `${ChallengeTtlSeconds} seconds`,
			WEBAUTHN_STEP_UP_WINDOW: `${StepUpWindowSeconds} seconds`,
		})
		setup = await passkeyTenant(platform, "passkey-expiry-co", {})
		device = await harness.device(harness.origin())
		user = await enrolledUser(platform, setup.client, setup.tenant.slug, "expiry-user", device)
	}, 120_000)

	afterAll(async () => {
		await platform?.stop()
	}, 60_000)

	it("a challenge answered after WEBAUTHN_CHALLENGE_TTL → 401, no session, nothing changed", async () => {
		const before = await sessionStatuses(setup.client, setup.tenant.id, user.userId)
		const passkeys = (await setup.client.list(user.token)).items
		const options = await setup.client.loginOptions()
		await sleep((ChallengeTtlSeconds + 1) * 1000)
		refusedWith(
			await setup.client.login(await setup.client.asserted(device, options)),
			401,
			"PasskeyVerificationFailed",
		)
		expect(await sessionStatuses(setup.client, setup.tenant.id, user.userId)).toEqual(before)
		expect((await setup.client.list(user.token)).items).toEqual(passkeys)
	}, 30_000)

	it("step-up: an API key needs a passkey verification within WEBAUTHN_STEP_UP_WINDOW, else 403 StepUpRequired", async () => {
		expect((await setup.client.verifyMfa(device, user.token)).status).toBe(200)
		expect((await setup.client.v1("POST", "/api-keys", user.token, { name: "within" })).status).toBe(201)
		await sleep((StepUpWindowSeconds + 1) * 1000)
		const keysBefore = await setup.client.v1("GET", "/api-keys", user.token)
		refusedWith(await setup.client.v1("POST", "/api-keys", user.token, { name: "after" }), 403, "StepUpRequired")
		// Registering another passkey (on a second authenticator: the first already holds one for this user and the
		// browser would refuse to create another): refused at the options call or at the registration itself.
		const options = await setup.client.registrationOptions(user.token)
		const second = await harness.device(harness.origin())
		refusedWith(
			options.status === 403
				? options
				: await setup.client.register(user.token, await setup.client.created(second, options), "second"),
			403,
			"StepUpRequired",
		)
		refusedWith(await setup.client.recoveryCodes(user.token), 403, "StepUpRequired")
		refusedWith(await setup.client.remove(user.token, user.passkeyId), 403, "StepUpRequired")
		expect((await setup.client.list(user.token)).items.map((passkey) => passkey.id)).toEqual([user.passkeyId])
		expect((await setup.client.v1("GET", "/api-keys", user.token)).body["items"]).toEqual(keysBefore.body["items"])
		expect((await setup.client.verifyMfa(device, user.token)).status).toBe(200)
		expect((await setup.client.v1("POST", "/api-keys", user.token, { name: "refreshed" })).status).toBe(201)
	}, 60_000)
})
