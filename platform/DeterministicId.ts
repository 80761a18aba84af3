// A UUID derived from a name (SHA-256, formatted as an RFC 9562 version 8 UUID): the same name always gives the same
// id. Used where a retry must land on the same row or entity (a dedupe key's job, a failed execution's DLQ entry).
import { createHash } from "node:crypto"

// --- [FUNCTIONS]

const deterministicId = (...parts: ReadonlyArray<string>) => {
	const hex = createHash("sha256").update(parts.join("\u0000")).digest("hex")
	const variant = ((parseInt(hex.slice(16, 17), 16) & 0x3) | 0x8).toString(16)
	return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

// --- [EXPORT]

export { deterministicId }
