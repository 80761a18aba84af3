// Jobs belong to the principal that submitted them: `owner` is `service` (the tenant's service principal, and every
// job from before owners existed) or `user:<userId>`; `owner_key_id` is the API key used, if any. A dedupe key is
// unique per owner, so one owner's key never answers with another owner's job.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// --- [FUNCTIONS]

const jobOwner = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		ALTER TABLE jobs ADD COLUMN owner text NOT NULL DEFAULT 'service';
		ALTER TABLE jobs ADD COLUMN owner_key_id uuid;
		DROP INDEX jobs_app_dedupe;
		CREATE UNIQUE INDEX jobs_app_owner_dedupe ON jobs (app_id, owner, dedupe_key) WHERE dedupe_key IS NOT NULL;
		CREATE INDEX jobs_app_owner_created ON jobs (app_id, owner, created_at, id);
	`)
})

// --- [EXPORT]

export { jobOwner }
