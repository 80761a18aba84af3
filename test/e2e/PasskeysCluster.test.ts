// Passkeys across real processes: one runner and two gateways (A and B) on one database and one Redis, the fixture
// OpenID provider, and real ceremonies in Debian's Chromium (DevTools virtual authenticator). A challenge issued by
// one gateway is answered on the other (MFA started on A, completed on B), and a passkey deleted through A is refused
// by B at its very next ceremony. Assumptions are those listed at the top of test/browser/Passkeys.test.ts.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { hasChromium } from "../fixtures/Chromium.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { passkeyClient, show } from "../fixtures/PasskeyClient.ts"
import { stopAll } from "../fixtures/Processes.ts"
import { setUpTenant, signIn } from "../fixtures/SignIn.ts"
import { startStack } from "../fixtures/Stack.ts"
import { startWebAuthnBrowser } from "../fixtures/WebAuthnBrowser.ts"

// --- [STATE]

let stack: Awaited<ReturnType<typeof startStack>> | undefined
let idp: OidcProviderHandle
let harness: Awaited<ReturnType<typeof startWebAuthnBrowser>>
let device: Awaited<ReturnType<typeof harness.device>>
let onA: ReturnType<typeof passkeyClient>
let onB: ReturnType<typeof passkeyClient>
let gatewayA = ""
let gatewayB = ""
let tenantSlug = ""
let token = ""
let userId = ""
let passkeyId = ""

// --- [FUNCTIONS]

const oauthOn = async (gateway: string, sub: string) => {
	idp.signInAs({ sub, email: `${sub}@example.com` })
	const signedIn = await signIn(gateway, tenantSlug)
	expect(signedIn.status, signedIn.text).toBe(200)
	return signedIn.body ?? { token: "", session: { id: "", userId: "", status: "" }, user: { id: "", email: "" } }
}

// --- [SUITE]

describe.skipIf(!hasChromium())("passkeys across two gateways", () => {
	beforeAll(async () => {
		idp = await startOidcProvider({ clients: [] })
		stack = await startStack({ name: "passkeys", gateways: 2, gatewayEnv: { GATEWAY_ANONYMOUS_BURST: "1000000" } })
		expect(stack.migrated.code, stack.migrated.output).toBe(0)
		expect(stack.ready, stack.output()).toBe(true)
		gatewayA = stack.gateways[0]?.url ?? ""
		gatewayB = stack.gateways[1]?.url ?? ""
		harness = await startWebAuthnBrowser()
		const made = await setUpTenant({
			baseUrl: gatewayA,
			adminToken: stack.adminToken,
			idp,
			slug: "passkey-cluster-co",
			gatewayUrls: [gatewayA, gatewayB],
		})
		expect(made.putStatus).toBe(200)
		tenantSlug = made.tenant.slug
		onA = passkeyClient(gatewayA, tenantSlug, stack.adminToken)
		onB = passkeyClient(gatewayB, tenantSlug, stack.adminToken)
		const put = await onA.admin("PUT", `/tenants/${made.tenant.id}/webauthn`, {
			rpId: "localhost",
			rpName: "Cluster passkeys",
			origins: [harness.origin()],
			mfa: "optional",
			userVerification: "required",
		})
		expect(put.status, show(put.body)).toBe(200)
		device = await harness.device(harness.origin())
		// Enrolled through A; the configuration written through A is read by B.
		const first = await oauthOn(gatewayA, "cluster-user")
		token = first.token
		userId = first.user.id
		const enrolled = await onA.enroll(device, token, "Cluster key")
		expect(enrolled.status, show(enrolled.body)).toBe(201)
		passkeyId = String(enrolled.body["id"])
	}, 240_000)

	afterAll(async () => {
		await harness?.stop()
		await stopAll()
		await idp?.stop()
		await stack?.database.drop()
	}, 90_000)

	it("MFA started on A (sign-in, mfa/options) is completed on B (mfa/verify); both then accept the token", async () => {
		expect((await onB.list(token)).items.map((passkey) => passkey.id)).toEqual([passkeyId])
		const pending = await oauthOn(gatewayA, "cluster-user")
		expect(pending.user.id).toBe(userId)
		expect(pending.session.status).toBe("mfa_pending")
		expect((await onB.whoami(pending.token)).body._tag).toBe("MfaRequired")
		const options = await onA.mfaOptions(pending.token)
		expect(options.status).toBe(200)
		const verified = await onB.mfaVerify(pending.token, await onB.asserted(device, options))
		expect(verified.status, show(verified.body)).toBe(200)
		expect((await onA.whoami(pending.token)).status).toBe(200)
		expect((await onB.whoami(pending.token)).status).toBe(200)
		// And the other way round for passkey sign-in: options from B, the assertion to A.
		const login = await onB.loginOptions()
		const signedIn = await onA.login(await onA.asserted(device, login))
		expect(signedIn.status, show(signedIn.body)).toBe(200)
		expect(signedIn.body).toMatchObject({ user: { id: userId }, session: { status: "active" } })
	}, 60_000)

	it("a passkey deleted through A is refused by B at its very next ceremony", async () => {
		// B has just verified this passkey (and may hold anything it caches about it).
		expect((await onB.signInWithPasskey(device)).status).toBe(200)
		expect((await onA.verifyMfa(device, token)).status).toBe(200)
		const removed = await onA.remove(token, passkeyId)
		expect([200, 204]).toContain(removed.status)
		const refused = await onB.signInWithPasskey(device)
		expect({ status: refused.status, tag: refused.body._tag }).toEqual({
			status: 401,
			tag: "PasskeyVerificationFailed",
		})
		expect((await onB.list(token)).items).toEqual([])
		// Without a passkey an OAuth sign-in through B is active at once (mfa "optional").
		expect((await oauthOn(gatewayB, "cluster-user")).session.status).toBe("active")
	}, 60_000)
})
