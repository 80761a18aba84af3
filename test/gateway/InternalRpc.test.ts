// The internal API at POST /rpc through its typed client (gateway/rpc/InternalRpcClient.ts) against a running
// all-in-one platform: typed answers, typed errors, refused credentials, and a tenant credential kept to its tenant.
import { Effect, Either } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { TenantSlug } from "../../entities/tenant/TenantModel.ts"
import { InternalRpcClient } from "../../gateway/rpc/InternalRpcClient.ts"
import { startPlatform } from "../fixtures/InProcessPlatform.ts"
import { type OidcProviderHandle, startOidcProvider } from "../fixtures/OidcProvider.ts"
import { authed, setUpTenant, signIn } from "../fixtures/SignIn.ts"

let platform: Awaited<ReturnType<typeof startPlatform>>
let idp: OidcProviderHandle

// Runs one program against the gateway with this token (and tenant), answering its Either.
const call = <A, E>(
	token: string,
	program: (client: typeof InternalRpcClient.Service) => Effect.Effect<A, E>,
	appId?: string,
) =>
	Effect.runPromise(
		Effect.either(
			Effect.flatMap(InternalRpcClient, program).pipe(
				Effect.provide(InternalRpcClient.layer({ url: platform.baseUrl, token, appId })),
			),
		),
	)

const tagOf = <A, E>(result: Either.Either<A, E>) =>
	Either.match(result, {
		onLeft: (error) => (error as { readonly _tag: string })._tag,
		onRight: () => "success",
	})

beforeAll(async () => {
	idp = await startOidcProvider({ clients: [] })
	platform = await startPlatform()
	expect(platform.ready).toBe(true)
}, 120_000)

afterAll(async () => {
	await platform?.stop()
	await idp?.stop()
}, 90_000)

describe("POST /rpc", () => {
	it("answers typed results and typed errors to ADMIN_TOKEN", async () => {
		const created = await call(platform.adminToken, (rpc) =>
			rpc.tenants.create({ slug: TenantSlug.make("rpc-one"), name: "One" }),
		)
		const tenant = Either.getOrThrow(created)
		expect(tenant).toMatchObject({ slug: "rpc-one", name: "One", status: "active" })
		const listed = Either.getOrThrow(
			await call(platform.adminToken, (rpc) => rpc.tenants.list({ limit: 100, cursor: null })),
		)
		expect(listed.items.map((item) => item.slug)).toContain("rpc-one")
		const bySlug = Either.getOrThrow(
			await call(platform.adminToken, (rpc) => rpc.tenants.get({ tenant: "rpc-one" })),
		)
		expect(bySlug.id).toBe(tenant.id)
		const suspended = Either.getOrThrow(
			await call(platform.adminToken, (rpc) => rpc.tenants.suspend({ tenant: tenant.id })),
		)
		expect(suspended.status).toBe("suspended")
		const again = await call(platform.adminToken, (rpc) => rpc.tenants.suspend({ tenant: tenant.id }))
		expect(tagOf(again)).toBe("InvalidTransition")
		const missing = await call(platform.adminToken, (rpc) => rpc.tenants.get({ tenant: "no-such-tenant" }))
		expect(tagOf(missing)).toBe("TenantNotFound")
		const taken = await call(platform.adminToken, (rpc) =>
			rpc.tenants.create({ slug: TenantSlug.make("rpc-one"), name: "Again" }),
		)
		expect(tagOf(taken)).toBe("TenantSlugTaken")
		const unknownExecution = await call(platform.adminToken, (rpc) => rpc.workflows.show({ executionId: "nope" }))
		expect(tagOf(unknownExecution)).toBe("ExecutionNotFound")
		const caused = Either.getOrThrow(
			await call(platform.adminToken, (rpc) => rpc.requests.caused({ requestId: "no-such-request" })),
		)
		expect(caused).toMatchObject({ requestId: "no-such-request" })
	}, 120_000)

	it("refuses a call without a token or with a wrong one", async () => {
		const none = await call("", (rpc) => rpc.tenants.list({ limit: 10, cursor: null }))
		expect(tagOf(none)).toBe("Unauthorized")
		const wrong = await call(`admin-${crypto.randomUUID()}`, (rpc) => rpc.tenants.list({ limit: 10, cursor: null }))
		expect(tagOf(wrong)).toBe("Unauthorized")
		// The same refusal over the wire, as any NDJSON client sees it.
		const raw = await fetch(`${platform.baseUrl}/rpc`, {
			method: "POST",
			headers: { "content-type": "application/ndjson" },
			body: '{"_tag":"Request","id":"1","tag":"tenants.list","payload":{"limit":1,"cursor":null},"headers":[]}\n',
		})
		expect(raw.status).toBe(200)
		expect(await raw.text()).toContain("Unauthorized")
	}, 60_000)

	it("keeps a tenant credential to its own tenant and to tenant-scoped procedures", async () => {
		const [first, second] = await Promise.all(
			["rpc-a", "rpc-b"].map((slug) =>
				setUpTenant({ baseUrl: platform.baseUrl, adminToken: platform.adminToken, idp, slug }),
			),
		)
		idp.signInAs({ sub: "rpc-user-a", email: "a@example.com", name: "A" })
		const signedIn = await signIn(platform.baseUrl, first!.tenant.slug)
		expect(signedIn.status, signedIn.text).toBe(200)
		const token = signedIn.body?.token ?? ""
		expect((await authed(platform.baseUrl, "rpc-a", token, "/jobs")).status).toBe(200)
		const unknownJob = crypto.randomUUID()
		// Its own tenant: the tenant-scoped procedures answer (the user has no jobs yet).
		const page = await call(
			token,
			(rpc) => rpc.jobs.list({ status: null, type: null, limit: 10, cursor: null }),
			"rpc-a",
		)
		expect(Either.getOrThrow(page).items).toEqual([])
		const own = await call(token, (rpc) => rpc.jobs.get({ id: unknownJob }), first!.tenant.slug)
		expect(tagOf(own)).toBe("JobNotFound")
		// Tenant B named with tenant A's credential: refused like on /v1.
		const cross = await call(token, (rpc) => rpc.jobs.get({ id: unknownJob }), second!.tenant.slug)
		expect(tagOf(cross)).toBe("Unauthorized")
		// Admin-only procedures: Forbidden to a tenant credential, whatever tenant it names.
		const adminOnly = await call(token, (rpc) => rpc.tenants.get({ tenant: "rpc-b" }), first!.tenant.slug)
		expect(tagOf(adminOnly)).toBe("Forbidden")
		const dlq = await call(
			token,
			(rpc) => rpc.dlq.list({ tenant: "rpc-a", reason: null, status: null, type: null, limit: 10, cursor: null }),
			first!.tenant.slug,
		)
		expect(tagOf(dlq)).toBe("Forbidden")
		// ADMIN_TOKEN with X-App-Id is the tenant's service principal there.
		const service = await call(
			platform.adminToken,
			(rpc) => rpc.jobs.list({ status: null, type: null, limit: 10, cursor: null }),
			"rpc-a",
		)
		expect(Either.getOrThrow(service).items).toEqual([])
		const noTenant = await call(platform.adminToken, (rpc) => rpc.jobs.get({ id: unknownJob }))
		expect(tagOf(noTenant)).toBe("MissingTenant")
	}, 180_000)
})
