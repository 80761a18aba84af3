// Minting and hashing of bearer secrets (session tokens, API keys): 256 random bits, base64url, behind a typed prefix.
// Only the SHA-256 hash is ever stored or sent between processes; the plaintext leaves once, as `Redacted`. Random
// secrets without a prefix (PKCE verifiers, transaction secrets) are `Redacted` too, unwrapped only where they are sent.
import { createHash, randomBytes } from "node:crypto"
import { Redacted } from "effect"

// --- [CONSTANTS]

const SecretBytes = 32

// --- [FUNCTIONS]

const hash = (secret: Redacted.Redacted<string>): string =>
	createHash("sha256").update(Redacted.value(secret), "utf8").digest("hex")

const mint = (prefix: string) => {
	const token = Redacted.make(`${prefix}${randomBytes(SecretBytes).toString("base64url")}`)
	return { token, hash: hash(token) } as const
}

// A PKCE verifier or a transaction secret: the same randomness, no prefix.
const random = (): Redacted.Redacted<string> => Redacted.make(randomBytes(SecretBytes).toString("base64url"))

const challengeS256 = (verifier: Redacted.Redacted<string>) =>
	createHash("sha256").update(Redacted.value(verifier), "ascii").digest("base64url")

// --- [EXPORT]

const SecretToken = { challengeS256, hash, mint, random } as const

export { SecretToken }
