// Handlers of IdentityBroker (`<tenantId>/<provider>`): looks the tenant's provider up, opens its client secret with
// Crypto only for the duration of the exchange, and speaks OpenID Connect through OidcClient. Failures are logged with
// their stage (never with codes, tokens or secrets) and answered as one OAuthFailed.
import { Entity } from "@effect/cluster"
import { Effect, Option, Schema } from "effect"
import { Crypto } from "../platform/Crypto.ts"
import { OidcClient } from "../platform/OidcClient.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { IdentityBroker, OAuthFailed, ProviderUnavailable } from "./IdentityBrokerProtocol.ts"
import { ProviderName } from "./OAuthProviderModel.ts"
import { OAuthProviderRepo, secretBinding } from "./OAuthProviderRepo.ts"
import { TenantId } from "./Tenancy.ts"
import { OAuthProviderNotFound } from "./TenantProtocol.ts"

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
			}).pipe(Effect.zipRight(Effect.fail(new OAuthFailed({ message: "sign-in with the provider failed" }))))
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
					Effect.catchTag("OidcError", (error): Effect.Effect<never, OAuthFailed | ProviderUnavailable> =>
						error.unavailable === true
							? failed(error).pipe(
									Effect.catchTag("OAuthFailed", () =>
										Effect.fail(
											new ProviderUnavailable({
												message: "the identity provider cannot be reached",
											}),
										),
									),
								)
							: failed(error),
					),
					Telemetry.span("IdentityBroker.Exchange", { tenantId, provider }),
				),
		}
	}),
	{ concurrency: "unbounded", maxIdleTime: "5 minutes" },
)

// --- [EXPORT]

export { IdentityBrokerLive }
