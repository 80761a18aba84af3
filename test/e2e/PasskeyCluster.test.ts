// Passkeys across real processes: one runner and two gateways (A and B) on one database and one Redis. A ceremony
// started on one gateway completes on the other (challenges live in Redis), an MFA completed on B makes the session
// active on A at its very next request, and a passkey deleted through B is refused by A at once.
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Schema } from "effect"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { stopAll } from "../fixtures/Processes.ts"
import { adminCall, authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"
import { softAuthenticator } from "../fixtures/SoftAuthenticator.ts"
import { startStack } from "../fixtures/Stack.ts"

// --- [CONSTANTS]

const Origin = "https://app.example.com"
const RpId = "example.com"

// --- [STATE]

let stack: Awaited<ReturnType<typeof startStack>> | undefined
let idp: OidcProviderHandle
let gatewayA = ""
let gatewayB = ""

// --- [FUNCTIONS]

const json = Schema.encodeSync(Schema.parseJson())

const post = (gateway: string, tenant: string, token: string | null, path: string, body?: unknown) =>
	token === null
		? fetch(`${gateway}/v1${path}`, {
				method: "POST",
				headers: { "x-app-id": tenant, "content-type": "application/json" },
				...(body === undefined ? {} : { body: json(body) }),
			})
		: authed(gateway, tenant, token, path, { method: "POST", ...(body === undefined ? {} : { body: json(body) }) })

const challengeOf = async (response: Response) => {
	expect(response.status).toBe(200)
	return ((await response.json()) as { challenge: string }).challenge
}

// --- [SUITE]

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	stack = await startStack({ name: "passkeys", gateways: 2 })
	expect(stack.migrated.code, stack.migrated.output).toBe(0)
	expect(stack.ready, stack.output()).toBe(true)
	gatewayA = stack.gateways[0]?.url ?? ""
	gatewayB = stack.gateways[1]?.url ?? ""
}, 180_000)

afterAll(async () => {
	await stopAll()
	await idp?.stop()
	await stack?.database.drop()
}, 60_000)

describe("passkeys across two gateways", () => {
	it("MFA started on A completes on B; a passkey deleted through B is refused by A", async () => {
		const adminToken = stack?.adminToken ?? ""
		const { tenant } = await setUpTenant({
			baseUrl: gatewayA,
			adminToken,
			idp,
			slug: "pk-cluster",
			gatewayUrls: [gatewayA, gatewayB],
		})
		const configured = await adminCall(
			gatewayA,
			adminToken,
			"PUT",
			`/tenants/${tenant.id}/webauthn`,
			json({ rpId: RpId, rpName: "Cluster", origins: [Origin], mfa: "optional", userVerification: "required" }),
		)
		expect(configured.status).toBe(200)
		idp.signInAs({ sub: "cluster-user", email: "cluster@example.com" })
		const first = await signIn(gatewayA, tenant.slug)
		const firstToken = first.body?.token ?? ""
		const userId = first.body?.user.id ?? ""
		const authenticator = softAuthenticator()
		// Registration options from A, the answer to B.
		const registrationChallenge = await challengeOf(
			await post(gatewayA, tenant.slug, firstToken, "/auth/passkeys/registration/options"),
		)
		const registered = await post(gatewayB, tenant.slug, firstToken, "/auth/passkeys/registration", {
			response: authenticator.register({ challenge: registrationChallenge, rpId: RpId, origin: Origin }),
		})
		expect(registered.status).toBe(201)
		const passkeyId = ((await registered.json()) as { id: string }).id

		const second = await signIn(gatewayA, tenant.slug)
		expect(second.body?.session.status).toBe("mfa_pending")
		const pendingToken = second.body?.token ?? ""
		expect((await authed(gatewayB, tenant.slug, pendingToken, "/users/me")).status).toBe(401)
		const mfaChallenge = await challengeOf(await post(gatewayA, tenant.slug, pendingToken, "/auth/mfa/options"))
		const verified = await post(gatewayB, tenant.slug, pendingToken, "/auth/mfa/verify", {
			response: authenticator.assert({ challenge: mfaChallenge, rpId: RpId, origin: Origin, userHandle: userId }),
		})
		expect(verified.status).toBe(200)
		expect((await authed(gatewayA, tenant.slug, pendingToken, "/users/me")).status).toBe(200)

		// Stepped up by that verification, the session deletes the passkey through B; A refuses it at once.
		const deleted = await authed(gatewayB, tenant.slug, pendingToken, `/auth/passkeys/${passkeyId}`, {
			method: "DELETE",
		})
		expect(deleted.status).toBe(200)
		const loginChallenge = await challengeOf(
			await post(gatewayA, tenant.slug, null, "/auth/passkeys/login/options"),
		)
		const refused = await post(gatewayA, tenant.slug, null, "/auth/passkeys/login", {
			response: authenticator.assert({
				challenge: loginChallenge,
				rpId: RpId,
				origin: Origin,
				userHandle: userId,
			}),
		})
		expect(refused.status).toBe(401)
		expect(((await refused.json()) as { _tag: string })._tag).toBe("PasskeyVerificationFailed")
	}, 120_000)
})
