// SQL access to users, identities, sessions and API keys for the identity entities on runners. Every statement is
// scoped by `app_id`; status changes are compare-and-set on the current status, so a transition applied twice (or
// raced by another writer) changes nothing the second time.
import { SqlSchema } from "@effect/sql"
import { PgClient } from "@effect/sql-pg"
import { Effect, Schema } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import { ApiKey, ApiKeyId, Identity, Session, SessionEndReason, SessionId, SessionStatus } from "./IdentityModel.ts"
import { KeysetPage } from "../KeysetPage.ts"
import { TenantId } from "../Tenancy.ts"
import { User, UserId, UserStatus } from "./UserModel.ts"

// --- [SCHEMA]

const Scoped = Schema.Struct({ appId: TenantId, userId: UserId })

// --- [SERVICES]

class IdentityRepo extends Effect.Service<IdentityRepo>()("entities/IdentityRepo", {
	effect: Effect.gen(function* () {
		const sql = yield* PgClient.PgClient
		const findUser = SqlSchema.findOne({
			Request: Scoped,
			Result: User,
			execute: ({ appId, userId }) => sql`SELECT * FROM users WHERE app_id = ${appId} AND id = ${userId}`,
		})
		const insertUser = SqlSchema.single({
			Request: Schema.Struct({
				appId: TenantId,
				id: UserId,
				email: Schema.NullOr(Schema.String),
				emailVerified: Schema.Boolean,
				displayName: Schema.NullOr(Schema.String),
			}),
			Result: User,
			execute: (row) => sql`
				INSERT INTO users ${sql.insert({ ...row, status: "active" })}
				ON CONFLICT (id) DO UPDATE SET updated_at = users.updated_at RETURNING *`,
		})
		const updateUser = SqlSchema.single({
			Request: Schema.Struct({
				appId: TenantId,
				id: UserId,
				email: Schema.NullOr(Schema.String),
				emailVerified: Schema.Boolean,
				displayName: Schema.NullOr(Schema.String),
				status: UserStatus,
			}),
			Result: User,
			execute: ({ appId, id, ...changes }) => sql`
				UPDATE users SET ${sql.update(changes)}, updated_at = now()
				WHERE app_id = ${appId} AND id = ${id} RETURNING *`,
		})
		const findIdentity = SqlSchema.findOne({
			Request: Schema.Struct({ appId: TenantId, provider: Schema.String, subject: Schema.String }),
			Result: Identity,
			execute: ({ appId, provider, subject }) =>
				sql`SELECT * FROM identities WHERE app_id = ${appId} AND provider = ${provider} AND subject = ${subject}`,
		})
		const listIdentities = SqlSchema.findAll({
			Request: Scoped,
			Result: Identity,
			execute: ({ appId, userId }) =>
				sql`SELECT * FROM identities WHERE app_id = ${appId} AND user_id = ${userId} ORDER BY created_at, provider`,
		})
		const insertIdentity = SqlSchema.findOne({
			Request: Schema.Struct({
				appId: TenantId,
				userId: UserId,
				provider: Schema.String,
				subject: Schema.String,
				email: Schema.NullOr(Schema.String),
			}),
			Result: Identity,
			execute: (row) => sql`INSERT INTO identities ${sql.insert(row)} ON CONFLICT DO NOTHING RETURNING *`,
		})
		const deleteIdentity = SqlSchema.findOne({
			Request: Schema.Struct({ appId: TenantId, userId: UserId, provider: Schema.String }),
			Result: Identity,
			execute: ({ appId, userId, provider }) => sql`
				DELETE FROM identities WHERE app_id = ${appId} AND user_id = ${userId} AND provider = ${provider}
				RETURNING *`,
		})
		const insertSession = SqlSchema.single({
			Request: Schema.Struct({
				id: SessionId,
				appId: TenantId,
				userId: UserId,
				tokenHash: Schema.String,
				status: SessionStatus,
				provider: Schema.NullOr(Schema.String),
				ipAddress: Schema.NullOr(Schema.String),
				userAgent: Schema.NullOr(Schema.String),
				expiresAt: Schema.DateTimeUtcFromDate,
			}),
			Result: Session,
			execute: (row) => sql`
				INSERT INTO sessions ${sql.insert(row)}
				ON CONFLICT (id) DO UPDATE SET id = sessions.id RETURNING *`,
		})
		const liveSessions = SqlSchema.findAll({
			Request: Scoped,
			Result: Session,
			execute: ({ appId, userId }) => sql`
				SELECT * FROM sessions WHERE app_id = ${appId} AND user_id = ${userId}
					AND status IN ('mfa_pending', 'active')
				ORDER BY last_used_at, created_at, id`,
		})
		const endSession = SqlSchema.findOne({
			Request: Schema.Struct({
				appId: TenantId,
				id: SessionId,
				from: Schema.Array(SessionStatus),
				to: SessionStatus,
				reason: SessionEndReason,
			}),
			Result: Session,
			execute: ({ appId, id, from, to, reason }) => sql`
				UPDATE sessions SET status = ${to}, end_reason = ${reason}, ended_at = now()
				WHERE app_id = ${appId} AND id = ${id} AND status IN ${sql.in(from)} RETURNING *`,
		})
		// The second factor done: compare-and-set from mfa_pending.
		const activateSession = SqlSchema.findOne({
			Request: Schema.Struct({ appId: TenantId, id: SessionId }),
			Result: Session,
			execute: ({ appId, id }) => sql`
				UPDATE sessions SET status = 'active'
				WHERE app_id = ${appId} AND id = ${id} AND status = 'mfa_pending' RETURNING *`,
		})
		const hasPasskey = SqlSchema.single({
			Request: Scoped,
			Result: Schema.Struct({ found: Schema.Boolean }),
			execute: ({ appId, userId }) => sql`
				SELECT EXISTS (SELECT 1 FROM passkeys WHERE app_id = ${appId} AND user_id = ${userId} AND NOT cloned)
					AS found`,
		})
		const resolveSession = SqlSchema.findOne({
			Request: Schema.Struct({ appId: TenantId, tokenHash: Schema.String, idleSeconds: Schema.Number }),
			Result: Session,
			execute: ({ appId, tokenHash, idleSeconds }) => sql`
				SELECT * FROM sessions WHERE app_id = ${appId} AND token_hash = ${tokenHash}
					AND status IN ('active', 'mfa_pending')
					AND expires_at > now() AND last_used_at > now() - make_interval(secs => ${idleSeconds})`,
		})
		const touchSessions = SqlSchema.void({
			Request: Schema.Struct({ appId: TenantId, ids: Schema.Array(SessionId) }),
			execute: ({ appId, ids }) => sql`
				UPDATE sessions SET last_used_at = now()
				WHERE app_id = ${appId} AND id = ANY(${[...ids]}::uuid[]) AND status = 'active'`,
		})
		const insertApiKey = SqlSchema.single({
			Request: Schema.Struct({
				id: ApiKeyId,
				appId: TenantId,
				userId: UserId,
				name: Schema.String,
				prefix: Schema.String,
				keyHash: Schema.String,
				expiresAt: Schema.NullOr(Schema.DateTimeUtcFromDate),
			}),
			Result: ApiKey,
			execute: (row) => sql`
				INSERT INTO api_keys ${sql.insert({ ...row, status: "active" })}
				ON CONFLICT (id) DO UPDATE SET id = api_keys.id RETURNING *`,
		})
		const listApiKeys = SqlSchema.findAll({
			Request: Scoped,
			Result: ApiKey,
			execute: ({ appId, userId }) =>
				sql`SELECT * FROM api_keys WHERE app_id = ${appId} AND user_id = ${userId} ORDER BY created_at, id`,
		})
		const findApiKey = SqlSchema.findOne({
			Request: Schema.Struct({ appId: TenantId, userId: UserId, id: ApiKeyId }),
			Result: ApiKey,
			execute: ({ appId, userId, id }) =>
				sql`SELECT * FROM api_keys WHERE app_id = ${appId} AND user_id = ${userId} AND id = ${id}`,
		})
		const revokeApiKey = SqlSchema.findOne({
			Request: Schema.Struct({ appId: TenantId, userId: UserId, id: ApiKeyId }),
			Result: ApiKey,
			execute: ({ appId, userId, id }) => sql`
				UPDATE api_keys SET status = 'revoked', revoked_at = now()
				WHERE app_id = ${appId} AND user_id = ${userId} AND id = ${id} AND status = 'active' RETURNING *`,
		})
		// The old key of a rotation lives until the grace period ends (never longer than it already would).
		const retireApiKey = SqlSchema.findOne({
			Request: Schema.Struct({
				appId: TenantId,
				userId: UserId,
				id: ApiKeyId,
				replacedBy: ApiKeyId,
				graceSeconds: Schema.Number,
			}),
			Result: ApiKey,
			execute: ({ appId, userId, id, replacedBy, graceSeconds }) => sql`
				UPDATE api_keys SET replaced_by = ${replacedBy},
					expires_at = LEAST(COALESCE(expires_at, 'infinity'), now() + make_interval(secs => ${graceSeconds}))
				WHERE app_id = ${appId} AND user_id = ${userId} AND id = ${id} AND status = 'active'
					AND replaced_by IS NULL AND (expires_at IS NULL OR expires_at > now()) RETURNING *`,
		})
		const resolveApiKey = SqlSchema.findOne({
			Request: Schema.Struct({ appId: TenantId, keyHash: Schema.String }),
			Result: ApiKey,
			execute: ({ appId, keyHash }) => sql`
				SELECT k.* FROM api_keys k JOIN users u ON u.app_id = k.app_id AND u.id = k.user_id
				WHERE k.app_id = ${appId} AND k.key_hash = ${keyHash} AND k.status = 'active'
					AND (k.expires_at IS NULL OR k.expires_at > now()) AND u.status = 'active'`,
		})
		const touchApiKeys = SqlSchema.void({
			Request: Schema.Struct({ appId: TenantId, ids: Schema.Array(ApiKeyId) }),
			execute: ({ appId, ids }) => sql`
				UPDATE api_keys SET last_used_at = now() WHERE app_id = ${appId} AND id = ANY(${[...ids]}::uuid[])`,
		})
		const revokeAllApiKeys = SqlSchema.findAll({
			Request: Scoped,
			Result: ApiKey,
			execute: ({ appId, userId }) => sql`
				UPDATE api_keys SET status = 'revoked', revoked_at = now()
				WHERE app_id = ${appId} AND user_id = ${userId} AND status = 'active' RETURNING *`,
		})
		const maxSessions = SqlSchema.findOne({
			Request: TenantId,
			Result: Schema.Struct({ maxSessions: Schema.NullOr(Schema.NumberFromString) }),
			execute: (appId) =>
				sql`SELECT settings->>'maxSessionsPerUser' AS max_sessions FROM apps WHERE id = ${appId}`,
		})
		const span =
			(name: string) =>
			<A, E, R>(effect: Effect.Effect<A, E, R>) =>
				Telemetry.span(`IdentityRepo.${name}`)(effect)
		return {
			withTransaction: sql.withTransaction,
			findUser: (appId: TenantId, userId: UserId) =>
				KeysetPage.settle(findUser({ appId, userId })).pipe(span("findUser")),
			insertUser: (row: Parameters<typeof insertUser>[0]) =>
				KeysetPage.settle(insertUser(row).pipe(Effect.catchTag("NoSuchElementException", Effect.die))).pipe(
					span("insertUser"),
				),
			updateUser: (row: Parameters<typeof updateUser>[0]) =>
				KeysetPage.settle(updateUser(row).pipe(Effect.catchTag("NoSuchElementException", Effect.die))).pipe(
					span("updateUser"),
				),
			findIdentity: (appId: TenantId, provider: string, subject: string) =>
				KeysetPage.settle(findIdentity({ appId, provider, subject })).pipe(span("findIdentity")),
			listIdentities: (appId: TenantId, userId: UserId) =>
				KeysetPage.settle(listIdentities({ appId, userId })).pipe(span("listIdentities")),
			insertIdentity: (row: Parameters<typeof insertIdentity>[0]) =>
				KeysetPage.settle(insertIdentity(row)).pipe(span("insertIdentity")),
			deleteIdentity: (appId: TenantId, userId: UserId, provider: string) =>
				KeysetPage.settle(deleteIdentity({ appId, userId, provider })).pipe(span("deleteIdentity")),
			insertSession: (row: Parameters<typeof insertSession>[0]) =>
				KeysetPage.settle(insertSession(row).pipe(Effect.catchTag("NoSuchElementException", Effect.die))).pipe(
					span("insertSession"),
				),
			liveSessions: (appId: TenantId, userId: UserId) =>
				KeysetPage.settle(liveSessions({ appId, userId })).pipe(span("liveSessions")),
			endSession: (row: Parameters<typeof endSession>[0]) =>
				KeysetPage.settle(endSession(row)).pipe(span("endSession")),
			activateSession: (appId: TenantId, id: SessionId) =>
				KeysetPage.settle(activateSession({ appId, id })).pipe(span("activateSession")),
			hasPasskey: (appId: TenantId, userId: UserId) =>
				KeysetPage.settle(
					hasPasskey({ appId, userId }).pipe(
						Effect.map((row) => row.found),
						Effect.catchTag("NoSuchElementException", Effect.die),
					),
				).pipe(span("hasPasskey")),
			resolveSession: (appId: TenantId, tokenHash: string, idleSeconds: number) =>
				KeysetPage.settle(resolveSession({ appId, tokenHash, idleSeconds })).pipe(span("resolveSession")),
			touchSessions: (appId: TenantId, ids: ReadonlyArray<SessionId>) =>
				KeysetPage.settle(touchSessions({ appId, ids })).pipe(span("touchSessions")),
			insertApiKey: (row: Parameters<typeof insertApiKey>[0]) =>
				KeysetPage.settle(insertApiKey(row).pipe(Effect.catchTag("NoSuchElementException", Effect.die))).pipe(
					span("insertApiKey"),
				),
			listApiKeys: (appId: TenantId, userId: UserId) =>
				KeysetPage.settle(listApiKeys({ appId, userId })).pipe(span("listApiKeys")),
			findApiKey: (appId: TenantId, userId: UserId, id: ApiKeyId) =>
				KeysetPage.settle(findApiKey({ appId, userId, id })).pipe(span("findApiKey")),
			revokeApiKey: (appId: TenantId, userId: UserId, id: ApiKeyId) =>
				KeysetPage.settle(revokeApiKey({ appId, userId, id })).pipe(span("revokeApiKey")),
			retireApiKey: (row: Parameters<typeof retireApiKey>[0]) =>
				KeysetPage.settle(retireApiKey(row)).pipe(span("retireApiKey")),
			resolveApiKey: (appId: TenantId, keyHash: string) =>
				KeysetPage.settle(resolveApiKey({ appId, keyHash })).pipe(span("resolveApiKey")),
			touchApiKeys: (appId: TenantId, ids: ReadonlyArray<ApiKeyId>) =>
				KeysetPage.settle(touchApiKeys({ appId, ids })).pipe(span("touchApiKeys")),
			revokeAllApiKeys: (appId: TenantId, userId: UserId) =>
				KeysetPage.settle(revokeAllApiKeys({ appId, userId })).pipe(span("revokeAllApiKeys")),
			maxSessions: (appId: TenantId) => KeysetPage.settle(maxSessions(appId)).pipe(span("maxSessions")),
		} as const
	}),
}) {}

// --- [EXPORT]

export { IdentityRepo }
