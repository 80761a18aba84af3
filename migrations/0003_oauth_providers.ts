// Per-tenant OAuth/OIDC providers (seed G5). The client secret is stored only as a Crypto envelope, bound by its
// associated data to this tenant, provider and column, so a copied ciphertext does not open elsewhere.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// --- [FUNCTIONS]

const oauthProviders = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		CREATE TABLE oauth_providers (
			app_id uuid NOT NULL REFERENCES apps (id),
			provider text NOT NULL CHECK (provider ~ '^[a-z0-9-]{1,32}$'),
			issuer text NOT NULL,
			client_id text NOT NULL,
			client_secret_enc text NOT NULL,
			scopes text[] NOT NULL DEFAULT '{}',
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (app_id, provider)
		);
	`)
})

// --- [EXPORT]

export { oauthProviders }
