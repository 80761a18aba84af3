// Handlers of the passkey routes. The gateway issues and takes the challenges (shared through the cache service, so a
// ceremony may start on one gateway and end on another) and asks the tenant's relying party; the user's UserSessions
// entity verifies the answer (with the public key and counter it owns) and writes. A passkey sign-in ends like an
// OAuth one: a session opened by SignIn.openSession (cap, audit) and the session cookie.
import { HttpApiBuilder } from "@effect/platform"
import { generateAuthenticationOptions, generateRegistrationOptions } from "@simplewebauthn/server"
import { createHash, randomBytes } from "node:crypto"
import { DateTime, Effect, Option, Redacted, Schema } from "effect"
import { PasskeyVerificationFailed, UserSessions } from "../../entities/identity/UserSessionsProtocol.ts"
import { UserId } from "../../entities/identity/UserModel.ts"
import { entityId, type TenantId } from "../../entities/Tenancy.ts"
import { Tenant } from "../../entities/tenant/TenantProtocol.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Api } from "../Api.ts"
import { callEntity } from "../EntityCall.ts"
import { byId, pageOf } from "../ListPage.ts"
import { CurrentTenant } from "../tenant/TenantMiddleware.ts"
import { CookieOptions, setCookie } from "./AuthCookies.ts"
import { Credentials } from "./Credentials.ts"
import { noStore } from "../NoStore.ts"
import { RateLimiter } from "../RateLimiter.ts"
import type { SessionId } from "../../entities/identity/IdentityModel.ts"
import { StepUp } from "./StepUp.ts"
import { PasskeyChallenges } from "./PasskeyChallenges.ts"
import { SessionCookieName } from "./PrincipalMiddleware.ts"
import { CreationOptions, RequestOptions } from "./PasskeysApi.ts"
import { SignIn } from "./SignIn.ts"
import { currentSession, withUser } from "./UserCalls.ts"

// --- [SCHEMA]

// A discoverable credential's user handle is the user id's UTF-8 bytes (set at registration).
const UserHandle = Schema.StringFromBase64Url.pipe(Schema.compose(UserId))

// --- [FUNCTIONS]

// Recovery codes: 80 random bits as four groups of five hex digits; stored as the SHA-256 of the code normalised
// (lower case, without separators), so `ABCDE-…` and `abcde…` are the same code.
const RecoveryCode = {
	mint: () => randomBytes(10).toString("hex").match(/.{5}/g)?.join("-") ?? "",
	hash: (code: string) =>
		createHash("sha256")
			.update(code.toLowerCase().replace(/[^0-9a-f]/g, ""))
			.digest("hex"),
} as const

const failed = () => new PasskeyVerificationFailed({ message: "the passkey could not be verified" })

// --- [LAYERS]

const PasskeysHttpLive = HttpApiBuilder.group(Api, "passkeys", (handlers) =>
	Effect.gen(function* () {
		const tenants = yield* Tenant.client
		const credentials = yield* Credentials
		const partyOf = (tenantId: TenantId) => callEntity(tenants(tenantId).GetRelyingParty())
		const ceremonyOf = (party: Effect.Effect.Success<ReturnType<typeof partyOf>>, challenge: string) => ({
			rpId: party.rpId,
			origins: party.origins,
			requireUserVerification: party.userVerification === "required",
			challenge,
		})
		return handlers
			.handle("registrationOptions", () =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					const caller = yield* currentSession
					const party = yield* partyOf(tenant.id)
					const [user, existing] = yield* withUser((entity) =>
						Effect.all([entity.GetUser(), entity.ListPasskeys()], { concurrency: 2 }),
					)
					const challenge = yield* PasskeyChallenges.issue({
						purpose: "register",
						tenantId: tenant.id,
						userId: user.id,
						sessionId: caller.principal.credentialId,
					})
					return yield* Effect.promise(() =>
						generateRegistrationOptions({
							rpName: party.rpName,
							rpID: party.rpId,
							userName: user.email ?? user.displayName ?? user.id,
							userDisplayName: user.displayName ?? user.email ?? "",
							userID: new TextEncoder().encode(user.id),
							challenge: Buffer.from(challenge, "base64url"),
							attestationType: "none",
							excludeCredentials: existing.map((passkey) => ({
								id: passkey.credentialId,
								transports: [...passkey.transports],
							})),
							authenticatorSelection: {
								residentKey: "required",
								userVerification: party.userVerification,
							},
						}),
					).pipe(Effect.flatMap(Schema.decodeUnknown(CreationOptions)), Effect.orDie)
				}).pipe(Telemetry.span("PasskeysHttp.registrationOptions")),
			)
			.handle("register", ({ payload }) =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					const caller = yield* currentSession
					yield* StepUp.require
					const party = yield* partyOf(tenant.id)
					const challenge = yield* PasskeyChallenges.consume(payload.response.response.clientDataJSON, {
						purpose: "register",
						tenantId: tenant.id,
						userId: caller.principal.userId,
						sessionId: caller.principal.credentialId,
					})
					const registered = yield* withUser((entity) =>
						entity.RegisterPasskey({
							passkeyId: crypto.randomUUID() as never,
							name: payload.name ?? "Passkey",
							ceremony: ceremonyOf(party, challenge),
							response: payload.response,
						}),
					)
					yield* credentials.changed(tenant.id, registered.changed)
					return registered.passkey
				}).pipe(Telemetry.span("PasskeysHttp.register")),
			)
			.handle("recoveryCodes", () =>
				Effect.gen(function* () {
					yield* noStore
					yield* currentSession
					yield* StepUp.require
					const codes = Array.from({ length: 10 }, RecoveryCode.mint)
					yield* withUser((entity) =>
						entity.RegenerateRecoveryCodes({ hashes: codes.map(RecoveryCode.hash) }),
					)
					return { codes }
				}).pipe(Telemetry.span("PasskeysHttp.recoveryCodes")),
			)
			.handle("list", ({ urlParams }) =>
				withUser((entity) => entity.ListPasskeys()).pipe(
					Effect.map((records) =>
						pageOf(
							records.map(({ credentialId: _credentialId, cloned: _cloned, ...view }) => view),
							urlParams,
							byId,
						),
					),
					Telemetry.span("PasskeysHttp.list"),
				),
			)
			.handle("rename", ({ path, payload }) =>
				withUser((entity) => entity.RenamePasskey({ passkeyId: path.id, name: payload.name })).pipe(
					Telemetry.span("PasskeysHttp.rename"),
				),
			)
			.handle("delete", ({ path }) =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					yield* currentSession
					yield* StepUp.require
					const mfaRequired = yield* partyOf(tenant.id).pipe(
						Effect.map((party) => party.mfa === "required"),
						Effect.catchTag("WebAuthnNotConfigured", () => Effect.succeed(false)),
					)
					const deleted = yield* withUser((entity) =>
						entity.DeletePasskey({ passkeyId: path.id, mfaRequired }),
					)
					yield* credentials.changed(tenant.id, deleted.changed)
					return deleted.passkey
				}).pipe(Telemetry.span("PasskeysHttp.delete")),
			)
	}),
)

const PasskeyLoginHttpLive = HttpApiBuilder.group(Api, "passkeyLogin", (handlers) =>
	Effect.gen(function* () {
		const tenants = yield* Tenant.client
		const users = yield* UserSessions.client
		const limiter = yield* RateLimiter
		return (
			handlers
				// Anonymous: each challenge issued and each failed answer spends from the caller's anonymous bucket.
				.handle("loginOptions", () =>
					Effect.gen(function* () {
						yield* limiter.spend
						const tenant = yield* CurrentTenant
						const party = yield* callEntity(tenants(tenant.id).GetRelyingParty())
						const challenge = yield* PasskeyChallenges.issue({
							purpose: "login",
							tenantId: tenant.id,
							userId: null,
							sessionId: null,
						})
						return yield* Effect.promise(() =>
							generateAuthenticationOptions({
								rpID: party.rpId,
								challenge: Buffer.from(challenge, "base64url"),
								userVerification: party.userVerification,
							}),
						).pipe(Effect.flatMap(Schema.decodeUnknown(RequestOptions)), Effect.orDie)
					}).pipe(Telemetry.span("PasskeysHttp.loginOptions")),
				)
				.handle("login", ({ payload }) =>
					Effect.gen(function* () {
						yield* noStore
						yield* limiter.blocked
						const tenant = yield* CurrentTenant
						const party = yield* callEntity(tenants(tenant.id).GetRelyingParty())
						const challenge = yield* PasskeyChallenges.consume(payload.response.response.clientDataJSON, {
							purpose: "login",
							tenantId: tenant.id,
							userId: null,
							sessionId: null,
						})
						const userId = yield* Option.match(Option.fromNullable(payload.response.response.userHandle), {
							onNone: () => Effect.fail(failed()),
							onSome: (handle) => Schema.decode(UserHandle)(handle).pipe(Effect.mapError(failed)),
						})
						const entity = users(entityId(tenant.id, userId))
						yield* callEntity(
							entity.VerifyPasskey({
								ceremony: {
									rpId: party.rpId,
									origins: party.origins,
									requireUserVerification: party.userVerification === "required",
									challenge,
								},
								response: payload.response,
							}),
						).pipe(
							Effect.catchTags({
								UserNotFound: () => Effect.fail(failed()),
								UserDeactivated: () => Effect.fail(failed()),
							}),
						)
						const { token, session } = yield* SignIn.openSession(tenant.id, userId, "passkey", true).pipe(
							Effect.catchTags({
								UserNotFound: () => Effect.fail(failed()),
								UserDeactivated: () => Effect.fail(failed()),
							}),
						)
						const user = yield* callEntity(entity.GetUser()).pipe(
							Effect.catchTag("UserNotFound", () => Effect.fail(failed())),
						)
						yield* setCookie(SessionCookieName, Redacted.value(token), {
							...CookieOptions,
							expires: DateTime.toDateUtc(session.expiresAt),
						})
						return { token: Redacted.value(token), session, user }
					}).pipe(
						Effect.tapErrorTag("PasskeyVerificationFailed", () => Effect.ignore(limiter.spend)),
						Telemetry.span("PasskeysHttp.login"),
					),
				)
		)
	}),
)

const MfaHttpLive = HttpApiBuilder.group(Api, "mfa", (handlers) =>
	Effect.gen(function* () {
		const tenants = yield* Tenant.client
		const credentials = yield* Credentials
		return handlers
			.handle("options", () =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					const caller = yield* currentSession
					const party = yield* callEntity(tenants(tenant.id).GetRelyingParty())
					const existing = yield* withUser((entity) => entity.ListPasskeys())
					const challenge = yield* PasskeyChallenges.issue({
						purpose: "mfa",
						tenantId: tenant.id,
						userId: caller.principal.userId,
						sessionId: caller.principal.credentialId,
					})
					return yield* Effect.promise(() =>
						generateAuthenticationOptions({
							rpID: party.rpId,
							challenge: Buffer.from(challenge, "base64url"),
							userVerification: party.userVerification,
							allowCredentials: existing
								.filter((passkey) => !passkey.cloned)
								.map((passkey) => ({
									id: passkey.credentialId,
									transports: [...passkey.transports] as never,
								})),
						}),
					).pipe(Effect.flatMap(Schema.decodeUnknown(RequestOptions)), Effect.orDie)
				}).pipe(Telemetry.span("MfaHttp.options")),
			)
			.handle("verify", ({ payload }) =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					const caller = yield* currentSession
					const party = yield* callEntity(tenants(tenant.id).GetRelyingParty())
					const challenge = yield* PasskeyChallenges.consume(payload.response.response.clientDataJSON, {
						purpose: "mfa",
						tenantId: tenant.id,
						userId: caller.principal.userId,
						sessionId: caller.principal.credentialId,
					})
					const [done, user] = yield* withUser((entity) =>
						Effect.all([
							entity.CompleteMfa({
								sessionId: caller.principal.credentialId as SessionId,
								ceremony: {
									rpId: party.rpId,
									origins: party.origins,
									requireUserVerification: party.userVerification === "required",
									challenge,
								},
								response: payload.response,
							}),
							entity.GetUser(),
						]),
					).pipe(Effect.catchTag("SessionNotFound", () => Effect.fail(failed())))
					yield* credentials.changed(tenant.id, done.changed)
					yield* StepUp.record(tenant.id, done.session.id)
					return { session: done.session, user }
				}).pipe(Telemetry.span("MfaHttp.verify")),
			)
			.handle("recovery", ({ payload }) =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					const caller = yield* currentSession
					const [done, user] = yield* withUser((entity) =>
						Effect.all([
							entity.UseRecoveryCode({
								sessionId: caller.principal.credentialId as SessionId,
								codeHash: RecoveryCode.hash(payload.code),
							}),
							entity.GetUser(),
						]),
					).pipe(Effect.catchTag("SessionNotFound", () => Effect.fail(failed())))
					yield* credentials.changed(tenant.id, done.changed)
					return { session: done.session, user }
				}).pipe(Telemetry.span("MfaHttp.recovery")),
			)
	}),
)

// --- [EXPORT]

export { MfaHttpLive, PasskeyLoginHttpLive, PasskeysHttpLive }
