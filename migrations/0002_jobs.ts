// Jobs as workflows: a job keeps its last error; a DLQ entry links the execution that failed and counts the retries
// started from it (by the admin API or the DLQ watcher).
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// --- [FUNCTIONS]

const jobs = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		ALTER TABLE jobs ADD COLUMN last_error text;
		ALTER TABLE job_dlq ADD COLUMN execution_id text;
		ALTER TABLE job_dlq ADD COLUMN retries integer NOT NULL DEFAULT 0;
		ALTER TABLE job_dlq ADD COLUMN retried_at timestamptz;
		CREATE INDEX job_dlq_job ON job_dlq (job_id);
		CREATE INDEX jobs_finished ON jobs (finished_at) WHERE finished_at IS NOT NULL;
	`)
})

// --- [EXPORT]

export { jobs }
