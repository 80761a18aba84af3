// The event log of the Events contract: each tenant's events carry a gapless `seq` (1, 2, 3, … in commit order),
// drawn from `event_sequences` in the transaction that records the change, so a rolled-back change leaves no hole.
// `subject` names what changed (a tenant, user, session, job, asset or webhook id), `request_id` the request that
// caused it, `correlation_id` (already there) the request that started the chain. Platform events (maintenance,
// `app_id` NULL) stay unnumbered.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// --- [FUNCTIONS]

const eventLog = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		ALTER TABLE events ADD COLUMN seq bigint;
		ALTER TABLE events ADD COLUMN subject text;
		ALTER TABLE events ADD COLUMN request_id text;
		ALTER TABLE events ADD CONSTRAINT events_seq_check CHECK (seq IS NULL OR (app_id IS NOT NULL AND seq >= 1));
		CREATE UNIQUE INDEX events_app_seq ON events (app_id, seq) WHERE seq IS NOT NULL;
		CREATE INDEX events_app_created ON events (app_id, created_at) WHERE seq IS NOT NULL;

		CREATE TABLE event_sequences (
			app_id uuid PRIMARY KEY REFERENCES apps (id),
			last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
		);
	`)
})

// --- [EXPORT]

export { eventLog }
