import { randomBytes } from "node:crypto"
import { describe, expect, it } from "@effect/vitest"
import { ConfigError, ConfigProvider, Effect, Redacted } from "effect"
import { Crypto, CryptoLive, DecryptionFailed, MalformedEnvelope, UnknownKeyId } from "../../platform/Crypto.ts"

const keyA = randomBytes(32).toString("base64")
const keyB = randomBytes(32).toString("base64")
const binding = "apps:tenant-1:oauth_client_secret"
const secret = Redacted.make("client-secret-value")

const withKeys = (keys: Parameters<typeof Crypto.layerKeys>[0]) => Crypto.pipe(Effect.provide(Crypto.layerKeys(keys)))

const fromEnv = (value: string) =>
	Crypto.pipe(
		Effect.provide(CryptoLive),
		Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["ENCRYPTION_KEYS", value]]))),
	)

// Replaces the part at `index` of `v1.<keyId>.<iv>.<ciphertext+tag>`.
const replacePart = (envelope: string, index: number, part: string) =>
	envelope
		.split(".")
		.map((current, position) => (position === index ? part : current))
		.join(".")

describe("Crypto", () => {
	it.effect("round trip: seal gives a v1 envelope under the current key and open returns the plaintext", () =>
		Effect.gen(function* () {
			const crypto = yield* withKeys([{ id: "a", key: keyA }])
			const envelope = yield* crypto.seal(secret, binding)
			const again = yield* crypto.seal(secret, binding)
			const opened = yield* crypto.open(envelope, binding)
			expect(envelope).toMatch(/^v1\.a\.[A-Za-z0-9_-]{16}\.[A-Za-z0-9_-]+$/)
			expect(envelope).not.toContain(Redacted.value(secret))
			expect(again).not.toBe(envelope)
			expect(Redacted.value(opened)).toBe(Redacted.value(secret))
			expect(crypto.currentKeyId).toBe("a")
			expect(crypto.needsReseal(envelope)).toBe(false)
		}),
	)

	it.effect("rotation: old envelopes open under [b, a], need a reseal, and reseal to b which opens under [b]", () =>
		Effect.gen(function* () {
			const before = yield* withKeys([{ id: "a", key: keyA }])
			const rotated = yield* withKeys([
				{ id: "b", key: keyB },
				{ id: "a", key: keyA },
			])
			const onlyB = yield* withKeys([{ id: "b", key: keyB }])
			const old = yield* before.seal(secret, binding)
			expect(Redacted.value(yield* rotated.open(old, binding))).toBe(Redacted.value(secret))
			expect(rotated.currentKeyId).toBe("b")
			expect(rotated.needsReseal(old)).toBe(true)
			const resealed = yield* rotated.reseal(old, binding)
			expect(resealed.startsWith("v1.b.")).toBe(true)
			expect(rotated.needsReseal(resealed)).toBe(false)
			expect(Redacted.value(yield* onlyB.open(resealed, binding))).toBe(Redacted.value(secret))
		}),
	)

	it.effect("a flipped byte in the ciphertext fails with DecryptionFailed", () =>
		Effect.gen(function* () {
			const crypto = yield* withKeys([{ id: "a", key: keyA }])
			const envelope = yield* crypto.seal(secret, binding)
			const sealed = Buffer.from(envelope.split(".")[3] ?? "", "base64url")
			const flipped = Buffer.from(sealed.map((byte, position) => (position === 0 ? byte ^ 0x01 : byte)))
			const error = yield* Effect.flip(
				crypto.open(replacePart(envelope, 3, flipped.toString("base64url")), binding),
			)
			expect(error).toBeInstanceOf(DecryptionFailed)
			expect(String(error)).not.toContain(Redacted.value(secret))
		}),
	)

	it.effect("wrong associated data fails with DecryptionFailed", () =>
		Effect.gen(function* () {
			const crypto = yield* withKeys([{ id: "a", key: keyA }])
			const envelope = yield* crypto.seal(secret, binding)
			const error = yield* Effect.flip(crypto.open(envelope, "apps:tenant-2:oauth_client_secret"))
			expect(error).toBeInstanceOf(DecryptionFailed)
		}),
	)

	it.effect("an envelope whose key id is not in the ring fails with UnknownKeyId naming it", () =>
		Effect.gen(function* () {
			const sealer = yield* withKeys([{ id: "a", key: keyA }])
			const opener = yield* withKeys([{ id: "b", key: keyB }])
			const envelope = yield* sealer.seal(secret, binding)
			const error = yield* Effect.flip(opener.open(envelope, binding))
			expect(error).toBeInstanceOf(UnknownKeyId)
			expect(error).toMatchObject({ keyId: "a" })
		}),
	)

	it.effect("garbage fails with MalformedEnvelope", () =>
		Effect.gen(function* () {
			const crypto = yield* withKeys([{ id: "a", key: keyA }])
			const envelope = yield* crypto.seal(secret, binding)
			const garbage = [
				"",
				"garbage",
				envelope.replace(/^v1\./, "v2."),
				replacePart(envelope, 1, "bad key id!"),
				replacePart(envelope, 2, "!!!!"),
				replacePart(envelope, 2, randomBytes(8).toString("base64url")),
				replacePart(envelope, 3, randomBytes(4).toString("base64url")),
				`${envelope}.extra`,
			]
			const errors = yield* Effect.forEach(garbage, (candidate) => Effect.flip(crypto.open(candidate, binding)))
			expect(errors).toHaveLength(garbage.length)
			errors.map((error) => expect(error).toBeInstanceOf(MalformedEnvelope))
		}),
	)

	it.effect("changing the key id to another key in the ring fails with DecryptionFailed", () =>
		Effect.gen(function* () {
			// Both ids hold the same key material, so only the authenticated key id can make this fail.
			const crypto = yield* withKeys([
				{ id: "a", key: keyA },
				{ id: "b", key: keyA },
			])
			const envelope = yield* crypto.seal(secret, binding)
			const error = yield* Effect.flip(crypto.open(replacePart(envelope, 1, "b"), binding))
			expect(error).toBeInstanceOf(DecryptionFailed)
		}),
	)

	it.effect("ENCRYPTION_KEYS: a good value gives a ring whose first key is current", () =>
		Effect.gen(function* () {
			const crypto = yield* fromEnv(`k2:${keyB},k1:${keyA}`)
			const old = yield* (yield* withKeys([{ id: "k1", key: keyA }])).seal(secret, binding)
			expect(crypto.currentKeyId).toBe("k2")
			expect((yield* crypto.seal(secret, binding)).startsWith("v1.k2.")).toBe(true)
			expect(Redacted.value(yield* crypto.open(old, binding))).toBe(Redacted.value(secret))
		}),
	)

	it.effect("ENCRYPTION_KEYS: a 16-byte key fails naming ENCRYPTION_KEYS without printing the key", () =>
		Effect.gen(function* () {
			const shortKey = randomBytes(16).toString("base64")
			const error = yield* Effect.flip(fromEnv(`k2:${keyB},k1:${shortKey}`))
			expect(ConfigError.isInvalidData(error)).toBe(true)
			expect(error).toMatchObject({ path: ["ENCRYPTION_KEYS"] })
			expect(String(error)).toContain("ENCRYPTION_KEYS")
			expect(String(error)).toContain("32 bytes")
			expect(String(error)).not.toContain(shortKey)
			expect(String(error)).not.toContain(keyB)
		}),
	)

	it.effect("ENCRYPTION_KEYS: bad ids, duplicate ids and broken base64 fail naming ENCRYPTION_KEYS", () =>
		Effect.gen(function* () {
			const values = ["", `bad id!:${keyA}`, `a:${keyA},a:${keyB}`, `a:${keyA.slice(1)}`, `a:${keyA}:${keyB}`]
			const errors = yield* Effect.forEach(values, (value) => Effect.flip(fromEnv(value)))
			errors.map((error) => expect(String(error)).toContain("ENCRYPTION_KEYS"))
			errors.map((error) => expect(String(error)).not.toContain(keyA.slice(1)))
			errors.map((error) => expect(String(error)).not.toContain(keyB))
		}),
	)

	it.effect("token() is at least 32 random bytes of base64url and two tokens differ", () =>
		Effect.gen(function* () {
			const crypto = yield* withKeys([{ id: "a", key: keyA }])
			const first = Redacted.value(yield* crypto.token())
			const second = Redacted.value(yield* crypto.token())
			const small = Redacted.value(yield* crypto.token(8))
			const large = Redacted.value(yield* crypto.token(64))
			expect(first.length).toBeGreaterThanOrEqual(43)
			expect(first).toMatch(/^[A-Za-z0-9_-]+$/)
			expect(first).not.toBe(second)
			expect(Buffer.from(small, "base64url").length).toBeGreaterThanOrEqual(32)
			expect(Buffer.from(large, "base64url").length).toBe(64)
		}),
	)

	it.effect("hash is a deterministic sha256 of 64 hex chars", () =>
		Effect.gen(function* () {
			const crypto = yield* withKeys([{ id: "a", key: keyA }])
			const token = yield* crypto.token()
			expect(crypto.hash(token)).toMatch(/^[0-9a-f]{64}$/)
			expect(crypto.hash(token)).toBe(crypto.hash(Redacted.make(Redacted.value(token))))
			expect(crypto.hash(Redacted.make("abc"))).toBe(
				"ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
			)
			expect(crypto.hash(Redacted.make("abd"))).not.toBe(crypto.hash(Redacted.make("abc")))
		}),
	)
})
