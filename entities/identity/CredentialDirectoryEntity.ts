// Handlers of CredentialDirectory (one instance per `<tenantId>`): lookups by hash for the gateways' credential cache,
// unbounded concurrency, read-only but for last-use stamps. A credential of another tenant is simply not found.
import { Entity } from "@effect/cluster"
import { DateTime, Duration, Effect, Option, Schema } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import { CredentialDirectory, CredentialInvalid, type Principal } from "./CredentialDirectoryProtocol.ts"
import { IdentityRepo } from "./IdentityRepo.ts"
import { SessionPolicy } from "./SessionConfig.ts"
import { TenantId } from "../Tenancy.ts"

// --- [LAYERS]

const CredentialDirectoryLive = CredentialDirectory.toLayer(
	Effect.gen(function* () {
		const address = yield* Entity.CurrentAddress
		const tenantId = yield* Schema.decodeUnknown(TenantId)(address.entityId).pipe(Effect.orDie)
		const repo = yield* IdentityRepo
		const config = yield* SessionPolicy
		const idleSeconds = Duration.toSeconds(config.idleTimeout)
		const invalid = () => new CredentialInvalid({ message: "credential not valid" })
		return {
			Resolve: ({ payload }) =>
				(payload.kind === "session"
					? repo.resolveSession(tenantId, payload.tokenHash, idleSeconds).pipe(
							Effect.flatMap(
								Effect.transposeMapOption((row) =>
									Effect.map(
										row.status === "mfa_pending"
											? Effect.map(repo.hasPasskey(tenantId, row.userId), (found) =>
													found ? ("verify" as const) : ("enroll" as const),
												)
											: Effect.succeed(null),
										(mfa): Principal => ({
											kind: "session",
											tenantId,
											userId: row.userId,
											credentialId: row.id,
											expiresAt: Math.min(
												DateTime.toEpochMillis(row.expiresAt),
												DateTime.toEpochMillis(row.lastUsedAt) + idleSeconds * 1000,
											),
											...(mfa === null ? {} : { mfa }),
										}),
									),
								),
							),
						)
					: repo.resolveApiKey(tenantId, payload.tokenHash).pipe(
							Effect.map(
								Option.map((row): Principal => ({
									kind: "apiKey",
									tenantId,
									userId: row.userId,
									credentialId: row.id,
									expiresAt: Option.getOrNull(
										Option.map(Option.fromNullable(row.expiresAt), DateTime.toEpochMillis),
									),
								})),
							),
						)
				).pipe(
					Effect.flatMap(Option.match({ onNone: () => Effect.fail(invalid()), onSome: Effect.succeed })),
					Telemetry.span("CredentialDirectory.Resolve", { tenantId }),
				),
			Touch: ({ payload }) =>
				Effect.all(
					[
						Effect.when(repo.touchSessions(tenantId, payload.sessions), () => payload.sessions.length > 0),
						Effect.when(repo.touchApiKeys(tenantId, payload.apiKeys), () => payload.apiKeys.length > 0),
					],
					{ discard: true },
				).pipe(Telemetry.span("CredentialDirectory.Touch", { tenantId })),
			FindIdentity: ({ payload }) =>
				repo.findIdentity(tenantId, payload.provider, payload.subject).pipe(
					Effect.map((found) => Option.getOrNull(Option.map(found, (identity) => identity.userId))),
					Telemetry.span("CredentialDirectory.FindIdentity", { tenantId }),
				),
		}
	}),
	{ concurrency: "unbounded", maxIdleTime: "1 minute" },
)

// --- [EXPORT]

export { CredentialDirectoryLive }
