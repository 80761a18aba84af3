// The one comparison of a presented bearer token with ADMIN_TOKEN: constant time, and false when none is configured,
// when the configured one is shorter than AdminTokenMinLength, or when nothing was presented (empty never matches empty).
import { Option, Redacted } from "effect"
import { timingSafeEqual } from "node:crypto"

// --- [CONSTANTS]

// A shorter ADMIN_TOKEN refuses the start (GatewayConfig); the all-in-one regenerates a stored one this short.
const AdminTokenMinLength = 32

// --- [FUNCTIONS]

const isAdminToken = (configured: Option.Option<Redacted.Redacted>, presented: Redacted.Redacted) =>
	Option.match(configured, {
		onNone: () => false,
		onSome: (expected) =>
			Redacted.value(expected).length >= AdminTokenMinLength &&
			Redacted.value(presented).length === Redacted.value(expected).length &&
			timingSafeEqual(Buffer.from(Redacted.value(presented)), Buffer.from(Redacted.value(expected))),
	})

// --- [EXPORT]

export { AdminTokenMinLength, isAdminToken }
