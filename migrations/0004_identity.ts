// Identity: provider identities linked to users, sessions and API keys. Tokens and keys are stored only as hashes
// (unique, the lookup key of validation); CHECK lists are literal (frozen; a test compares them with the Schema literals).
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// --- [FUNCTIONS]

const identity = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		CREATE UNIQUE INDEX users_app_id_id ON users (app_id, id);

		CREATE TABLE identities (
			app_id uuid NOT NULL REFERENCES apps (id),
			user_id uuid NOT NULL,
			provider text NOT NULL,
			subject text NOT NULL,
			email text,
			created_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (app_id, provider, subject),
			UNIQUE (app_id, user_id, provider),
			FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id)
		);

		CREATE TABLE sessions (
			id uuid PRIMARY KEY,
			app_id uuid NOT NULL REFERENCES apps (id),
			user_id uuid NOT NULL,
			token_hash text NOT NULL UNIQUE,
			status text NOT NULL CONSTRAINT sessions_status_check CHECK (status IN ('pending_mfa', 'active', 'revoked', 'expired')),
			end_reason text CONSTRAINT sessions_end_reason_check
				CHECK (end_reason IS NULL OR end_reason IN ('logout', 'revoked', 'evicted', 'deactivated', 'idle', 'lifetime')),
			provider text,
			ip_address text,
			user_agent text,
			created_at timestamptz NOT NULL DEFAULT now(),
			last_used_at timestamptz NOT NULL DEFAULT now(),
			expires_at timestamptz NOT NULL,
			ended_at timestamptz,
			FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id)
		);
		CREATE INDEX sessions_app_user_status ON sessions (app_id, user_id, status);

		CREATE TABLE api_keys (
			id uuid PRIMARY KEY,
			app_id uuid NOT NULL REFERENCES apps (id),
			user_id uuid NOT NULL,
			name text NOT NULL,
			prefix text NOT NULL,
			key_hash text NOT NULL UNIQUE,
			status text NOT NULL CONSTRAINT api_keys_status_check CHECK (status IN ('active', 'revoked')),
			expires_at timestamptz,
			last_used_at timestamptz,
			replaced_by uuid,
			created_at timestamptz NOT NULL DEFAULT now(),
			revoked_at timestamptz,
			FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id)
		);
		CREATE INDEX api_keys_app_user ON api_keys (app_id, user_id, created_at);
	`)
})

// --- [EXPORT]

export { identity }
