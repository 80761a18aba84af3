// Handlers of /v1/users/me and /v1/api-keys. API keys are minted here (256 random bits behind the `ecpk_` prefix):
// the entity stores only the hash, and the key is returned once. Revocations and rotations are applied to this
// gateway's credential cache before the answer; other gateways hear them on the cache service's channel.
import { HttpApiBuilder } from "@effect/platform"
import { DateTime, Duration, Effect, Redacted } from "effect"
import { ApiKeyPrefix, type ApiKeyId } from "../../entities/identity/IdentityModel.ts"
import { SecretToken } from "../../platform/SecretToken.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Api } from "../Api.ts"
import { Credentials } from "./Credentials.ts"
import { StepUp } from "./StepUp.ts"
import { ValidationError } from "../HttpErrors.ts"
import { IdentityConfig } from "./IdentityConfig.ts"
import { byId, pageOf } from "../ListPage.ts"
import { noStore } from "../NoStore.ts"
import { currentSession, withUser } from "./UserCalls.ts"

// --- [CONSTANTS]

// What a listing shows of a key: its type prefix and 8 characters, enough to tell keys apart.
const DisplayedPrefixLength = ApiKeyPrefix.length + 8

// --- [LAYERS]

const UsersHttpLive = HttpApiBuilder.group(Api, "users", (handlers) =>
	Effect.gen(function* () {
		const credentials = yield* Credentials
		const config = yield* IdentityConfig
		return handlers
			.handle("me", () => withUser((entity) => entity.GetUser()).pipe(Telemetry.span("UsersHttp.me")))
			.handle("update", ({ payload }) =>
				currentSession.pipe(
					Effect.zipRight(withUser((entity) => entity.UpdateUser(payload))),
					Telemetry.span("UsersHttp.update"),
				),
			)
			.handle("deactivate", () =>
				Effect.gen(function* () {
					const caller = yield* currentSession
					yield* StepUp.require
					const result = yield* withUser((entity) => entity.Deactivate())
					yield* credentials.revoked(caller.principal.tenantId, result.revoked)
					return {
						user: result.user,
						sessionsRevoked: result.sessionsRevoked,
						apiKeysRevoked: result.apiKeysRevoked,
					}
				}).pipe(Telemetry.span("UsersHttp.deactivate")),
			)
			.handle("identities", ({ urlParams }) =>
				withUser((entity) => entity.ListIdentities()).pipe(
					Effect.map((identities) => pageOf(identities, urlParams, (identity) => identity.provider)),
					Telemetry.span("UsersHttp.identities"),
				),
			)
			.handle("unlink", ({ path }) =>
				currentSession.pipe(
					Effect.zipRight(StepUp.require),
					Effect.zipRight(withUser((entity) => entity.UnlinkIdentity({ provider: path.provider }))),
					Telemetry.span("UsersHttp.unlink"),
				),
			)
			.handle("createApiKey", ({ payload }) =>
				Effect.gen(function* () {
					yield* noStore
					yield* currentSession
					yield* StepUp.require
					const now = yield* DateTime.now
					yield* Effect.filterOrFail(
						Effect.succeed(payload.expiresAt),
						(expiresAt) => expiresAt === undefined || DateTime.greaterThan(expiresAt, now),
						() =>
							new ValidationError({
								message: "expiresAt: must be in the future",
								issues: [{ path: ["expiresAt"], message: "must be in the future" }],
							}),
					)
					const minted = SecretToken.mint(ApiKeyPrefix)
					const key = yield* withUser((entity) =>
						entity.CreateApiKey({
							keyId: crypto.randomUUID() as ApiKeyId,
							keyHash: minted.hash,
							prefix: Redacted.value(minted.token).slice(0, DisplayedPrefixLength),
							name: payload.name,
							expiresAt: payload.expiresAt ?? null,
						}),
					)
					return { ...key, key: Redacted.value(minted.token) }
				}).pipe(Telemetry.span("UsersHttp.createApiKey")),
			)
			.handle("listApiKeys", ({ urlParams }) =>
				withUser((entity) => entity.ListApiKeys()).pipe(
					Effect.map((keys) => pageOf(keys, urlParams, byId)),
					Telemetry.span("UsersHttp.listApiKeys"),
				),
			)
			.handle("rotateApiKey", ({ path, payload }) =>
				Effect.gen(function* () {
					yield* noStore
					const caller = yield* currentSession
					yield* StepUp.require
					const minted = SecretToken.mint(ApiKeyPrefix)
					const rotated = yield* withUser((entity) =>
						entity.RotateApiKey({
							keyId: path.id,
							newKeyId: crypto.randomUUID() as ApiKeyId,
							keyHash: minted.hash,
							prefix: Redacted.value(minted.token).slice(0, DisplayedPrefixLength),
							gracePeriodSeconds:
								payload.gracePeriodSeconds ?? Math.round(Duration.toSeconds(config.apiKeyGrace)),
						}),
					)
					yield* credentials.changed(caller.principal.tenantId, rotated.changed)
					return { ...rotated.key, key: Redacted.value(minted.token) }
				}).pipe(Telemetry.span("UsersHttp.rotateApiKey")),
			)
			.handle("revokeApiKey", ({ path }) =>
				Effect.gen(function* () {
					const caller = yield* currentSession
					const revoked = yield* withUser((entity) => entity.RevokeApiKey({ keyId: path.id }))
					yield* credentials.revoked(caller.principal.tenantId, revoked.revoked)
					return revoked.key
				}).pipe(Telemetry.span("UsersHttp.revokeApiKey")),
			)
	}),
)

// --- [EXPORT]

export { UsersHttpLive }
