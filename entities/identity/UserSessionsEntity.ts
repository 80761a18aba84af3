// Handlers of UserSessions (one instance per `<tenantId>/<userId>`, single-threaded: the one writer of this user's
// sessions, keys, identities and profile, so the session cap cannot be raced). Session machines are restored from
// Postgres on demand, so passivation or failover loses nothing. Rows are answered as they are: the reply schemas are
// the Models' json variants, which leave hashes and bookkeeping columns out.
import { PgClient } from "@effect/sql-pg"
import { Array, DateTime, Duration, Effect, Option, Schema } from "effect"
import { AuditLog, type AuditOperation } from "../AuditLog.ts"
import { RequestContextHeaders, type RequestMeta } from "../../platform/RequestContext.ts"
import { orStorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { announceChanged, announceRevoked } from "./CredentialRevocation.ts"
import type { ApiKeyId, Session, SessionEndReason, SessionId } from "./IdentityModel.ts"
import { IdentityRepo } from "./IdentityRepo.ts"
import { Lifecycle } from "../Lifecycle.ts"
import { EndSession, OpenSession, SessionMachine, type SessionState, VerifySession } from "./SessionMachine.ts"
import { SessionPolicy } from "./SessionConfig.ts"
import { TenantId } from "../Tenancy.ts"
import { UserId } from "./UserModel.ts"
import type { PasskeyRow } from "./PasskeyModel.ts"
import { PasskeyRepo } from "./PasskeyRepo.ts"
import { WebAuthnCeremony } from "./WebAuthnCeremony.ts"
import { RelyingPartyRepo } from "../tenant/RelyingPartyRepo.ts"
import type { AuthenticationResponse, Ceremony } from "./PasskeyModel.ts"
import {
	ApiKeyNotFound,
	IdentityNotFound,
	IdentityTaken,
	LastFactor,
	LastIdentity,
	PasskeyNotFound,
	PasskeyVerificationFailed,
	SessionNotFound,
	UserDeactivated,
	UserNotFound,
	UserSessions,
	type VerifiedClaims,
} from "./UserSessionsProtocol.ts"

// --- [SCHEMA]

const UserAddress = Schema.TemplateLiteralParser(TenantId, "/", UserId)

// --- [FUNCTIONS]

const metaOf = (request: { readonly headers: Parameters<typeof RequestContextHeaders.fromHeaders>[0] }) =>
	RequestContextHeaders.fromHeaders(request.headers)

// --- [LAYERS]

const UserSessionsLive = UserSessions.toLayer(
	Effect.gen(function* () {
		const [tenantId, , userId] = yield* Lifecycle.address(UserAddress)
		const repo = yield* IdentityRepo
		const sql = yield* PgClient.PgClient
		const config = yield* SessionPolicy
		const passkeys = yield* PasskeyRepo
		const relyingParties = yield* RelyingPartyRepo
		// Whether a new session must wait for a second factor: the tenant asks for MFA and the user has a passkey
		// (or the tenant requires one, so the session may only enroll it).
		const needsMfa = Effect.all([relyingParties.find(tenantId), repo.hasPasskey(tenantId, userId)]).pipe(
			Effect.map(([party, hasPasskey]) =>
				Option.match(party, {
					onNone: () => false,
					onSome: (found) => found.mfa === "required" || (found.mfa === "optional" && hasPasskey),
				}),
			),
		)
		const viewOfPasskey = (row: PasskeyRow) => ({
			id: row.id,
			name: row.name,
			createdAt: row.createdAt,
			lastUsedAt: row.lastUsedAt,
			backedUp: row.backedUp,
			transports: row.transports,
		})
		const passkeyNotFound = () => new PasskeyNotFound({ message: "passkey not found" })
		const verificationFailed = () => new PasskeyVerificationFailed({ message: "the passkey could not be verified" })
		const sessions = yield* Lifecycle.actors(SessionMachine)
		// The machine of one session, booted once per entity instance from what Postgres holds.
		const sendTo = (sessionId: SessionId, stored: Option.Option<Session>) =>
			Lifecycle.sendVia(
				sessions,
				sessionId,
				{ tenantId, sessionId },
				Lifecycle.stored(Effect.succeed(stored), { _tag: "Absent" }, (session): SessionState => ({
					_tag: "Stored",
					session,
				})),
			)
		// An ended session accepts nothing more: its machine is let go. A caller that names the session may meet it
		// ended already (InvalidTransition, 409).
		const endNamed = (
			session: Session,
			operation: "revoke" | "expire",
			reason: SessionEndReason,
			meta: RequestMeta,
		) =>
			sendTo(
				session.id,
				Option.some(session),
			)(new EndSession({ operation, reason, meta })).pipe(Effect.tap(() => sessions.forget(session.id)))
		// This entity is the sessions' single writer: a session it picked as live (to evict, expire, end them all) or
		// a fresh id it opens cannot be in the wrong state, so InvalidTransition there is a defect, kept out of every
		// other request's errors.
		const end = (session: Session, operation: "revoke" | "expire", reason: SessionEndReason, meta: RequestMeta) =>
			endNamed(session, operation, reason, meta).pipe(Effect.catchTag("InvalidTransition", Effect.die))
		const audited = (
			operation: AuditOperation,
			subjectType: string,
			subjectId: string,
			meta: RequestMeta,
			details: Record<string, unknown> = {},
		) =>
			AuditLog.recordFor(meta, {
				appId: tenantId,
				actor: `user:${userId}`,
				operation,
				subjectType,
				subjectId,
				details,
			}).pipe(Effect.provideService(PgClient.PgClient, sql))
		const user = repo.findUser(tenantId, userId).pipe(
			Effect.flatMap(
				Option.match({
					onNone: () => Effect.fail(new UserNotFound({ message: "user not found" })),
					onSome: Effect.succeed,
				}),
			),
		)
		const activeUser = user.pipe(
			Effect.filterOrFail(
				(row) => row.status === "active",
				() => new UserDeactivated({ message: "the user is deactivated" }),
			),
		)
		// The user's live sessions, oldest use first; those past a deadline are expired on the way.
		const live = (meta: RequestMeta) =>
			Effect.gen(function* () {
				const now = yield* DateTime.now
				const rows = yield* repo.liveSessions(tenantId, userId)
				const idleCutoff = DateTime.subtractDuration(now, config.idleTimeout)
				const [fresh, stale] = Array.partition(
					rows,
					(row) =>
						DateTime.lessThanOrEqualTo(row.expiresAt, now) ||
						DateTime.lessThanOrEqualTo(row.lastUsedAt, idleCutoff),
				)
				yield* Effect.forEach(stale, (row) =>
					end(row, "expire", DateTime.lessThanOrEqualTo(row.expiresAt, now) ? "lifetime" : "idle", meta),
				)
				return fresh
			})
		const endAll = (reason: SessionEndReason, except: SessionId | null, meta: RequestMeta) =>
			live(meta).pipe(
				Effect.flatMap((rows) =>
					Effect.forEach(
						rows.filter((row) => row.id !== except),
						(row) => end(row, "revoke", reason, meta),
					),
				),
			)
		const keyOf = (keyId: ApiKeyId) =>
			repo.findApiKey(tenantId, userId, keyId).pipe(
				Effect.flatMap(
					Option.match({
						onNone: () => Effect.fail(new ApiKeyNotFound({ message: "API key not found" })),
						onSome: Effect.succeed,
					}),
				),
			)
		// Links a provider identity to this user: new, or already this user's. Another user's (or a second identity of
		// a provider this user already has) is IdentityTaken.
		const claim = (claims: VerifiedClaims) =>
			repo
				.insertIdentity({
					appId: tenantId,
					userId,
					provider: claims.provider,
					subject: claims.subject,
					email: claims.email,
				})
				.pipe(
					Effect.flatMap(
						Option.match({
							onSome: (identity) => Effect.succeed({ identity, created: true }),
							onNone: () =>
								repo.findIdentity(tenantId, claims.provider, claims.subject).pipe(
									Effect.flatMap((owner) =>
										Option.match(
											Option.filter(owner, (identity) => identity.userId === userId),
											{
												onSome: (identity) => Effect.succeed({ identity, created: false }),
												onNone: () =>
													Effect.fail(
														new IdentityTaken({
															message: `this ${claims.provider} identity belongs to another user, or this user already has one of that provider`,
														}),
													),
											},
										),
									),
								),
						}),
					),
				)
		const span = (name: string) => Telemetry.span(`UserSessions.${name}`, { tenantId, userId })
		// A change and its audit row (with its event, AuditLog.record) commit together or not at all.
		const atomically = <A, E, R>(change: Effect.Effect<A, E, R>) =>
			orStorageUnavailable(sql.withTransaction(change))
		// A second factor proved (`prove`), then the named session, if it waits for one, becomes active.
		const completeMfa = <E>(
			sessionId: SessionId,
			meta: RequestMeta,
			prove: (meta: RequestMeta) => Effect.Effect<unknown, E>,
		) =>
			Effect.gen(function* () {
				yield* activeUser
				const rows = yield* live(meta)
				const session = yield* Option.fromNullable(rows.find((row) => row.id === sessionId)).pipe(
					Effect.mapError(() => new SessionNotFound({ message: "session not found" })),
				)
				yield* prove(meta)
				const verified =
					session.status === "mfa_pending"
						? yield* sendTo(
								session.id,
								Option.some(session),
							)(new VerifySession({ meta })).pipe(Effect.catchTag("InvalidTransition", Effect.die))
						: session
				return { session: verified, changed: session.status === "mfa_pending" ? [session.tokenHash] : [] }
			})
		// An assertion by one of this user's passkeys: the counter moves, or a regression marks the passkey cloned.
		const assertPasskey = (ceremony: Ceremony, response: typeof AuthenticationResponse.Type, meta: RequestMeta) =>
			Effect.gen(function* () {
				const rows = yield* passkeys.list(tenantId, userId)
				// Only this user's own, not cloned passkeys count: another user's or tenant's credential is unknown here.
				const row = yield* Option.fromNullable(
					rows.find((found) => found.credentialId === response.id && !found.cloned),
				).pipe(Effect.mapError(verificationFailed))
				const info = yield* WebAuthnCeremony.assert(ceremony, response, row)
				// A counter that went backwards: a copy of the key signs elsewhere. The passkey is refused from now on.
				const cloned = passkeys.markCloned(row).pipe(
					Effect.zipRight(
						audited("disable", "passkey", row.id, meta, {
							reason: "cloned",
							storedCounter: row.counter,
							receivedCounter: info.newCounter,
						}),
					),
					atomically,
					Effect.zipRight(Effect.fail(verificationFailed())),
				)
				const updated = yield* WebAuthnCeremony.regressed(row.counter, info.newCounter)
					? cloned
					: passkeys.used(row, info.newCounter, info.credentialBackedUp).pipe(
							Effect.flatMap(
								Option.match({
									onNone: () => Effect.fail(verificationFailed()),
									onSome: Effect.succeed,
								}),
							),
							Effect.tap((used) => audited("sign", "passkey", used.id, meta)),
							atomically,
						)
				return viewOfPasskey(updated)
			})

		return {
			Open: (request) =>
				Effect.gen(function* () {
					const meta = metaOf(request)
					const { claims } = request.payload
					const row = yield* repo.insertUser({
						appId: tenantId,
						id: userId,
						email: claims.emailVerified ? claims.email : null,
						emailVerified: claims.emailVerified && claims.email !== null,
						displayName: claims.name,
					})
					yield* Effect.filterOrFail(
						Effect.succeed(row),
						(stored) => stored.status === "active",
						() => new UserDeactivated({ message: "the user is deactivated" }),
					)
					const { created } = yield* claim(claims)
					yield* Effect.when(
						audited("create", "user", userId, meta, { provider: claims.provider }),
						() => created,
					)
					return row
				}).pipe(atomically, span("Open")),
			CreateSession: (request) =>
				Effect.gen(function* () {
					const meta = metaOf(request)
					yield* activeUser
					const cap = yield* repo.maxSessions(tenantId).pipe(
						Effect.map((found) =>
							Option.getOrElse(
								Option.flatMap(found, (row) => Option.fromNullable(row.maxSessions)),
								() => config.maxPerUser,
							),
						),
					)
					const existing = yield* live(meta)
					const pending = request.payload.mfaSatisfied ? false : yield* needsMfa
					const created = yield* sendTo(
						request.payload.sessionId,
						Option.none(),
					)(
						new OpenSession({
							userId,
							tokenHash: request.payload.tokenHash,
							provider: request.payload.provider,
							lifetimeSeconds: Duration.toSeconds(config.lifetime),
							pending,
							meta,
						}),
					).pipe(Effect.catchTag("InvalidTransition", Effect.die))
					// Least recently used first: keep the newest `cap - 1` others beside the new session.
					const others = existing.filter((row) => row.id !== created.id)
					const evicted = yield* Effect.forEach(
						others.slice(0, Math.max(0, others.length - (cap - 1))),
						(row) => end(row, "revoke", "evicted", meta),
					)
					return { session: created, revoked: evicted.map((row) => row.tokenHash) }
				}).pipe(span("CreateSession")),
			ListSessions: (request) =>
				user.pipe(Effect.zipRight(live(metaOf(request))), Effect.map(Array.reverse), span("ListSessions")),
			RevokeSession: (request) =>
				Effect.gen(function* () {
					const meta = metaOf(request)
					const rows = yield* live(meta)
					const session = yield* Option.fromNullable(
						rows.find((row) => row.id === request.payload.sessionId),
					).pipe(Effect.mapError(() => new SessionNotFound({ message: "session not found" })))
					const ended = yield* endNamed(session, "revoke", request.payload.reason, meta)
					return { session: ended, revoked: [ended.tokenHash] }
				}).pipe(span("RevokeSession")),
			RevokeSessions: (request) =>
				user.pipe(
					Effect.zipRight(endAll("revoked", request.payload.except, metaOf(request))),
					Effect.map((ended) => ({ count: ended.length, revoked: ended.map((row) => row.tokenHash) })),
					span("RevokeSessions"),
				),
			GetUser: () => user.pipe(span("GetUser")),
			UpdateUser: (request) =>
				Effect.gen(function* () {
					const current = yield* activeUser
					const email = request.payload.email === undefined ? current.email : request.payload.email
					const updated = yield* repo.updateUser({
						appId: tenantId,
						id: userId,
						status: current.status,
						// The provider's verified address set again stays the verified one (as the provider spelled it);
						// any other address the user types is theirs to show, never verified.
						email:
							current.emailVerified && email?.toLowerCase() === current.email?.toLowerCase()
								? current.email
								: email,
						emailVerified: current.emailVerified && email?.toLowerCase() === current.email?.toLowerCase(),
						displayName:
							request.payload.displayName === undefined
								? current.displayName
								: request.payload.displayName,
					})
					yield* audited("update", "user", userId, metaOf(request), {
						fields: Object.keys(request.payload).filter((key) => key === "email" || key === "displayName"),
					})
					return updated
				}).pipe(atomically, span("UpdateUser")),
			// The sessions end first (each through its machine, with its own audited commit); the user's status, its
			// keys and the audit row of the deactivation then commit together, and gateways hear of the keys after.
			Deactivate: (request) =>
				Effect.gen(function* () {
					const meta = metaOf(request)
					const current = yield* activeUser
					const sessions = yield* endAll("deactivated", null, meta)
					const { updated, keys } = yield* Effect.gen(function* () {
						const user = yield* repo.updateUser({
							appId: tenantId,
							id: userId,
							status: "deactivated",
							email: current.email,
							emailVerified: current.emailVerified,
							displayName: current.displayName,
						})
						const revoked = yield* repo.revokeAllApiKeys(tenantId, userId)
						yield* audited("deactivate", "user", userId, meta, {
							sessions: sessions.length,
							apiKeys: revoked.length,
						})
						return { updated: user, keys: revoked }
					}).pipe(atomically)
					yield* announceRevoked(
						tenantId,
						keys.map((key) => key.keyHash),
					)
					return {
						user: updated,
						sessionsRevoked: sessions.length,
						apiKeysRevoked: keys.length,
						revoked: [...sessions.map((row) => row.tokenHash), ...keys.map((key) => key.keyHash)],
					}
				}).pipe(span("Deactivate")),
			ListIdentities: () =>
				activeUser.pipe(Effect.zipRight(repo.listIdentities(tenantId, userId)), span("ListIdentities")),
			LinkIdentity: (request) =>
				Effect.gen(function* () {
					yield* activeUser
					const { claims } = request.payload
					const { identity, created } = yield* claim(claims)
					yield* Effect.when(
						audited("link", "identity", `${userId}/${identity.provider}`, metaOf(request)),
						() => created,
					)
					return identity
				}).pipe(atomically, span("LinkIdentity")),
			UnlinkIdentity: (request) =>
				Effect.gen(function* () {
					yield* activeUser
					const identities = yield* repo.listIdentities(tenantId, userId)
					yield* Effect.filterOrFail(
						Effect.succeed(identities),
						(rows) => rows.some((row) => row.provider === request.payload.provider),
						() => new IdentityNotFound({ message: `no linked identity of '${request.payload.provider}'` }),
					)
					yield* Effect.filterOrFail(
						Effect.succeed(identities),
						(rows) => rows.length > 1,
						() =>
							new LastIdentity({
								message: "the last identity cannot be unlinked: it is the only way to sign in",
							}),
					)
					const removed = yield* repo.deleteIdentity(tenantId, userId, request.payload.provider).pipe(
						Effect.flatMap(
							Option.match({
								onNone: () => Effect.dieMessage("identity vanished"),
								onSome: Effect.succeed,
							}),
						),
					)
					yield* audited("unlink", "identity", `${userId}/${removed.provider}`, metaOf(request))
					return removed
				}).pipe(atomically, span("UnlinkIdentity")),
			CreateApiKey: (request) =>
				Effect.gen(function* () {
					yield* activeUser
					const row = yield* repo.insertApiKey({
						id: request.payload.keyId,
						appId: tenantId,
						userId,
						name: request.payload.name,
						prefix: request.payload.prefix,
						keyHash: request.payload.keyHash,
						expiresAt: request.payload.expiresAt,
					})
					yield* audited("create", "api_key", row.id, metaOf(request), { name: row.name, prefix: row.prefix })
					return row
				}).pipe(atomically, span("CreateApiKey")),
			ListApiKeys: () =>
				activeUser.pipe(Effect.zipRight(repo.listApiKeys(tenantId, userId)), span("ListApiKeys")),
			RotateApiKey: (request) =>
				Effect.gen(function* () {
					yield* activeUser
					const old = yield* keyOf(request.payload.keyId)
					const created = yield* Effect.gen(function* () {
						const retired = yield* repo.retireApiKey({
							appId: tenantId,
							userId,
							id: old.id,
							replacedBy: request.payload.newKeyId,
							graceSeconds: request.payload.gracePeriodSeconds,
						})
						yield* Effect.mapError(
							retired,
							() => new ApiKeyNotFound({ message: "API key not found or no longer active" }),
						)
						const inserted = yield* repo.insertApiKey({
							id: request.payload.newKeyId,
							appId: tenantId,
							userId,
							name: old.name,
							prefix: request.payload.prefix,
							keyHash: request.payload.keyHash,
							expiresAt: old.expiresAt,
						})
						yield* audited("rotate", "api_key", old.id, metaOf(request), {
							replacedBy: inserted.id,
							gracePeriodSeconds: request.payload.gracePeriodSeconds,
						})
						return inserted
					}).pipe(atomically)
					// Cached copies of the old key carry its old expiry: drop them (once committed) so the grace
					// deadline applies.
					yield* announceChanged(tenantId, [old.keyHash])
					return { key: created, changed: [old.keyHash] }
				}).pipe(span("RotateApiKey")),
			RevokeApiKey: (request) =>
				Effect.gen(function* () {
					yield* activeUser
					yield* keyOf(request.payload.keyId)
					const revoked = yield* repo.revokeApiKey(tenantId, userId, request.payload.keyId).pipe(
						Effect.flatMap(
							Option.match({
								onNone: () => Effect.fail(new ApiKeyNotFound({ message: "API key already revoked" })),
								onSome: Effect.succeed,
							}),
						),
						Effect.tap((key) => audited("revoke", "api_key", key.id, metaOf(request))),
						atomically,
					)
					yield* announceRevoked(tenantId, [revoked.keyHash])
					return { key: revoked, revoked: [revoked.keyHash] }
				}).pipe(span("RevokeApiKey")),
			ListPasskeys: () =>
				user.pipe(
					Effect.zipRight(passkeys.list(tenantId, userId)),
					Effect.map((rows) =>
						rows.map((row) => ({
							...viewOfPasskey(row),
							credentialId: row.credentialId,
							cloned: row.cloned,
						})),
					),
					span("ListPasskeys"),
				),
			RegisterPasskey: (request) =>
				Effect.gen(function* () {
					yield* activeUser
					const { ceremony, response } = request.payload
					const info = yield* WebAuthnCeremony.register(ceremony, response)
					// A credential id is unique per tenant: registering one twice (or another user's) is refused.
					const row = yield* passkeys
						.insert({
							id: request.payload.passkeyId,
							appId: tenantId,
							userId,
							credentialId: info.credential.id,
							publicKey: info.credential.publicKey,
							counter: info.credential.counter,
							transports: response.response.transports ?? [],
							backedUp: info.credentialBackedUp,
							aaguid: info.aaguid,
							name: request.payload.name,
						})
						.pipe(
							Effect.flatMap(
								Option.match({
									onNone: () => Effect.fail(verificationFailed()),
									onSome: Effect.succeed,
								}),
							),
							Effect.tap((inserted) =>
								audited("enroll", "passkey", inserted.id, metaOf(request), { aaguid: inserted.aaguid }),
							),
							atomically,
						)
					// Sessions that could only enroll a passkey now have one to verify: their principals change.
					const enrolling = (yield* live(metaOf(request)))
						.filter((session) => session.status === "mfa_pending")
						.map((session) => session.tokenHash)
					yield* announceChanged(tenantId, enrolling)
					return { passkey: viewOfPasskey(row), changed: enrolling }
				}).pipe(span("RegisterPasskey")),
			RenamePasskey: (request) =>
				activeUser.pipe(
					Effect.zipRight(passkeys.rename(tenantId, userId, request.payload.passkeyId, request.payload.name)),
					Effect.flatMap(
						Option.match({ onNone: () => Effect.fail(passkeyNotFound()), onSome: Effect.succeed }),
					),
					Effect.tap((row) => audited("update", "passkey", row.id, metaOf(request))),
					atomically,
					Effect.map(viewOfPasskey),
					span("RenamePasskey"),
				),
			DeletePasskey: (request) =>
				Effect.gen(function* () {
					yield* activeUser
					const rows = yield* passkeys.list(tenantId, userId)
					const target = yield* Option.fromNullable(
						rows.find((row) => row.id === request.payload.passkeyId),
					).pipe(Effect.mapError(passkeyNotFound))
					const usable = rows.filter((row) => !row.cloned && row.id !== target.id)
					yield* Effect.when(
						Effect.fail(
							new LastFactor({ message: "the tenant requires MFA and this is your last passkey" }),
						),
						() => request.payload.mfaRequired && !target.cloned && usable.length === 0,
					)
					const removed = yield* passkeys.remove(tenantId, userId, target.id).pipe(
						Effect.flatMap(
							Option.match({ onNone: () => Effect.fail(passkeyNotFound()), onSome: Effect.succeed }),
						),
						Effect.tap((gone) =>
							audited("disable", "passkey", gone.id, metaOf(request), { deleted: true }),
						),
						atomically,
					)
					// Sessions waiting for a second factor may now have none left to verify: gateways look them up again.
					const waiting = (yield* live(metaOf(request)))
						.filter((session) => session.status === "mfa_pending")
						.map((session) => session.tokenHash)
					yield* announceChanged(tenantId, waiting)
					return { passkey: viewOfPasskey(removed), changed: waiting }
				}).pipe(span("DeletePasskey")),
			VerifyPasskey: (request) =>
				activeUser.pipe(
					Effect.zipRight(assertPasskey(request.payload.ceremony, request.payload.response, metaOf(request))),
					span("VerifyPasskey"),
				),
			CompleteMfa: (request) =>
				completeMfa(request.payload.sessionId, metaOf(request), (meta) =>
					assertPasskey(request.payload.ceremony, request.payload.response, meta),
				).pipe(span("CompleteMfa")),
			UseRecoveryCode: (request) =>
				completeMfa(request.payload.sessionId, metaOf(request), (meta) =>
					passkeys.useRecoveryCode(tenantId, userId, request.payload.codeHash).pipe(
						Effect.flatMap(
							Option.match({ onNone: () => Effect.fail(verificationFailed()), onSome: Effect.succeed }),
						),
						Effect.tap(() => audited("sign", "recovery_code", userId, meta)),
						atomically,
					),
				).pipe(span("UseRecoveryCode")),
			RegenerateRecoveryCodes: (request) =>
				activeUser.pipe(
					Effect.zipRight(passkeys.replaceRecoveryCodes(tenantId, userId, request.payload.hashes)),
					Effect.tap(() => audited("rotate", "recovery_codes", userId, metaOf(request))),
					atomically,
					Effect.as({ count: request.payload.hashes.length }),
					span("RegenerateRecoveryCodes"),
				),
		}
	}),
	{ maxIdleTime: "2 minutes" },
)

// --- [EXPORT]

export { UserSessionsLive }
