// Random secrets (PKCE verifiers, OAuth transaction secrets) are Redacted like every other secret: printing or
// logging one shows `<redacted>`; the PKCE S256 challenge is computed from the unwrapped verifier.
import { createHash } from "node:crypto"
import { Redacted } from "effect"
import { describe, expect, it } from "vitest"
import { SecretToken } from "../../platform/SecretToken.ts"

describe("SecretToken", () => {
	it("random() is a Redacted 256-bit base64url secret that never prints", () => {
		const secret = SecretToken.random()
		expect(Redacted.isRedacted(secret)).toBe(true)
		expect(String(secret)).toBe("<redacted>")
		expect(Redacted.value(secret)).toMatch(/^[A-Za-z0-9_-]{43}$/)
		expect(Redacted.value(SecretToken.random())).not.toBe(Redacted.value(secret))
	})

	it("challengeS256 is the base64url SHA-256 of the verifier (RFC 7636)", () => {
		const verifier = SecretToken.random()
		expect(SecretToken.challengeS256(verifier)).toBe(
			createHash("sha256").update(Redacted.value(verifier), "ascii").digest("base64url"),
		)
	})
})
