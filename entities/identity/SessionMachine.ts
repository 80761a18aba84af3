// One session's lifecycle as a Machine: absent → active (or mfa_pending → active) → revoked | expired. Terminal states
// accept nothing: a second revoke is InvalidTransition, never a silent success. Each transition is written with its
// audit row in one transaction (compare-and-set on the status), then announced to every gateway, then answered.
import { Machine } from "@effect/experimental"
import { DateTime, Effect, Match, Option, Schema } from "effect"
import type { AuditOperation } from "../AuditLog.ts"
import { Cache } from "../../platform/Cache.ts"
import { RequestMeta } from "../../platform/RequestContext.ts"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { announceChanged, announceRevoked } from "./CredentialRevocation.ts"
import { Session, SessionEndReason, SessionId, type SessionStatus, SessionStatuses } from "./IdentityModel.ts"
import { IdentityRepo } from "./IdentityRepo.ts"
import { InvalidTransition } from "../InvalidTransition.ts"
import { Lifecycle } from "../Lifecycle.ts"
import type { TenantId } from "../Tenancy.ts"
import { UserId } from "./UserModel.ts"

// --- [CONSTANTS]

const SessionOperation = Schema.Literal("open", "challenge", "verify", "revoke", "expire")

// Which statuses each operation leaves from and where it goes; "absent" is a session not yet written. How a session
// ends decides its audit operation (EndAudit), not the table.
const SessionLifecycle = Lifecycle.table({
	subject: "session",
	states: Schema.Literal("absent", ...SessionStatuses),
	operations: SessionOperation,
	rows: {
		open: { from: ["absent"], to: "active", audit: "login" },
		challenge: { from: ["absent"], to: "mfa_pending", audit: "login" },
		verify: { from: ["mfa_pending"], to: "active", audit: "login" },
		revoke: { from: ["mfa_pending", "active"], to: "revoked", audit: "revoke" },
		expire: { from: ["mfa_pending", "active"], to: "expired", audit: "revoke" },
	},
})

// The audit operation of each way a session ends.
const EndAudit: Record<SessionEndReason, AuditOperation> = {
	logout: "logout",
	revoked: "revoke",
	evicted: "evict",
	deactivated: "deactivate",
	idle: "revoke",
	lifetime: "revoke",
}

// --- [SCHEMA]

const AbsentSession = Schema.TaggedStruct("Absent", {})
const StoredSession = Schema.TaggedStruct("Stored", { session: Session })
const SessionState = Schema.Union(AbsentSession, StoredSession)
type SessionState = typeof SessionState.Type

class OpenSession extends Schema.TaggedRequest<OpenSession>()("OpenSession", {
	failure: Schema.Union(InvalidTransition, StorageUnavailable),
	success: Session,
	payload: {
		userId: UserId,
		tokenHash: Schema.String,
		provider: Schema.NullOr(Schema.String),
		lifetimeSeconds: Schema.Number,
		// Opened waiting for a second factor (mfa_pending) instead of active.
		pending: Schema.Boolean,
		meta: RequestMeta,
	},
}) {}

// The second factor done: mfa_pending → active; gateways drop their cached copy of the credential.
class VerifySession extends Schema.TaggedRequest<VerifySession>()("VerifySession", {
	failure: Schema.Union(InvalidTransition, StorageUnavailable),
	success: Session,
	payload: { meta: RequestMeta },
}) {}

class EndSession extends Schema.TaggedRequest<EndSession>()("EndSession", {
	failure: Schema.Union(InvalidTransition, StorageUnavailable),
	success: Session,
	payload: { operation: Schema.Literal("revoke", "expire"), reason: SessionEndReason, meta: RequestMeta },
}) {}

// --- [FUNCTIONS]

const statusOf = (state: SessionState): SessionStatus | "absent" =>
	Match.valueTags(state, { Absent: () => "absent" as const, Stored: ({ session }) => session.status })

// --- [SERVICES]

const SessionMachine = Lifecycle.machine<SessionState, { readonly tenantId: TenantId; readonly sessionId: SessionId }>({
	name: "Session",
	initial: { _tag: "Absent" },
	key: (input) => `${input.tenantId}/${input.sessionId}`,
})(({ tenantId, sessionId }, empty) =>
	Effect.gen(function* () {
		const repo = yield* IdentityRepo
		const cache = yield* Cache
		const commit = yield* Lifecycle.committer
		const audited = (
			write: Effect.Effect<Session, StorageUnavailable>,
			operation: AuditOperation,
			meta: RequestMeta,
			details: Record<string, unknown>,
			announce?: (session: Session) => Effect.Effect<void>,
		) =>
			commit({
				write,
				audit: (session) =>
					Option.some({
						appId: tenantId,
						actor: `user:${session.userId}`,
						operation,
						subjectType: "session",
						subjectId: session.id,
					}),
				details: () => details,
				meta,
				...(announce === undefined ? {} : { announce }),
			})
		return empty.pipe(
			Machine.procedures.add<OpenSession>()("OpenSession", ({ request, state }) =>
				SessionLifecycle.allow(statusOf(state), request.pending ? "challenge" : "open").pipe(
					Effect.zipRight(DateTime.now),
					Effect.flatMap((now) =>
						audited(
							repo.insertSession({
								id: sessionId,
								appId: tenantId,
								userId: request.userId,
								tokenHash: request.tokenHash,
								status: request.pending ? "mfa_pending" : "active",
								provider: request.provider,
								ipAddress: request.meta.ip,
								userAgent: request.meta.userAgent,
								expiresAt: DateTime.addDuration(now, `${request.lifetimeSeconds} seconds`),
							}),
							"login",
							request.meta,
							{ provider: request.provider, ...(request.pending ? { mfa: "pending" } : {}) },
						),
					),
					Effect.map((session) => [session, { _tag: "Stored", session } as const] as const),
				),
			),
			Machine.procedures.add<VerifySession>()("VerifySession", ({ request, state }) =>
				SessionLifecycle.allow(statusOf(state), "verify").pipe(
					Effect.flatMap(() =>
						audited(
							repo.activateSession(tenantId, sessionId).pipe(
								Effect.flatMap(
									Option.match({
										onNone: () =>
											Effect.dieMessage(`session ${sessionId} changed outside its entity`),
										onSome: Effect.succeed,
									}),
								),
							),
							"sign",
							request.meta,
							{ mfa: "verified" },
							(session) =>
								announceChanged(tenantId, [session.tokenHash]).pipe(
									Effect.provideService(Cache, cache),
								),
						),
					),
					Effect.map((session) => [session, { _tag: "Stored", session } as const] as const),
				),
			),
			Machine.procedures.add<EndSession>()("EndSession", ({ request, state }) =>
				SessionLifecycle.allow(statusOf(state), request.operation).pipe(
					Effect.flatMap(() =>
						audited(
							repo
								.endSession({
									appId: tenantId,
									id: sessionId,
									from: SessionLifecycle.rows[request.operation].from,
									to: SessionLifecycle.rows[request.operation].to,
									reason: request.reason,
								})
								.pipe(
									// The row left the live statuses behind this machine's back: a bug, not an answer.
									Effect.flatMap(
										Option.match({
											onNone: () =>
												Effect.dieMessage(`session ${sessionId} changed outside its entity`),
											onSome: Effect.succeed,
										}),
									),
								),
							EndAudit[request.reason],
							request.meta,
							{ reason: request.reason },
							(session) =>
								announceRevoked(tenantId, [session.tokenHash]).pipe(
									Effect.provideService(Cache, cache),
								),
						),
					),
					Effect.map((session) => [session, { _tag: "Stored", session } as const] as const),
				),
			),
		)
	}),
)

// --- [EXPORT]

export { EndSession, OpenSession, SessionLifecycle, SessionMachine, SessionState, VerifySession }
