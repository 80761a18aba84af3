// The one comparison of a presented bearer token with ADMIN_TOKEN: constant time, and false when none is configured.
import { Option, Redacted } from "effect"
import { timingSafeEqual } from "node:crypto"

// --- [FUNCTIONS]

const isAdminToken = (configured: Option.Option<Redacted.Redacted>, presented: Redacted.Redacted) =>
	Option.match(configured, {
		onNone: () => false,
		onSome: (expected) =>
			Redacted.value(presented).length === Redacted.value(expected).length &&
			timingSafeEqual(Buffer.from(Redacted.value(presented)), Buffer.from(Redacted.value(expected))),
	})

// --- [EXPORT]

export { isAdminToken }
