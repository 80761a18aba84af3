// Seals secrets at rest with AES-256-GCM under a versioned key ring: the first key seals, every key in the ring opens.
// Envelope `v1.<keyId>.<iv>.<ciphertext+tag>` (base64url); the version, key id and caller's binding are authenticated.
// Fails closed; no error or span carries plaintext or key material, and generated tokens leave as `Redacted`.
import * as NodeCrypto from "node:crypto"
import {
	Array,
	Config,
	ConfigError,
	Effect,
	Either,
	HashMap,
	Layer,
	Option,
	ParseResult,
	Redacted,
	Schema,
} from "effect"
import { SecretToken } from "./SecretToken.ts"
import { Telemetry } from "./Telemetry.ts"

// --- [CONSTANTS]

const envelopeVersion = "v1"
const keyBytes = 32
const ivBytes = 12
const tagBytes = 16
const minTokenBytes = 32

// --- [SCHEMA]

const KeyId = Schema.String.pipe(
	Schema.pattern(/^[A-Za-z0-9_-]{1,32}$/),
	Schema.brand("KeyId"),
	Schema.annotations({ message: () => ({ message: "key id must be 1-32 of [A-Za-z0-9_-]", override: true }) }),
)

// The override message replaces the formatter's `actual …`, which would otherwise echo key material.
const KeyRing = Schema.NonEmptyArray(
	Schema.Struct({
		id: KeyId,
		key: Schema.Redacted(
			Schema.Uint8ArrayFromBase64.pipe(Schema.filter((key) => key.length === keyBytes)).annotations({
				message: () => ({ message: `key must be base64 of exactly ${keyBytes} bytes`, override: true }),
			}),
		),
	}),
).pipe(
	Schema.filter((ring) => Array.dedupe(ring.map((entry) => entry.id)).length === ring.length, {
		message: () => "key ids must be unique",
	}),
)
type KeyRing = typeof KeyRing.Type

// `id:base64key,id:base64key…`; base64 has no `:`, so everything after the first `:` is the key.
const KeyRingFromString = Schema.compose(
	Schema.split(","),
	Schema.NonEmptyArray(
		Schema.transform(Schema.String, Schema.Struct({ id: Schema.String, key: Schema.String }), {
			strict: true,
			decode: (entry) =>
				entry.includes(":")
					? { id: entry.slice(0, entry.indexOf(":")), key: entry.slice(entry.indexOf(":") + 1) }
					: { id: entry, key: "" },
			encode: ({ id, key }) => `${id}:${key}`,
		}),
	),
).pipe(Schema.compose(KeyRing))

const Envelope = Schema.compose(
	Schema.split("."),
	Schema.Tuple(
		Schema.Literal(envelopeVersion),
		KeyId,
		Schema.Uint8ArrayFromBase64Url.pipe(Schema.filter((nonce) => nonce.length === ivBytes)),
		Schema.Uint8ArrayFromBase64Url.pipe(Schema.filter((sealed) => sealed.length >= tagBytes)),
	),
)

// --- [ERRORS]

class UnknownKeyId extends Schema.TaggedError<UnknownKeyId>()("UnknownKeyId", { keyId: Schema.String }) {}
class MalformedEnvelope extends Schema.TaggedError<MalformedEnvelope>()("MalformedEnvelope", {}) {}
class DecryptionFailed extends Schema.TaggedError<DecryptionFailed>()("DecryptionFailed", {}) {}
const CryptoError = Schema.Union(UnknownKeyId, MalformedEnvelope, DecryptionFailed)
type CryptoError = typeof CryptoError.Type

// --- [FUNCTIONS]

// The GCM associated data: version and key id are bound with the caller's binding, so neither can be swapped.
const additionalData = (keyId: string, associatedData: string) =>
	Buffer.from(`${envelopeVersion}.${keyId}.${associatedData}`, "utf8")

const makeCrypto = (ring: KeyRing) => {
	const current = { id: ring[0].id, key: NodeCrypto.createSecretKey(Redacted.value(ring[0].key)) }
	const keys = HashMap.fromIterable(
		ring.map((entry) => [entry.id, NodeCrypto.createSecretKey(Redacted.value(entry.key))] as const),
	)
	const seal = (plaintext: Redacted.Redacted<string>, associatedData: string): Effect.Effect<string> =>
		Effect.sync(() => {
			const iv = NodeCrypto.randomBytes(ivBytes)
			const cipher = NodeCrypto.createCipheriv("aes-256-gcm", current.key, iv, { authTagLength: tagBytes })
			cipher.setAAD(additionalData(current.id, associatedData))
			const sealed = Buffer.concat([
				cipher.update(Redacted.value(plaintext), "utf8"),
				cipher.final(),
				cipher.getAuthTag(),
			])
			return `${envelopeVersion}.${current.id}.${iv.toString("base64url")}.${sealed.toString("base64url")}`
		}).pipe(Telemetry.span("Crypto.seal", { keyId: current.id }))
	const open = (envelope: string, associatedData: string): Effect.Effect<Redacted.Redacted<string>, CryptoError> =>
		Schema.decode(Envelope)(envelope).pipe(
			Effect.mapError(() => new MalformedEnvelope()),
			Effect.flatMap(([, keyId, iv, sealed]) =>
				HashMap.get(keys, keyId).pipe(
					Effect.mapError(() => new UnknownKeyId({ keyId })),
					Effect.flatMap((key) =>
						Effect.try({
							try: () => {
								const decipher = NodeCrypto.createDecipheriv("aes-256-gcm", key, iv, {
									authTagLength: tagBytes,
								})
								decipher.setAAD(additionalData(keyId, associatedData))
								decipher.setAuthTag(sealed.subarray(sealed.length - tagBytes))
								return Buffer.concat([
									decipher.update(sealed.subarray(0, sealed.length - tagBytes)),
									decipher.final(),
								]).toString("utf8")
							},
							catch: () => new DecryptionFailed(),
						}),
					),
				),
			),
			Effect.map(Redacted.make),
			Telemetry.span("Crypto.open"),
		)
	return {
		currentKeyId: current.id,
		seal,
		open,
		// A malformed envelope also needs attention: reseal then reports it as MalformedEnvelope.
		needsReseal: (envelope: string): boolean =>
			Option.match(Schema.decodeOption(Envelope)(envelope), {
				onNone: () => true,
				onSome: ([, keyId]) => keyId !== current.id,
			}),
		reseal: (envelope: string, associatedData: string): Effect.Effect<string, CryptoError> =>
			open(envelope, associatedData).pipe(
				Effect.flatMap((plaintext) => seal(plaintext, associatedData)),
				Telemetry.span("Crypto.reseal", { keyId: current.id }),
			),
		// Never fewer than 32 random bytes, whatever the caller asks for.
		token: (bytes: number = minTokenBytes): Effect.Effect<Redacted.Redacted<string>> =>
			Effect.sync(() =>
				Redacted.make(NodeCrypto.randomBytes(Math.max(bytes, minTokenBytes)).toString("base64url")),
			).pipe(Telemetry.span("Crypto.token")),
		hash: SecretToken.hash,
	} as const
}

// --- [SERVICES]

class Crypto extends Effect.Tag("platform/Crypto")<Crypto, ReturnType<typeof makeCrypto>>() {
	// An explicit key ring (`[{ id, key: base64 }, …]`, first is current) instead of ENCRYPTION_KEYS.
	static readonly layerKeys = (keys: typeof KeyRing.Encoded): Layer.Layer<Crypto, ParseResult.ParseError> =>
		Layer.effect(Crypto, Effect.map(Schema.decode(KeyRing)(keys), makeCrypto))
}

// --- [LAYERS]

const CryptoLive = Layer.effect(
	Crypto,
	Config.redacted("ENCRYPTION_KEYS").pipe(
		Config.mapOrFail((raw) =>
			Schema.decodeEither(KeyRingFromString)(Redacted.value(raw)).pipe(
				Either.map(makeCrypto),
				Either.mapLeft((error) =>
					ConfigError.InvalidData(
						["ENCRYPTION_KEYS"],
						ParseResult.ArrayFormatter.formatErrorSync(error)
							.map((issue) =>
								issue.path.length === 0
									? issue.message
									: `entry ${Number(issue.path[0]) + 1}: ${issue.message}`,
							)
							.join("; "),
					),
				),
			),
		),
		Config.withDescription(
			"Key ring for sealing secrets: id:base64key,id:base64key… (first is current; each key 32 bytes; ids [A-Za-z0-9_-]{1,32}, unique)",
		),
	),
)

// --- [EXPORT]

export { Crypto, CryptoError, CryptoLive, DecryptionFailed, MalformedEnvelope, UnknownKeyId }
