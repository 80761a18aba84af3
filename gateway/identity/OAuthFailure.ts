// How a failed OAuth callback ends: one warning log line with its stage, the reason, and the OAuth error the provider
// sent (code and description, when it sent one), never a code, token, secret or cookie value; a count against the
// client when it is an abuse signal (LoginLimiter); and the one 401 OAuthFailed body, whose message names the stage in
// plain words.
import { Data, Effect } from "effect"
import { OAuthFailed, type OAuthStage } from "../../entities/identity/IdentityBrokerProtocol.ts"
import { LoginLimiter } from "./LoginLimiter.ts"

// --- [CONSTANTS]

// Provider text (from the query string or the token endpoint) kept for a log line up to this length.
const MaxProviderText = 300

const StageWords: Readonly<Record<OAuthStage, string>> = {
	state: "the sign-in is unknown, expired, already used or was started in another browser",
	provider_error: "the identity provider refused or cancelled the sign-in",
	callback: "the identity provider sent no authorization code",
	configuration: "the identity provider is no longer configured for this app",
	discovery: "the identity provider's configuration could not be read",
	token_exchange: "the identity provider did not accept the authorization code",
	id_token: "the identity provider's ID token did not verify",
	userinfo: "the identity provider's user info could not be read",
	account: "this account cannot sign in",
}

// --- [ERRORS]

// A callback that failed, before it is logged and answered. `counted`: an abuse signal (LoginLimiter's rules).
class CallbackFailed extends Data.TaggedError("CallbackFailed")<{
	readonly stage: OAuthStage
	readonly reason: string
	readonly counted: boolean
	readonly providerError?: string | null | undefined
	readonly providerErrorDescription?: string | null | undefined
}> {}

// --- [FUNCTIONS]

// Printable, one line, bounded: provider text is not ours and may be anything.
const printable = (text: string | null | undefined) =>
	text === null || text === undefined ? null : text.replace(/[\u0000-\u001f\u007f]+/g, " ").slice(0, MaxProviderText)

const oauthFailed = (stage: OAuthStage) =>
	new OAuthFailed({ stage, message: `sign-in failed: ${StageWords[stage]}; start again from the app` })

// Logs the failure once, counts it when it is an abuse signal, and fails with the answer.
const answer =
	(scopes: { readonly ip: string | null; readonly provider: string; readonly tenantId?: string | undefined }) =>
	(failure: CallbackFailed) =>
		Effect.logWarning(`OAuth callback failed at ${failure.stage}: ${failure.reason}`).pipe(
			Effect.annotateLogs({
				oauthStage: failure.stage,
				oauthReason: failure.reason,
				provider: scopes.provider,
				tenantId: scopes.tenantId ?? null,
				providerError: printable(failure.providerError),
				providerErrorDescription: printable(failure.providerErrorDescription),
			}),
			Effect.zipRight(
				Effect.when(
					LoginLimiter.recordFailure({ ip: scopes.ip, tenantId: scopes.tenantId }),
					() => failure.counted,
				),
			),
			Effect.zipRight(Effect.fail(oauthFailed(failure.stage))),
		)

// --- [EXPORT]

const OAuthFailure = { answer, oauthFailed } as const

export { CallbackFailed, OAuthFailure }
