// The passkey test harness proven on its own: real ceremonies in Debian's Chromium (DevTools virtual authenticator)
// verified by @simplewebauthn/server directly, no platform involved. Registration with a resident key, usernameless
// (discoverable) sign-in, user verification on and off, a counter that goes backwards when a copy of the credential
// answers from a second authenticator, and the two tampered ceremonies the contract tests rely on (a page on an origin
// the relying party does not expect, a page that asserts for another RP ID) — each shown to be caught by the server
// library, so a platform that uses it properly can be held to refusing them.
import {
	generateAuthenticationOptions,
	generateRegistrationOptions,
	verifyAuthenticationResponse,
	verifyRegistrationResponse,
	type WebAuthnCredential,
} from "@simplewebauthn/server"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hasChromium } from "../fixtures/Chromium.ts"
import { base64url, startWebAuthnBrowser, succeeded } from "../fixtures/WebAuthnBrowser.ts"

// --- [STATE]

let harness: Awaited<ReturnType<typeof startWebAuthnBrowser>>
let device: Awaited<ReturnType<typeof harness.device>>
let credential: WebAuthnCredential
let userHandle = ""
let origin = ""

// --- [FUNCTIONS]

const RpId = "localhost"

const loginOptions = (userVerification: "required" | "preferred" | "discouraged" = "required") =>
	generateAuthenticationOptions({ rpID: RpId, userVerification })

// One verification against the stored credential; the library's verdict, or its error message.
const verifyAssertion = async (options: {
	readonly response: Parameters<typeof verifyAuthenticationResponse>[0]["response"]
	readonly challenge: string
	readonly counter?: number
	readonly requireUserVerification?: boolean
	readonly expectedOrigin?: string
	readonly expectedRPID?: string
}) =>
	verifyAuthenticationResponse({
		response: options.response,
		expectedChallenge: options.challenge,
		expectedOrigin: options.expectedOrigin ?? origin,
		expectedRPID: options.expectedRPID ?? RpId,
		credential: { ...credential, counter: options.counter ?? credential.counter },
		requireUserVerification: options.requireUserVerification ?? true,
	}).then(
		(verified) => ({ verified: verified.verified, info: verified.authenticationInfo, error: "" }),
		(error: unknown) => ({ verified: false, info: undefined, error: String(error) }),
	)

// Sign in with the device and record the new counter as a server would.
const signInOnce = async (on = device) => {
	const options = await loginOptions()
	const response = succeeded(await on.authenticate(options))
	const result = await verifyAssertion({ response, challenge: options.challenge })
	expect(result.error).toBe("")
	credential = { ...credential, counter: result.info?.newCounter ?? -1 }
	return result
}

// --- [SUITE]

describe.skipIf(!hasChromium())("the WebAuthn browser harness against @simplewebauthn/server", () => {
	beforeAll(async () => {
		harness = await startWebAuthnBrowser()
		origin = harness.origin()
		device = await harness.device(origin)
	}, 60_000)

	afterAll(async () => {
		await harness?.stop()
	}, 30_000)

	it("runs in a secure context on http://localhost and registers a resident, user-verified credential", async () => {
		expect(await device.secureContext()).toBe(true)
		const options = await generateRegistrationOptions({
			rpName: "Harness",
			rpID: RpId,
			userName: "alice@example.com",
			authenticatorSelection: { residentKey: "required", userVerification: "required" },
		})
		userHandle = options.user.id
		const response = succeeded(await device.register(options))
		const verified = await verifyRegistrationResponse({
			response,
			expectedChallenge: options.challenge,
			expectedOrigin: origin,
			expectedRPID: RpId,
			requireUserVerification: true,
		})
		expect(verified.verified).toBe(true)
		expect(verified.registrationInfo?.userVerified).toBe(true)
		expect(verified.registrationInfo?.origin).toBe(origin)
		credential = verified.registrationInfo?.credential ?? credential
		expect(credential.id).toBe(response.id)
		const stored = await device.credentials()
		expect(stored.map((entry) => [base64url(entry.credentialId), entry.isResidentCredential, entry.rpId])).toEqual([
			[credential.id, true, RpId],
		])
	}, 30_000)

	it("signs in with the discoverable credential alone (no allowCredentials): the user handle names the user", async () => {
		const options = await loginOptions()
		expect(options.allowCredentials ?? []).toEqual([])
		const response = succeeded(await device.authenticate(options))
		expect(response.id).toBe(credential.id)
		expect(response.response.userHandle).toBe(userHandle)
		const result = await verifyAssertion({ response, challenge: options.challenge })
		expect(result).toMatchObject({ verified: true, error: "", info: { userVerified: true, origin, rpID: RpId } })
		expect(result.info?.newCounter).toBeGreaterThan(credential.counter)
		credential = { ...credential, counter: result.info?.newCounter ?? -1 }
	}, 30_000)

	it("an authenticator that skips user verification yields UV=0, which a verifier requiring UV refuses", async () => {
		await device.setUserVerified(false)
		// Asked for UV ("required", and "preferred" too with a UV-capable authenticator), the browser refuses outright.
		const refused = await device.authenticate(await loginOptions("required"))
		expect(refused.ok ? "" : refused.error).toMatch(/^NotAllowedError/)
		// A client that downgrades the RP's "required" to "discouraged" (a hostile page can) gets an assertion without
		// UV.
		const options = await loginOptions("discouraged")
		const response = succeeded(await device.authenticate(options))
		const strict = await verifyAssertion({ response, challenge: options.challenge })
		expect(strict.verified).toBe(false)
		expect(strict.error).toMatch(/user could not be verified/i)
		const lenient = await verifyAssertion({
			response,
			challenge: options.challenge,
			requireUserVerification: false,
		})
		expect(lenient).toMatchObject({ verified: true, info: { userVerified: false } })
		credential = { ...credential, counter: lenient.info?.newCounter ?? -1 }
		await device.setUserVerified(true)
		expect((await signInOnce()).info?.userVerified).toBe(true)
	}, 30_000)

	it("a copy of the credential in a second authenticator answers with a counter that goes backwards", async () => {
		const [copy] = await device.credentials()
		expect(base64url(copy?.credentialId ?? "")).toBe(credential.id)
		const clone = await harness.device(origin)
		await clone.addCredential(copy ?? (await device.credentials())[0]!)
		expect((await clone.credentials()).map((entry) => base64url(entry.credentialId))).toEqual([credential.id])
		// The original goes on signing in; the copy stays at the count it was taken at.
		await signInOnce()
		await signInOnce()
		const stored = credential.counter
		expect(stored).toBeGreaterThan(copy?.signCount ?? Number.MAX_SAFE_INTEGER)
		const options = await loginOptions()
		const response = succeeded(await clone.authenticate(options))
		expect(response.id).toBe(credential.id)
		// The signature is valid (same key) and the library reports the copy's counter: lower than the stored one.
		const reported = await verifyAssertion({ response, challenge: options.challenge, counter: 0 })
		expect(reported.verified).toBe(true)
		expect(reported.info?.newCounter).toBeLessThan(stored)
		// Against the stored counter the library refuses it.
		const refused = await verifyAssertion({ response, challenge: options.challenge, counter: stored })
		expect(refused.verified).toBe(false)
		expect(refused.error).toMatch(/counter/i)
		await clone.close()
	}, 30_000)

	it("a page on another origin, and one asserting for another RP ID, produce responses the verifier refuses", async () => {
		// Another port of localhost: another origin with the same RP ID.
		const other = await harness.serveElsewhere()
		const stranger = await harness.device(other.origin())
		expect(await stranger.secureContext()).toBe(true)
		const options = await generateRegistrationOptions({
			rpName: "Harness",
			rpID: RpId,
			userName: "bob@example.com",
			authenticatorSelection: { residentKey: "required", userVerification: "required" },
		})
		const foreign = succeeded(await stranger.register(options))
		const wrongOrigin = await verifyRegistrationResponse({
			response: foreign,
			expectedChallenge: options.challenge,
			expectedOrigin: origin,
			expectedRPID: RpId,
		}).then(
			() => "",
			(error: unknown) => String(error),
		)
		expect(wrongOrigin).toMatch(/origin/i)
		await stranger.close()
		// *.localhost is loopback and a secure context too (its RP ID is its own host, never "localhost"). An origin the
		// RP accepts, but the page asked the authenticator for RP ID "app.localhost".
		const elsewhere = await harness.device(harness.origin("app.localhost"))
		expect(await elsewhere.secureContext()).toBe(true)
		const tampered = { ...options, rp: { ...options.rp, id: "app.localhost" } }
		const otherRp = succeeded(await elsewhere.register(tampered))
		const wrongRpId = await verifyRegistrationResponse({
			response: otherRp,
			expectedChallenge: options.challenge,
			expectedOrigin: harness.origin("app.localhost"),
			expectedRPID: RpId,
		}).then(
			() => "",
			(error: unknown) => String(error),
		)
		expect(wrongRpId).toMatch(/RP ID/i)
		// And an assertion for the other RP ID with the very key of a "localhost" credential (copied across RP IDs).
		const [original] = await device.credentials()
		await elsewhere.addCredential({ ...original!, rpId: "app.localhost" })
		const login = await generateAuthenticationOptions({ rpID: "app.localhost", userVerification: "required" })
		const assertion = succeeded(
			await elsewhere.authenticate({ ...login, allowCredentials: [{ id: credential.id, type: "public-key" }] }),
		)
		const crossRp = await verifyAssertion({
			response: assertion,
			challenge: login.challenge,
			expectedOrigin: harness.origin("app.localhost"),
			counter: 0,
		})
		expect(crossRp.verified).toBe(false)
		expect(crossRp.error).toMatch(/RP ID/i)
		await elsewhere.close()
	}, 30_000)
})
