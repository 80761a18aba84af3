// Realtime connections end with their credential and their tenant (issue 9), in one process (gateway + runner on
// real Postgres and Redis) with short session timeouts: a session's idle deadline (pings do not count as use; use over
// HTTP does), its absolute lifetime, a rotated API key's grace end, and a tenant suspended or deleted each close the
// socket with 4403 (`session_revoked`, or an error frame TenantNotFound for the tenant).
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { sleep } from "../fixtures/Processes.ts"
import { connect, type RealtimeClient, stringify } from "../fixtures/RealtimeClient.ts"
import { adminCall, authed, setUpTenant, type SignedIn, signIn } from "../fixtures/SignIn.ts"

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle

const makeTenant = async (slug: string) => {
	const made = await setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug })
	expect(made.putStatus).toBe(200)
	return made.tenant
}

const signInAs = async (slug: string, sub: string) => {
	idp.signInAs({ sub })
	const done = await signIn(platform.baseUrl, slug)
	expect(done.status, done.text).toBe(200)
	return done.body as SignedIn
}

const openAs = async (slug: string, token: string) => {
	const client = await connect(platform.baseUrl, slug)
	client.send({ type: "auth", token })
	expect(await client.next((frame) => frame.type === "authenticated" || frame.type === "error")).toMatchObject({
		type: "authenticated",
	})
	return client
}

// Keeps the connection from going stale without using its credential.
const keepPinging = (client: RealtimeClient) => setInterval(() => client.send({ type: "ping" }), 500)

// The close, or a failure once `withinMs` passed without one.
const closedWithin = (client: RealtimeClient, withinMs: number) =>
	Promise.race([
		client.closed,
		sleep(withinMs).then(() => {
			throw new Error(`still open after ${withinMs} ms; got ${stringify(client.frames)}`)
		}),
	])

const whoami = (slug: string, token: string) =>
	authed(platform.baseUrl, slug, token, "/auth/whoami").then((response) => response.status)

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform({
		SESSION_IDLE_TIMEOUT: "3 seconds",
		SESSION_LIFETIME: "9 seconds",
		SESSION_TOUCH_INTERVAL: "200 millis",
	})
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("realtime: credential and tenant end", () => {
	it("a session left unused past its idle timeout closes its socket (session_revoked, 4403), pings notwithstanding", async () => {
		const slug = (await makeTenant("rt-idle")).slug
		const { token } = await signInAs(slug, "idle-user")
		const client = await openAs(slug, token)
		const beat = keepPinging(client)
		expect(await closedWithin(client, 12_000)).toMatchObject({ code: 4403 })
		clearInterval(beat)
		expect(client.frames.at(-1)).toEqual({ type: "session_revoked" })
		expect(await whoami(slug, token)).toBe(401)
	}, 30_000)

	it("a session in use over HTTP keeps its socket past the idle timeout, until its absolute lifetime ends it (4403)", async () => {
		const slug = (await makeTenant("rt-lifetime")).slug
		const { token } = await signInAs(slug, "lifetime-user")
		const client = await openAs(slug, token)
		const beat = keepPinging(client)
		const use = setInterval(() => void whoami(slug, token), 300)
		await sleep(5_000)
		expect(client.socket.readyState).toBe(client.socket.OPEN)
		expect(await closedWithin(client, 12_000)).toMatchObject({ code: 4403 })
		;[beat, use].forEach(clearInterval)
		expect(client.frames.at(-1)).toEqual({ type: "session_revoked" })
		expect(await whoami(slug, token)).toBe(401)
	}, 30_000)

	it("a rotated API key's sockets close when its grace period ends (4403); the new key's and an unrotated key's stay", async () => {
		const slug = (await makeTenant("rt-grace")).slug
		const { token } = await signInAs(slug, "grace-user")
		const createKey = async (name: string) => {
			const response = await authed(platform.baseUrl, slug, token, "/api-keys", {
				method: "POST",
				body: stringify({ name }),
			})
			expect(response.status).toBe(201)
			return (await response.json()) as { readonly id: string; readonly key: string }
		}
		const [rotating, steady] = [await createKey("rotating"), await createKey("steady")]
		const old = await openAs(slug, rotating.key)
		const unrotated = await openAs(slug, steady.key)
		const rotated = await authed(platform.baseUrl, slug, token, `/api-keys/${rotating.id}/rotate`, {
			method: "POST",
			body: '{"gracePeriodSeconds":2}',
		})
		expect(rotated.status).toBe(201)
		const replacement = await openAs(slug, ((await rotated.json()) as { readonly key: string }).key)
		const beats = [old, unrotated, replacement].map(keepPinging)
		expect(await closedWithin(old, 10_000)).toMatchObject({ code: 4403 })
		expect(old.frames.at(-1)).toEqual({ type: "session_revoked" })
		for (const client of [unrotated, replacement]) {
			const from = client.frames.length
			client.send({ type: "ping" })
			expect(await client.next((frame) => frame.type === "pong", 5_000, from)).toEqual({ type: "pong" })
		}
		beats.forEach(clearInterval)
		;[unrotated, replacement].forEach((client) => client.close())
	}, 30_000)

	it("suspending or deleting a tenant closes its sockets (error TenantNotFound, 4403); another tenant's stay", async () => {
		const [suspended, deleted, bystander] = [
			await makeTenant("rt-suspend"),
			await makeTenant("rt-delete"),
			await makeTenant("rt-bystander"),
		]
		const clients = await Promise.all(
			[suspended, deleted, bystander].map(async (tenant) =>
				openAs(tenant.slug, (await signInAs(tenant.slug, `${tenant.slug}-user`)).token),
			),
		)
		const [onSuspended, onDeleted, onBystander] = clients as [RealtimeClient, RealtimeClient, RealtimeClient]
		expect(
			(await adminCall(platform.baseUrl, platform.adminToken, "POST", `/tenants/${suspended.id}/suspend`)).status,
		).toBe(200)
		expect(
			(await adminCall(platform.baseUrl, platform.adminToken, "DELETE", `/tenants/${deleted.id}`)).status,
		).toBe(202)
		for (const client of [onSuspended, onDeleted]) {
			expect(await closedWithin(client, 10_000)).toMatchObject({ code: 4403 })
			expect(client.frames.at(-1)).toMatchObject({ type: "error", _tag: "TenantNotFound" })
		}
		const from = onBystander.frames.length
		onBystander.send({ type: "ping" })
		expect(await onBystander.next((frame) => frame.type === "pong", 5_000, from)).toEqual({ type: "pong" })
		onBystander.close()
	}, 30_000)
})
