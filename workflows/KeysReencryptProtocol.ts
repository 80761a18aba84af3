// The `keys.reencrypt` workflow (seed C4, second half): reseals every encrypted column with the current key of
// ENCRYPTION_KEYS, in resumable batches (a finished batch is never redone when the workflow replays), and reports what
// it resealed, what was already current and what failed. Started through the KeyRotation entity by
// `npm run cli -- keys reencrypt`. No handler code lives here.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Workflow } from "@effect/workflow"
import { Schema } from "effect"

// --- [SCHEMA]

const ReencryptFailure = Schema.Struct({ column: Schema.String, key: Schema.String, error: Schema.String })

const ReencryptReport = Schema.Struct({
	resealed: Schema.Int,
	alreadyCurrent: Schema.Int,
	failed: Schema.Int,
	failures: Schema.Array(ReencryptFailure),
})
type ReencryptReport = typeof ReencryptReport.Type

// --- [PROTOCOL]

const KeysReencryptWorkflow = Workflow.make({
	name: "KeysReencrypt",
	payload: { runId: Schema.String, batchSize: Schema.Int.pipe(Schema.between(1, 10_000)) },
	success: ReencryptReport,
	idempotencyKey: ({ runId }) => runId,
})

const KeyRotation = Entity.make("KeyRotation", [
	Rpc.make("Reencrypt", {
		payload: { runId: Schema.String, batchSize: Schema.Int.pipe(Schema.between(1, 10_000)) },
		success: Schema.Struct({ executionId: Schema.String, report: ReencryptReport }),
	}),
])

// --- [EXPORT]

export { KeyRotation, KeysReencryptWorkflow, ReencryptFailure, ReencryptReport }
