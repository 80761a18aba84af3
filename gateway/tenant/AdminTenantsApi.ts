// Operator endpoints for tenants under /admin/v1/tenants (bearer ADMIN_TOKEN).
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { isIP } from "node:net"
import { KeysetPage } from "../../entities/KeysetPage.ts"
import { Page, PageParams } from "../ListPage.ts"
import { TenantName, TenantSettings, TenantSlug } from "../../entities/tenant/TenantModel.ts"
import { InvalidProvider } from "../../entities/identity/IdentityBrokerProtocol.ts"
import { InvalidTransition } from "../../entities/InvalidTransition.ts"
import {
	OAuthProviderNotFound,
	OAuthProviderView,
	PutOAuthProvider,
	TenantNotFound,
	TenantPage,
	TenantSlugTaken,
	TenantView,
	WebAuthnNotConfigured,
} from "../../entities/tenant/TenantProtocol.ts"
import { RelyingParty, RelyingPartyView } from "../../entities/tenant/RelyingPartyModel.ts"
import { ProviderName } from "../../entities/identity/OAuthProviderModel.ts"
import { adminRoutes } from "../RouteGroups.ts"

// --- [SCHEMA]

const TenantPath = Schema.Struct({ id: Schema.String })

const ProviderPath = Schema.Struct({ id: Schema.String, provider: ProviderName })

const TenantPageParams = Schema.Struct({
	limit: PageParams.fields.limit,
	cursor: Schema.optional(KeysetPage.CursorParam),
})

// `?ip=`: one client's address (its client group is cleared); absent: every client group that failed at the tenant.
const LoginFailuresParams = Schema.Struct({
	ip: Schema.optional(
		Schema.String.pipe(
			Schema.maxLength(64),
			Schema.filter((value) => isIP(value) !== 0, { message: () => "ip must be an IPv4 or IPv6 address" }),
		),
	),
})

const DeletionAccepted = Schema.Struct({
	id: Schema.String,
	status: Schema.String,
	jobId: Schema.NullOr(Schema.String),
})

// --- [PROTOCOL]

const AdminTenantsApi = adminRoutes(
	HttpApiGroup.make("adminTenants")
		.add(
			HttpApiEndpoint.post("create", "/tenants")
				.annotate(OpenApi.Summary, "Create a tenant")
				.annotate(OpenApi.Description, "Answers 201 once the tenant is active and usable on `/v1/` routes.")
				.setPayload(
					Schema.Struct({ slug: TenantSlug, name: TenantName, settings: Schema.optional(TenantSettings) }),
				)
				.addSuccess(TenantView, { status: 201 })
				.addError(TenantSlugTaken, { status: 409 })
				.addError(InvalidTransition, { status: 409 }),
		)
		.add(
			HttpApiEndpoint.get("list", "/tenants")
				.annotate(OpenApi.Summary, "List tenants")
				.setUrlParams(TenantPageParams)
				.addSuccess(TenantPage),
		)
		.add(
			HttpApiEndpoint.get("get", "/tenants/:id")
				.annotate(OpenApi.Summary, "Get a tenant")
				.annotate(OpenApi.Description, "By id or slug.")
				.setPath(TenantPath)
				.addSuccess(TenantView)
				.addError(TenantNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.patch("update", "/tenants/:id")
				.annotate(OpenApi.Summary, "Update a tenant's name or settings")
				.setPath(TenantPath)
				.setPayload(
					Schema.Struct({ name: Schema.optional(TenantName), settings: Schema.optional(TenantSettings) }),
				)
				.addSuccess(TenantView)
				.addError(TenantNotFound, { status: 404 })
				.addError(InvalidTransition, { status: 409 }),
		)
		.add(
			HttpApiEndpoint.post("suspend", "/tenants/:id/suspend")
				.annotate(OpenApi.Summary, "Suspend a tenant")
				.setPath(TenantPath)
				.addSuccess(TenantView)
				.addError(TenantNotFound, { status: 404 })
				.addError(InvalidTransition, { status: 409 }),
		)
		.add(
			HttpApiEndpoint.post("activate", "/tenants/:id/activate")
				.annotate(OpenApi.Summary, "Activate a suspended tenant")
				.setPath(TenantPath)
				.addSuccess(TenantView)
				.addError(TenantNotFound, { status: 404 })
				.addError(InvalidTransition, { status: 409 }),
		)
		.add(
			HttpApiEndpoint.del("delete", "/tenants/:id")
				.annotate(OpenApi.Summary, "Delete a tenant")
				.annotate(
					OpenApi.Description,
					"202 with the id of the deletion job: the tenant stops answering at once, its data is removed by a workflow.",
				)
				.setPath(TenantPath)
				.addSuccess(DeletionAccepted, { status: 202 })
				.addError(TenantNotFound, { status: 404 })
				.addError(InvalidTransition, { status: 409 }),
		)
		.add(
			HttpApiEndpoint.put("putOAuthProvider", "/tenants/:id/oauth-providers/:provider")
				.annotate(OpenApi.Summary, "Configure an OAuth provider of a tenant")
				.annotate(OpenApi.Description, "The client secret is stored encrypted and never returned.")
				.setPath(ProviderPath)
				.setPayload(PutOAuthProvider.pipe(Schema.omit("provider")))
				.addSuccess(OAuthProviderView)
				.addError(InvalidProvider, { status: 400 })
				.addError(TenantNotFound, { status: 404 })
				.addError(InvalidTransition, { status: 409 }),
		)
		.add(
			HttpApiEndpoint.get("listOAuthProviders", "/tenants/:id/oauth-providers")
				.annotate(OpenApi.Summary, "List a tenant's OAuth providers")
				.annotate(OpenApi.Description, "Paginated by provider name; secrets are never returned.")
				.setPath(TenantPath)
				.setUrlParams(PageParams)
				.addSuccess(Page(OAuthProviderView))
				.addError(TenantNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.del("deleteOAuthProvider", "/tenants/:id/oauth-providers/:provider")
				.annotate(OpenApi.Summary, "Remove an OAuth provider of a tenant")
				.setPath(ProviderPath)
				.addSuccess(OAuthProviderView)
				.addError(TenantNotFound, { status: 404 })
				.addError(OAuthProviderNotFound, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.put("putWebAuthn", "/tenants/:id/webauthn")
				.annotate(OpenApi.Summary, "Configure a tenant's WebAuthn relying party and MFA policy")
				.annotate(
					OpenApi.Description,
					"Replaces the whole configuration. `origins` must be https (http only on localhost or a loopback " +
						"address) and on `rpId` or a subdomain of it. `mfa`: `off`, `optional` (a second factor for users " +
						"with a passkey) or `required`; `userVerification`: what ceremonies demand of the authenticator.",
				)
				.setPath(TenantPath)
				.setPayload(RelyingParty)
				.addSuccess(RelyingPartyView)
				.addError(TenantNotFound, { status: 404 })
				.addError(InvalidTransition, { status: 409 }),
		)
		.add(
			HttpApiEndpoint.get("getWebAuthn", "/tenants/:id/webauthn")
				.annotate(OpenApi.Summary, "Get a tenant's WebAuthn relying party")
				.setPath(TenantPath)
				.addSuccess(RelyingPartyView)
				.addError(TenantNotFound, { status: 404 })
				.addError(WebAuthnNotConfigured, { status: 404 }),
		)
		.add(
			HttpApiEndpoint.del("clearLoginFailures", "/tenants/:id/login-failures")
				.setPath(TenantPath)
				.setUrlParams(LoginFailuresParams)
				.addSuccess(Schema.Void, { status: 204 })
				.addError(TenantNotFound, { status: 404 })
				.annotate(OpenApi.Summary, "Clear a tenant's sign-in failure counters")
				.annotate(
					OpenApi.Description,
					"Unblocks sign-ins: clears the failed-callback counters of the client group of `ip` (shared by all " +
						"tenants), or of every client group that failed at this tenant, and the tenant's alert count.",
				),
		),
)

// --- [EXPORT]

export { AdminTenantsApi }
