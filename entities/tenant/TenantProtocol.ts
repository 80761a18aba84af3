// Protocol of the Tenant entity (id = tenantId; owns one `apps` row and its lifecycle) and of the TenantDirectory
// entity (read side: resolve by id or slug, list). Mutations are persisted messages keyed by a caller-supplied
// `requestKey`, so a retried request is applied once. Imported by the gateway; no handler code lives here.
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { PrimaryKey, Schema } from "effect"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { InvalidTransition } from "../InvalidTransition.ts"
import { ProviderName } from "../identity/OAuthProviderModel.ts"
import { TenantId } from "../Tenancy.ts"
import { TenantModel, TenantName, TenantSettings, TenantSlug } from "./TenantModel.ts"
import { RelyingParty, RelyingPartyView } from "./RelyingPartyModel.ts"

// --- [SCHEMA]

// The JSON variant of the `apps` model: what travels over RPC and HTTP.
const TenantView = TenantModel.json
type TenantView = typeof TenantView.Type

const TenantOperation = Schema.Literal("activate", "suspend", "delete", "complete-delete", "restore")
type TenantOperation = typeof TenantOperation.Type

const RequestKey = Schema.String.pipe(Schema.minLength(1), Schema.maxLength(128))

class CreateTenant extends Schema.Class<CreateTenant>("CreateTenant")({
	requestKey: RequestKey,
	slug: TenantSlug,
	name: TenantName,
	settings: Schema.optionalWith(TenantSettings, { default: () => ({}) }),
}) {
	[PrimaryKey.symbol]() {
		return this.requestKey
	}
}

class UpdateTenant extends Schema.Class<UpdateTenant>("UpdateTenant")({
	requestKey: RequestKey,
	name: Schema.optional(TenantName),
	settings: Schema.optional(TenantSettings),
}) {
	[PrimaryKey.symbol]() {
		return this.requestKey
	}
}

class TransitionTenant extends Schema.Class<TransitionTenant>("TransitionTenant")({
	requestKey: RequestKey,
	operation: TenantOperation,
}) {
	[PrimaryKey.symbol]() {
		return `${this.operation}:${this.requestKey}`
	}
}

// A provider as operators see it: the client secret is never returned.
const OAuthProviderView = Schema.Struct({
	provider: ProviderName,
	issuer: Schema.String,
	clientId: Schema.String,
	scopes: Schema.Array(Schema.String),
	createdAt: Schema.DateTimeUtc,
	updatedAt: Schema.DateTimeUtc,
})

// Volatile on purpose: a persisted message would keep the plaintext secret in the cluster's message table.
const PutOAuthProvider = Schema.Struct({
	provider: ProviderName,
	issuer: Schema.String.pipe(
		Schema.maxLength(512),
		Schema.pattern(/^https?:\/\/[^\s/]+/, { message: () => "issuer must be an http(s) URL" }),
	),
	clientId: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(512)),
	clientSecret: Schema.Redacted(Schema.String.pipe(Schema.minLength(1), Schema.maxLength(2048))),
	scopes: Schema.optionalWith(Schema.Array(Schema.String.pipe(Schema.pattern(/^[\x21-\x7e]{1,128}$/))), {
		default: () => ["openid", "email", "profile"],
	}),
})

const TenantPage = Schema.Struct({
	items: Schema.Array(TenantView),
	nextCursor: Schema.NullOr(Schema.String),
})

// --- [ERRORS]

class OAuthProviderNotFound extends Schema.TaggedError<OAuthProviderNotFound>()("OAuthProviderNotFound", {
	message: Schema.String,
}) {}

// The tenant has no WebAuthn relying party yet (`PUT /admin/v1/tenants/{id}/webauthn` configures one).
class WebAuthnNotConfigured extends Schema.TaggedError<WebAuthnNotConfigured>()("WebAuthnNotConfigured", {
	message: Schema.String,
}) {}

class TenantNotFound extends Schema.TaggedError<TenantNotFound>()("TenantNotFound", {
	message: Schema.String,
}) {}

class TenantSlugTaken extends Schema.TaggedError<TenantSlugTaken>()("TenantSlugTaken", {
	message: Schema.String,
	slug: Schema.String,
}) {}

// --- [PROTOCOL]

const Tenant = Entity.make("Tenant", [
	Rpc.make("Create", {
		payload: CreateTenant,
		success: TenantView,
		error: Schema.Union(TenantSlugTaken, InvalidTransition, StorageUnavailable),
	})
		.annotate(ClusterSchema.Persisted, true)
		.annotate(ClusterSchema.Uninterruptible, "client"),
	Rpc.make("Update", {
		payload: UpdateTenant,
		success: TenantView,
		error: Schema.Union(TenantNotFound, InvalidTransition, StorageUnavailable),
	})
		.annotate(ClusterSchema.Persisted, true)
		.annotate(ClusterSchema.Uninterruptible, "client"),
	Rpc.make("Transition", {
		payload: TransitionTenant,
		success: TenantView,
		error: Schema.Union(TenantNotFound, InvalidTransition, StorageUnavailable),
	})
		.annotate(ClusterSchema.Persisted, true)
		.annotate(ClusterSchema.Uninterruptible, "client"),
	Rpc.make("Get", { success: TenantView, error: Schema.Union(TenantNotFound, StorageUnavailable) }),
	Rpc.make("PutOAuthProvider", {
		payload: PutOAuthProvider,
		success: OAuthProviderView,
		error: Schema.Union(TenantNotFound, InvalidTransition, StorageUnavailable),
	}),
	Rpc.make("ListOAuthProviders", {
		success: Schema.Array(OAuthProviderView),
		error: Schema.Union(TenantNotFound, StorageUnavailable),
	}),
	Rpc.make("DeleteOAuthProvider", {
		payload: { provider: Schema.String },
		success: OAuthProviderView,
		error: Schema.Union(TenantNotFound, OAuthProviderNotFound, StorageUnavailable),
	}),
	// Idempotent (a PUT of the whole configuration), so not persisted.
	Rpc.make("PutRelyingParty", {
		payload: RelyingParty,
		success: RelyingPartyView,
		error: Schema.Union(TenantNotFound, InvalidTransition, StorageUnavailable),
	}),
	Rpc.make("GetRelyingParty", {
		success: RelyingPartyView,
		error: Schema.Union(TenantNotFound, WebAuthnNotConfigured, StorageUnavailable),
	}),
])

// Stateless reads over `apps`; ids are the lookup key (an id or a slug) or "list".
const TenantDirectory = Entity.make("TenantDirectory", [
	Rpc.make("Resolve", {
		payload: { key: Schema.String },
		success: TenantView,
		error: Schema.Union(TenantNotFound, StorageUnavailable),
	}),
	Rpc.make("List", {
		payload: { limit: Schema.Int.pipe(Schema.between(1, 100)), cursor: Schema.NullOr(Schema.String) },
		success: TenantPage,
		error: StorageUnavailable,
	}),
])

// Published on the cache service's `tenants` channel whenever a tenant changes, so every gateway drops its copy.
const TenantChangedChannel = "tenants.changed"
const TenantChanged = Schema.parseJson(Schema.Struct({ id: TenantId, slug: Schema.String }))

// --- [EXPORT]

export {
	CreateTenant,
	OAuthProviderNotFound,
	OAuthProviderView,
	PutOAuthProvider,
	Tenant,
	TenantChanged,
	TenantChangedChannel,
	TenantDirectory,
	TenantNotFound,
	TenantOperation,
	TenantPage,
	TenantSlugTaken,
	TenantView,
	TransitionTenant,
	UpdateTenant,
	WebAuthnNotConfigured,
}
