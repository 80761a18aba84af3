// The two WebAuthn verifications, by `@simplewebauthn/server`, against the relying party's terms and the challenge
// the gateway issued. Any failure (bad signature, wrong origin or RP ID, challenge mismatch, user verification
// missing where required, malformed data) is PasskeyVerificationFailed; the library's reason goes to the log, not to
// the client. The signature counter is checked here, not by the library, so a regression is told apart (a clone).
import { verifyAuthenticationResponse, verifyRegistrationResponse } from "@simplewebauthn/server"
import { Effect } from "effect"
import type { AuthenticationResponse, Ceremony, PasskeyRow, RegistrationResponse } from "./PasskeyModel.ts"
import { PasskeyVerificationFailed } from "./UserSessionsProtocol.ts"

// --- [FUNCTIONS]

const failed = (cause: unknown) =>
	Effect.logInfo("passkey verification failed", cause).pipe(
		Effect.zipRight(Effect.fail(new PasskeyVerificationFailed({ message: "the passkey could not be verified" }))),
	)

const register = (ceremony: Ceremony, response: typeof RegistrationResponse.Type) =>
	Effect.tryPromise(() =>
		verifyRegistrationResponse({
			response: {
				...response,
				response: { ...response.response, transports: [...(response.response.transports ?? [])] as never },
			},
			expectedChallenge: ceremony.challenge,
			expectedOrigin: [...ceremony.origins],
			expectedRPID: ceremony.rpId,
			requireUserVerification: ceremony.requireUserVerification,
		}),
	).pipe(
		Effect.flatMap((result) =>
			result.verified ? Effect.succeed(result.registrationInfo) : Effect.fail("not verified"),
		),
		Effect.catchAll(failed),
	)

// Verified against a counter of 0 so the library never refuses on the counter; the caller compares it with the stored
// one (only once the signature is good: nobody can mark another's passkey cloned).
const assert = (ceremony: Ceremony, response: typeof AuthenticationResponse.Type, row: PasskeyRow) =>
	Effect.tryPromise(() =>
		verifyAuthenticationResponse({
			response,
			expectedChallenge: ceremony.challenge,
			expectedOrigin: [...ceremony.origins],
			expectedRPID: ceremony.rpId,
			requireUserVerification: ceremony.requireUserVerification,
			credential: {
				id: row.credentialId,
				publicKey: new Uint8Array(row.publicKey),
				counter: 0,
				transports: [...row.transports],
			},
		}),
	).pipe(
		Effect.flatMap((result) =>
			result.verified ? Effect.succeed(result.authenticationInfo) : Effect.fail("not verified"),
		),
		Effect.catchAll(failed),
	)

// A counter that does not move forward, when either side counts (authenticators that never count send 0 always).
const regressed = (stored: number, received: number) => (stored > 0 || received > 0) && received <= stored

// --- [EXPORT]

const WebAuthnCeremony = { assert, register, regressed } as const

export { WebAuthnCeremony }
