// Passkeys (WebAuthn): each tenant's relying party (its RP ID, name, allowed origins and MFA / user-verification
// policy), the users' passkeys (credential id, COSE public key, signature counter, transports, backed-up flag, AAGUID,
// name, `cloned` once its counter went backwards) and their recovery codes (SHA-256 hashes, single use). The session
// status waiting for a second factor is renamed `mfa_pending` (the contract's spelling). CHECK lists are literal.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// --- [FUNCTIONS]

const passkeys = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		ALTER TABLE sessions DROP CONSTRAINT sessions_status_check;
		UPDATE sessions SET status = 'mfa_pending' WHERE status = 'pending_mfa';
		ALTER TABLE sessions ADD CONSTRAINT sessions_status_check
			CHECK (status IN ('mfa_pending', 'active', 'revoked', 'expired'));

		CREATE TABLE webauthn_relying_parties (
			app_id uuid PRIMARY KEY REFERENCES apps (id),
			rp_id text NOT NULL,
			rp_name text NOT NULL,
			origins text[] NOT NULL,
			mfa text NOT NULL CONSTRAINT webauthn_relying_parties_mfa_check CHECK (mfa IN ('off', 'optional', 'required')),
			user_verification text NOT NULL CONSTRAINT webauthn_relying_parties_user_verification_check
				CHECK (user_verification IN ('required', 'preferred')),
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now()
		);

		CREATE TABLE passkeys (
			id uuid PRIMARY KEY,
			app_id uuid NOT NULL REFERENCES apps (id),
			user_id uuid NOT NULL,
			credential_id text NOT NULL,
			public_key bytea NOT NULL,
			counter bigint NOT NULL DEFAULT 0 CHECK (counter >= 0),
			transports text[] NOT NULL DEFAULT '{}',
			backed_up boolean NOT NULL,
			aaguid text NOT NULL,
			name text NOT NULL,
			cloned boolean NOT NULL DEFAULT false,
			created_at timestamptz NOT NULL DEFAULT now(),
			last_used_at timestamptz,
			UNIQUE (app_id, credential_id),
			FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id)
		);
		CREATE INDEX passkeys_app_user ON passkeys (app_id, user_id, created_at);

		CREATE TABLE recovery_codes (
			app_id uuid NOT NULL REFERENCES apps (id),
			user_id uuid NOT NULL,
			code_hash text NOT NULL,
			used_at timestamptz,
			created_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (app_id, user_id, code_hash),
			FOREIGN KEY (app_id, user_id) REFERENCES users (app_id, id)
		);
	`)
})

// --- [EXPORT]

export { passkeys }
