// DLQ reason `Defect`: dlq.watch dead-letters a job whose workflow died with a defect (it left no DLQ entry itself).
// The CHECK is rebuilt from the same array as the Schema literal.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import { DlqReasons } from "../entities/JobModel.ts"

// --- [FUNCTIONS]

const dlqDefect = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		ALTER TABLE job_dlq DROP CONSTRAINT job_dlq_error_reason_check;
		ALTER TABLE job_dlq ADD CONSTRAINT job_dlq_error_reason_check
			CHECK (error_reason IN (${DlqReasons.map((reason) => `'${reason}'`).join(", ")}));
	`)
})

// --- [EXPORT]

export { dlqDefect }
