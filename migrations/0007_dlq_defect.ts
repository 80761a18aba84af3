// DLQ reason `Defect`: dlq.watch dead-letters a job whose workflow died with a defect (it left no DLQ entry itself).
// Applied migrations are frozen: the list is literal (a new value is a new migration).
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// --- [FUNCTIONS]

const dlqDefect = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		ALTER TABLE job_dlq DROP CONSTRAINT job_dlq_error_reason_check;
		ALTER TABLE job_dlq ADD CONSTRAINT job_dlq_error_reason_check
			CHECK (error_reason IN ('ValidationFailed', 'MaxAttemptsExceeded', 'Timeout', 'NonRetryable', 'Cancelled', 'WorkerLost', 'Defect'));
	`)
})

// --- [EXPORT]

export { dlqDefect }
