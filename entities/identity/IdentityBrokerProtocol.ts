// Protocol of the IdentityBroker entity (id `<tenantId>/<provider>`, unbounded concurrency, stateless): the runner-side
// half of an OAuth sign-in, where the provider's sealed client secret can be opened. It builds the authorization URL,
// exchanges a code for verified claims, and checks an issuer's discovery before a provider is saved. The gateway holds
// the transaction (state, nonce, verifier) and never sees the client secret.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { OAuthProviderNotFound } from "../tenant/TenantProtocol.ts"
import { VerifiedClaims } from "./UserSessionsProtocol.ts"

// --- [SCHEMA]

// Where a sign-in failed. `state`: the transaction is unknown, used, expired or not this browser's; `provider_error`:
// the provider sent the user back with an OAuth error; `callback`: the callback carried no code; `configuration`: the
// tenant no longer has the provider; `discovery`, `token_exchange`, `id_token`, `userinfo`: talking to the provider;
// `account`: the user may not sign in (deactivated, or gone while linking).
const OAuthStage = Schema.Literal(
	"state",
	"provider_error",
	"callback",
	"configuration",
	"discovery",
	"token_exchange",
	"id_token",
	"userinfo",
	"account",
)
type OAuthStage = typeof OAuthStage.Type

const ProviderStage = Schema.Literal("discovery", "token_exchange", "id_token", "userinfo")

// --- [ERRORS]

// The answer to a failed sign-in: the stage, and a message saying it in words. Codes, tokens and secrets never.
class OAuthFailed extends Schema.TaggedError<OAuthFailed>()("OAuthFailed", {
	message: Schema.String,
	stage: OAuthStage,
}) {}

// Why an exchange failed, for the gateway's one log line of the failed callback. `unavailable`: the provider did not
// answer properly (unreachable, timed out, 5xx, discovery failing), which says nothing about the client and is not
// counted against it. `providerError`/`providerErrorDescription`: the OAuth error the token endpoint answered.
class ExchangeFailed extends Schema.TaggedError<ExchangeFailed>()("ExchangeFailed", {
	stage: ProviderStage,
	reason: Schema.String,
	unavailable: Schema.Boolean,
	providerError: Schema.NullOr(Schema.String),
	providerErrorDescription: Schema.NullOr(Schema.String),
}) {}

// A provider whose discovery cannot work (unreachable, not JSON, another issuer, endpoints missing): not saved.
class InvalidProvider extends Schema.TaggedError<InvalidProvider>()("InvalidProvider", { message: Schema.String }) {}

// --- [PROTOCOL]

const IdentityBroker = Entity.make("IdentityBroker", [
	Rpc.make("Authorize", {
		payload: {
			redirectUri: Schema.String,
			state: Schema.String,
			nonce: Schema.String,
			codeChallenge: Schema.String,
		},
		success: Schema.Struct({ url: Schema.String }),
		error: Schema.Union(OAuthProviderNotFound, OAuthFailed, StorageUnavailable),
	}),
	Rpc.make("Exchange", {
		payload: {
			code: Schema.String.pipe(Schema.maxLength(2048)),
			codeVerifier: Schema.String,
			redirectUri: Schema.String,
			nonce: Schema.String,
		},
		success: VerifiedClaims,
		error: Schema.Union(OAuthProviderNotFound, ExchangeFailed, StorageUnavailable),
	}),
	Rpc.make("CheckIssuer", {
		payload: { issuer: Schema.String },
		error: InvalidProvider,
	}),
])

// --- [EXPORT]

export { ExchangeFailed, IdentityBroker, InvalidProvider, OAuthFailed, OAuthStage }
