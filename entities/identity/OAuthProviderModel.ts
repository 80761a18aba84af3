// The name of a tenant's OAuth provider, as it appears in paths (`/v1/auth/oauth/{provider}/start`) and rows.
import { Schema } from "effect"

// --- [SCHEMA]

const ProviderName = Schema.String.pipe(
	Schema.pattern(/^[a-z0-9-]{1,32}$/, {
		message: () => "provider must be 1–32 of lowercase letters, digits and '-'",
	}),
)

// --- [EXPORT]

export { ProviderName }
