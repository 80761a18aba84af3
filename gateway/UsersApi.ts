// Self-service of the signed-in user under /v1/users/me (profile, deactivation, linked identities) and their API keys
// under /v1/api-keys. Reads accept a session or an API key of the tenant in X-App-Id; changes to the account and its
// credentials (profile, unlink, deactivate, key create/rotate/revoke) need a session, so a leaked key cannot mint
// itself a successor or lock its owner out.
import { HttpApiEndpoint, HttpApiGroup } from "@effect/platform"
import { Schema } from "effect"
import { ApiKeyId } from "../entities/IdentityModel.ts"
import { InvalidTransition } from "../entities/InvalidTransition.ts"
import { TenantNotFound } from "../entities/TenantProtocol.ts"
import {
	ApiKeyName,
	ApiKeyNotFound,
	ApiKeyView,
	DisplayName,
	Email,
	IdentityNotFound,
	IdentityView,
	LastIdentity,
	UserView,
} from "../entities/UserSessionsProtocol.ts"
import { MissingTenant, ServiceUnavailable, Unauthorized } from "./HttpErrors.ts"
import { Page, PageParams } from "./ListPage.ts"
import { PrincipalMiddleware } from "./PrincipalMiddleware.ts"
import { TenantMiddleware } from "./TenantMiddleware.ts"

// --- [SCHEMA]

const ProfilePatch = Schema.Struct({
	displayName: Schema.optional(Schema.NullOr(DisplayName)),
	email: Schema.optional(Schema.NullOr(Email)),
})

const Deactivated = Schema.Struct({ user: UserView, sessionsRevoked: Schema.Int, apiKeysRevoked: Schema.Int })

const ProviderPath = Schema.Struct({ provider: Schema.String.pipe(Schema.maxLength(64)) })

const NewApiKey = Schema.Struct({
	name: ApiKeyName,
	expiresAt: Schema.optional(Schema.DateTimeUtc),
})

// The only response that ever carries the key itself.
const CreatedApiKey = Schema.Struct({ ...ApiKeyView.fields, key: Schema.String })

const ApiKeyPath = Schema.Struct({ id: ApiKeyId })

const Rotation = Schema.Struct({
	gracePeriodSeconds: Schema.optional(Schema.Int.pipe(Schema.between(0, 30 * 86_400))),
})

// --- [PROTOCOL]

const UsersApi = HttpApiGroup.make("users")
	.add(HttpApiEndpoint.get("me", "/users/me").addSuccess(UserView))
	.add(HttpApiEndpoint.patch("update", "/users/me").setPayload(ProfilePatch).addSuccess(UserView))
	.add(HttpApiEndpoint.post("deactivate", "/users/me/deactivate").addSuccess(Deactivated, { status: 202 }))
	.add(
		HttpApiEndpoint.get("identities", "/users/me/identities")
			.setUrlParams(PageParams)
			.addSuccess(Page(IdentityView)),
	)
	.add(
		HttpApiEndpoint.del("unlink", "/users/me/identities/:provider")
			.setPath(ProviderPath)
			.addSuccess(IdentityView)
			.addError(IdentityNotFound, { status: 404 })
			.addError(LastIdentity, { status: 409 }),
	)
	.add(
		HttpApiEndpoint.post("createApiKey", "/api-keys")
			.setPayload(NewApiKey)
			.addSuccess(CreatedApiKey, { status: 201 }),
	)
	.add(HttpApiEndpoint.get("listApiKeys", "/api-keys").setUrlParams(PageParams).addSuccess(Page(ApiKeyView)))
	.add(
		HttpApiEndpoint.post("rotateApiKey", "/api-keys/:id/rotate")
			.setPath(ApiKeyPath)
			.setPayload(Rotation)
			.addSuccess(CreatedApiKey.annotations({ identifier: "RotatedApiKey" }), { status: 201 })
			.addError(ApiKeyNotFound, { status: 404 }),
	)
	.add(
		HttpApiEndpoint.del("revokeApiKey", "/api-keys/:id")
			.setPath(ApiKeyPath)
			.addSuccess(ApiKeyView)
			.addError(ApiKeyNotFound, { status: 404 }),
	)
	.addError(InvalidTransition, { status: 409 })
	.addError(MissingTenant)
	.addError(TenantNotFound, { status: 404 })
	.addError(Unauthorized)
	.addError(ServiceUnavailable)
	.middleware(PrincipalMiddleware)
	.middleware(TenantMiddleware)
	.prefix("/v1")

// --- [EXPORT]

export { UsersApi }
