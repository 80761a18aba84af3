// Protocol of the WorkflowInspector entity. It runs on runners and is read-only over @effect/cluster's own journal
// (`cluster_messages` and `cluster_replies`), of which it keeps no second copy, apart from resume and interrupt. The
// gateway's admin API and the CLI call it; engineers use it to see what ran, what failed and what is waiting.
import { Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { Schema } from "effect"
import { DlqEntryView } from "../entities/job/DlqProtocol.ts"
import { StorageUnavailable } from "../platform/StorageUnavailable.ts"

// --- [SCHEMA]

const ExecutionStatus = Schema.Literal("running", "suspended", "succeeded", "failed")

const ExecutionSummary = Schema.Struct({
	executionId: Schema.String,
	workflow: Schema.String,
	status: ExecutionStatus,
	tenantId: Schema.NullOr(Schema.String),
	jobId: Schema.NullOr(Schema.String),
	requestId: Schema.NullOr(Schema.String),
	startedAt: Schema.DateTimeUtc,
	finishedAt: Schema.NullOr(Schema.DateTimeUtc),
})

const ActivityAttempt = Schema.Struct({
	attempt: Schema.Int,
	status: Schema.Literal("running", "succeeded", "failed"),
	error: Schema.NullOr(Schema.Unknown),
	// The error in words (`503 from the destination`); null when the attempt did not fail.
	message: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
	startedAt: Schema.DateTimeUtc,
	finishedAt: Schema.NullOr(Schema.DateTimeUtc),
})

const ActivityRecord = Schema.Struct({
	name: Schema.String,
	compensation: Schema.Boolean,
	attempts: Schema.Array(ActivityAttempt),
})

const ExecutionDetail = Schema.Struct({
	...ExecutionSummary.fields,
	payload: Schema.Unknown,
	result: Schema.NullOr(Schema.Unknown),
	// Why the execution failed, in words; null unless it failed.
	failure: Schema.optionalWith(Schema.NullOr(Schema.String), { default: () => null }),
	activities: Schema.Array(ActivityRecord),
	job: Schema.NullOr(Schema.Unknown),
	// The DLQ entry of the execution's job (one per job), if it has one.
	deadLetters: Schema.Array(DlqEntryView),
})

const ExecutionFilter = Schema.Struct({
	workflow: Schema.NullOr(Schema.String),
	status: Schema.NullOr(ExecutionStatus),
	tenantId: Schema.NullOr(Schema.String),
	since: Schema.NullOr(Schema.DateTimeUtc),
	until: Schema.NullOr(Schema.DateTimeUtc),
	limit: Schema.Int.pipe(Schema.between(1, 100)),
	cursor: Schema.NullOr(Schema.String),
})

// One thing a request caused, at the time it happened. `detail` is the row or record it comes from (an execution's
// payload headers redacted as in Show).
const CausedStep = Schema.Struct({
	at: Schema.DateTimeUtc,
	kind: Schema.Literal("audit", "event", "job", "execution", "activity", "dead_letter"),
	name: Schema.String,
	detail: Schema.Unknown,
})

// What a request caused, in time order, and the trace it ran in (when a stored entity message still names it).
const RequestTrace = Schema.Struct({
	requestId: Schema.String,
	traceId: Schema.NullOr(Schema.String),
	steps: Schema.Array(CausedStep),
})

const ExecutionPage = Schema.Struct({ items: Schema.Array(ExecutionSummary), nextCursor: Schema.NullOr(Schema.String) })

// --- [ERRORS]

class ExecutionNotFound extends Schema.TaggedError<ExecutionNotFound>()("ExecutionNotFound", {
	message: Schema.String,
}) {}

// Resume or interrupt of an execution that has already finished (succeeded or failed): there is nothing to act on.
class ExecutionFinished extends Schema.TaggedError<ExecutionFinished>()("ExecutionFinished", {
	message: Schema.String,
	executionId: Schema.String,
	status: ExecutionStatus,
}) {}

// --- [PROTOCOL]

const WorkflowInspector = Entity.make("WorkflowInspector", [
	Rpc.make("List", { payload: ExecutionFilter, success: ExecutionPage, error: StorageUnavailable }),
	Rpc.make("Show", {
		payload: { executionId: Schema.String },
		success: ExecutionDetail,
		error: Schema.Union(ExecutionNotFound, StorageUnavailable),
	}),
	Rpc.make("Caused", {
		payload: { requestId: Schema.String },
		success: RequestTrace,
		error: StorageUnavailable,
	}),
	Rpc.make("Resume", {
		payload: { executionId: Schema.String },
		success: ExecutionSummary,
		error: Schema.Union(ExecutionNotFound, ExecutionFinished, StorageUnavailable),
	}),
	Rpc.make("Interrupt", {
		payload: { executionId: Schema.String },
		success: ExecutionSummary,
		error: Schema.Union(ExecutionNotFound, ExecutionFinished, StorageUnavailable),
	}),
])

// --- [EXPORT]

export {
	ActivityRecord,
	CausedStep,
	ExecutionDetail,
	ExecutionFilter,
	ExecutionFinished,
	ExecutionNotFound,
	ExecutionPage,
	ExecutionStatus,
	ExecutionSummary,
	RequestTrace,
	WorkflowInspector,
}
