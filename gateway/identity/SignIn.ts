// The two steps of a sign-in, shared by the OAuth callback and the PKCE hand-off's token exchange: the user behind a
// verified identity (opened on first sign-in), then a new session whose token is minted here. The token leaves this
// process only in the response; only its hash goes to the entity.
import { Effect } from "effect"
import { CredentialDirectory } from "../../entities/identity/CredentialDirectoryProtocol.ts"
import { SessionTokenPrefix, type SessionId } from "../../entities/identity/IdentityModel.ts"
import { entityId, type TenantId } from "../../entities/Tenancy.ts"
import { UserId } from "../../entities/identity/UserModel.ts"
import { UserSessions, type VerifiedClaims } from "../../entities/identity/UserSessionsProtocol.ts"
import { deterministicId } from "../../platform/DeterministicId.ts"
import { SecretToken } from "../../platform/SecretToken.ts"
import { Credentials } from "./Credentials.ts"
import { callEntity } from "../EntityCall.ts"

// --- [FUNCTIONS]

const openUser = (tenantId: TenantId, claims: VerifiedClaims) =>
	Effect.gen(function* () {
		const directory = yield* CredentialDirectory.client
		const users = yield* UserSessions.client
		const found = yield* callEntity(
			directory(tenantId).FindIdentity({ provider: claims.provider, subject: claims.subject }),
		)
		const userId = found ?? UserId.make(deterministicId("user", tenantId, claims.provider, claims.subject))
		const user = yield* callEntity(users(entityId(tenantId, userId)).Open({ claims }))
		return { userId, user }
	})

// `mfaSatisfied`: the sign-in proved a second factor itself (a passkey); otherwise the entity may open the session
// mfa_pending, per the tenant's MFA policy.
const openSession = (tenantId: TenantId, userId: UserId, provider: string, mfaSatisfied = false) =>
	Effect.gen(function* () {
		const users = yield* UserSessions.client
		const credentials = yield* Credentials
		const minted = SecretToken.mint(SessionTokenPrefix)
		const created = yield* callEntity(
			users(entityId(tenantId, userId)).CreateSession({
				sessionId: crypto.randomUUID() as SessionId,
				tokenHash: minted.hash,
				provider,
				mfaSatisfied,
			}),
		)
		yield* credentials.revoked(tenantId, created.revoked)
		return { token: minted.token, session: created.session }
	})

// --- [EXPORT]

const SignIn = { openSession, openUser } as const

export { SignIn }
