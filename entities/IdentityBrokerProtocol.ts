// Protocol of the IdentityBroker entity (id `<tenantId>/<provider>`, unbounded concurrency, stateless): the runner-side
// half of an OAuth sign-in, where the provider's sealed client secret can be opened. It builds the authorization URL
// and exchanges a code for verified claims. The gateway holds the transaction (state, nonce, verifier) and never
// sees the client secret.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { StorageUnavailable } from "../platform/StorageUnavailable.ts"
import { OAuthProviderNotFound } from "./TenantProtocol.ts"
import { VerifiedClaims } from "./UserSessionsProtocol.ts"

// --- [ERRORS]

// One answer for every way a sign-in can fail at the provider; the stage is logged on the runner, not returned.
class OAuthFailed extends Schema.TaggedError<OAuthFailed>()("OAuthFailed", { message: Schema.String }) {}

// The provider did not answer the exchange properly (unreachable, timed out, 5xx, discovery failing): a sign-in that
// failed through nobody's fault on the client side, so it does not count as a failed attempt.
class ProviderUnavailable extends Schema.TaggedError<ProviderUnavailable>()("ProviderUnavailable", {
	message: Schema.String,
}) {}

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
		error: Schema.Union(OAuthProviderNotFound, OAuthFailed, ProviderUnavailable, StorageUnavailable),
	}),
])

// --- [EXPORT]

export { IdentityBroker, OAuthFailed, ProviderUnavailable }
