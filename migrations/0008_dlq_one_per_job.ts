// One DLQ entry per job: a later failure of the same job reopens its entry instead of adding one, a successful retry
// resolves it. `failures` counts the job's failed runs (so the next run's number), `failed_at` is the last failure.
// Existing entries are merged: per job the newest one is kept with the failures and retries of all of them, and its
// status follows from the job (succeeded → resolved; retried and still running → retrying; otherwise open). Jobs gain
// the result of their last successful run and a log of their attempts.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// --- [FUNCTIONS]

const dlqOnePerJob = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		ALTER TABLE jobs ADD COLUMN result jsonb;
		ALTER TABLE jobs ADD COLUMN attempt_log jsonb NOT NULL DEFAULT '[]'::jsonb;

		ALTER TABLE job_dlq ADD COLUMN status text NOT NULL DEFAULT 'open'
			CONSTRAINT job_dlq_status_check CHECK (status IN ('open', 'retrying', 'resolved'));
		ALTER TABLE job_dlq ADD COLUMN failures integer NOT NULL DEFAULT 1;
		ALTER TABLE job_dlq ADD COLUMN failed_at timestamptz NOT NULL DEFAULT now();
		ALTER TABLE job_dlq ADD COLUMN resolved_at timestamptz;
		UPDATE job_dlq SET failed_at = created_at;

		WITH ranked AS (
			SELECT id,
				row_number() OVER family AS newest,
				count(*) OVER whole AS failures,
				sum(retries) OVER whole AS retries,
				max(retried_at) OVER whole AS retried_at,
				min(created_at) OVER whole AS first_created
			FROM job_dlq
			WINDOW family AS (PARTITION BY app_id, job_id ORDER BY created_at DESC, id DESC),
				whole AS (PARTITION BY app_id, job_id)
		),
		kept AS (
			UPDATE job_dlq d SET failures = r.failures, retries = r.retries, retried_at = r.retried_at,
				created_at = r.first_created
			FROM ranked r WHERE d.id = r.id AND r.newest = 1
			RETURNING d.id
		)
		DELETE FROM job_dlq d USING ranked r WHERE d.id = r.id AND r.newest > 1;

		UPDATE job_dlq d SET
			status = CASE
				WHEN j.status = 'succeeded' THEN 'resolved'
				WHEN d.retried_at >= d.failed_at AND j.status IN ('queued', 'running') THEN 'retrying'
				ELSE 'open' END,
			resolved_at = CASE WHEN j.status = 'succeeded' THEN coalesce(j.finished_at, now()) END
		FROM jobs j WHERE j.id = d.job_id AND j.app_id = d.app_id;

		CREATE UNIQUE INDEX job_dlq_app_job ON job_dlq (app_id, job_id);
	`)
})

// --- [EXPORT]

export { dlqOnePerJob }
