// Self-service of the signed-in user under /v1/users/me (profile, deactivation, linked identities) and their API keys
// under /v1/api-keys. Reads accept a session or an API key of the tenant in X-App-Id; changes to the account and its
// credentials (profile, unlink, deactivate, key create/rotate/revoke) need a session, so a leaked key cannot mint
// itself a successor or lock its owner out.
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ApiKeyId } from "../../entities/identity/IdentityModel.ts"
import { InvalidTransition } from "../../entities/InvalidTransition.ts"
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
} from "../../entities/identity/UserSessionsProtocol.ts"
import { Page, PageParams } from "../ListPage.ts"
import { signedInRoutes } from "../RouteGroups.ts"
import { StepUpRequired } from "../HttpErrors.ts"

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

const UsersApi = signedInRoutes(
	HttpApiGroup.make("users")
		.add(
			HttpApiEndpoint.get("me", "/users/me").annotate(OpenApi.Summary, "The signed-in user").addSuccess(UserView),
		)
		.add(
			HttpApiEndpoint.patch("update", "/users/me")
				.annotate(OpenApi.Summary, "Update the signed-in user")
				.setPayload(ProfilePatch)
				.addSuccess(UserView),
		)
		.add(
			HttpApiEndpoint.post("deactivate", "/users/me/deactivate")
				.annotate(OpenApi.Summary, "Deactivate the signed-in user")
				.annotate(OpenApi.Description, "Revokes every session and API key of the user.")
				.addSuccess(Deactivated, { status: 202 })
				.addError(StepUpRequired),
		)
		.add(
			HttpApiEndpoint.get("identities", "/users/me/identities")
				.annotate(OpenApi.Summary, "List the user's linked identities")
				.setUrlParams(PageParams)
				.addSuccess(Page(IdentityView)),
		)
		.add(
			HttpApiEndpoint.del("unlink", "/users/me/identities/:provider")
				.annotate(OpenApi.Summary, "Unlink an identity")
				.annotate(OpenApi.Description, "409 LastIdentity when it is the only way to sign in.")
				.setPath(ProviderPath)
				.addSuccess(IdentityView)
				.addError(IdentityNotFound, { status: 404 })
				.addError(LastIdentity, { status: 409 })
				.addError(StepUpRequired),
		)
		.add(
			HttpApiEndpoint.post("createApiKey", "/api-keys")
				.annotate(OpenApi.Summary, "Create an API key")
				.annotate(OpenApi.Description, "The key is shown once, in this response.")
				.setPayload(NewApiKey)
				.addSuccess(CreatedApiKey, { status: 201 })
				.addError(StepUpRequired),
		)
		.add(
			HttpApiEndpoint.get("listApiKeys", "/api-keys")
				.annotate(OpenApi.Summary, "List the user's API keys")
				.setUrlParams(PageParams)
				.addSuccess(Page(ApiKeyView)),
		)
		.add(
			HttpApiEndpoint.post("rotateApiKey", "/api-keys/:id/rotate")
				.annotate(OpenApi.Summary, "Rotate an API key")
				.annotate(
					OpenApi.Description,
					"The new key is shown once; the old one keeps working for the grace period.",
				)
				.setPath(ApiKeyPath)
				.setPayload(Rotation)
				.addSuccess(CreatedApiKey.annotations({ identifier: "RotatedApiKey" }), { status: 201 })
				.addError(ApiKeyNotFound, { status: 404 })
				.addError(StepUpRequired),
		)
		.add(
			HttpApiEndpoint.del("revokeApiKey", "/api-keys/:id")
				.annotate(OpenApi.Summary, "Revoke an API key")
				.setPath(ApiKeyPath)
				.addSuccess(ApiKeyView)
				.addError(ApiKeyNotFound, { status: 404 }),
		)
		.addError(InvalidTransition, { status: 409 }),
)

// --- [EXPORT]

export { UsersApi }
