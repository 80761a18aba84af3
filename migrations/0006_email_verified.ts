// Only an email a provider verified is a user's email: `users.email_verified` says which one is, and only verified
// emails are unique within a tenant, so an address a user typed (PATCH /v1/users/me) never blocks its real owner's
// sign-in. Existing emails count as verified when one of the user's identities carries the same address (sign-in
// stored only verified ones; a PATCHed one matches an identity only by coincidence of the same user).
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// --- [FUNCTIONS]

const emailVerified = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		ALTER TABLE users ADD COLUMN email_verified boolean NOT NULL DEFAULT false;

		UPDATE users SET email_verified = true
		WHERE email IS NOT NULL AND EXISTS (
			SELECT 1 FROM identities
			WHERE identities.app_id = users.app_id AND identities.user_id = users.id
				AND lower(identities.email) = lower(users.email)
		);

		DROP INDEX users_app_email;
		CREATE UNIQUE INDEX users_app_verified_email ON users (app_id, lower(email))
			WHERE email IS NOT NULL AND email_verified;
	`)
})

// --- [EXPORT]

export { emailVerified }
