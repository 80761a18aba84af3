// Handlers of IdentityBroker (`<tenantId>/<provider>`): looks the tenant's provider up, opens its client secret with
// Crypto only for the duration of the exchange, and speaks OpenID Connect through OidcClient. A failed exchange is
// answered with its stage and reason (never a code, token or secret) and logged once, by the gateway's callback; a
// failed authorization (at a sign-in's start) is logged here.
import { Entity } from "@effect/cluster"
import { Effect, Option, Schema } from "effect"
import { Crypto } from "../../platform/Crypto.ts"
import { OidcClient } from "../../platform/OidcClient.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { ExchangeFailed, IdentityBroker, InvalidProvider, OAuthFailed } from "./IdentityBrokerProtocol.ts"
import { ProviderName } from "./OAuthProviderModel.ts"
import { OAuthProviderRepo, secretBinding } from "./OAuthProviderRepo.ts"
import { TenantId } from "../Tenancy.ts"
import { OAuthProviderNotFound } from "../tenant/TenantProtocol.ts"

// --- [SCHEMA]

const BrokerAddress = Schema.TemplateLiteralParser(TenantId, "/", ProviderName)

// --- [LAYERS]

const IdentityBrokerLive = IdentityBroker.toLayer(
	Effect.gen(function* () {
		const address = yield* Entity.CurrentAddress
		const [tenantId, , provider] = yield* Schema.decodeUnknown(BrokerAddress)(address.entityId).pipe(Effect.orDie)
		const repo = yield* OAuthProviderRepo
		const crypto = yield* Crypto
		const oidc = yield* OidcClient
		const configured = repo.list(tenantId).pipe(
			Effect.map((rows) => Option.fromNullable(rows.find((row) => row.provider === provider))),
			Effect.flatMap(
				Option.match({
					onNone: () => Effect.fail(new OAuthProviderNotFound({ message: `no provider '${provider}'` })),
					onSome: Effect.succeed,
				}),
			),
		)
		const failed = (error: { readonly stage: string; readonly reason: string }) =>
			Effect.logWarning("OAuth sign-in failed", {
				tenantId,
				provider,
				stage: error.stage,
				reason: error.reason,
			}).pipe(
				Effect.zipRight(
					Effect.fail(
						new OAuthFailed({
							message: "the identity provider's configuration could not be read",
							stage: "discovery",
						}),
					),
				),
			)
		return {
			Authorize: ({ payload }) =>
				configured.pipe(
					Effect.flatMap((row) =>
						oidc.authorizationUrl(row.issuer, {
							clientId: row.clientId,
							scopes: row.scopes,
							redirectUri: payload.redirectUri,
							state: payload.state,
							nonce: payload.nonce,
							codeChallenge: payload.codeChallenge,
						}),
					),
					Effect.map((url) => ({ url })),
					Effect.catchTag("OidcError", failed),
					Telemetry.span("IdentityBroker.Authorize", { tenantId, provider }),
				),
			Exchange: ({ payload }) =>
				Effect.gen(function* () {
					const row = yield* configured
					const clientSecret = yield* crypto
						.open(row.clientSecretEnc, secretBinding(tenantId, provider))
						.pipe(
							Effect.catchAll((error) =>
								Effect.dieMessage(`provider secret cannot be opened: ${error._tag}`),
							),
						)
					const claims = yield* oidc.exchange(row.issuer, {
						clientId: row.clientId,
						clientSecret,
						code: payload.code,
						codeVerifier: payload.codeVerifier,
						redirectUri: payload.redirectUri,
						nonce: payload.nonce,
					})
					return {
						provider,
						subject: claims.sub,
						email: claims.email ?? null,
						emailVerified: claims.email_verified ?? false,
						name: claims.name ?? null,
					}
				}).pipe(
					Effect.catchTag("OidcError", (error) =>
						Effect.fail(
							new ExchangeFailed({
								stage: error.stage,
								reason: error.reason,
								unavailable: error.unavailable === true,
								providerError: error.providerError ?? null,
								providerErrorDescription: error.providerErrorDescription ?? null,
							}),
						),
					),
					Telemetry.span("IdentityBroker.Exchange", { tenantId, provider }),
				),
			// Before a provider is saved: its discovery must work as a sign-in will use it.
			CheckIssuer: ({ payload }) =>
				oidc.probe(payload.issuer).pipe(
					Effect.catchTag("OidcError", (error) =>
						Effect.fail(new InvalidProvider({ message: error.reason })),
					),
					Telemetry.span("IdentityBroker.CheckIssuer", { tenantId, provider }),
				),
		}
	}),
	{ concurrency: "unbounded", maxIdleTime: "5 minutes" },
)

// --- [EXPORT]

export { IdentityBrokerLive }
