// Protocol of the Job entity (id = `<tenantId>/<jobId>`; owns one `jobs` row and its lifecycle) and of the
// JobDirectory entity (id = tenantId; lists one tenant's jobs). Submitting, cancelling and the workflow's progress
// reports are persisted messages keyed by the caller, so a retry is applied once. No handler code lives here.
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { PrimaryKey, Schema } from "effect"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { InvalidTransition } from "../InvalidTransition.ts"
import { DlqReason, Job, JobOwner, JobStatus } from "./JobModel.ts"

// --- [SCHEMA]

const JobView = Job.json
type JobView = typeof JobView.Type

// `owner` defaults to the service principal (internal submitters, and messages stored before owners existed).
class SubmitJob extends Schema.Class<SubmitJob>("SubmitJob")({
	type: Schema.String,
	payload: Schema.Unknown,
	dedupeKey: Schema.NullOr(Schema.String),
	owner: Schema.optionalWith(JobOwner, { default: () => "service" }),
	ownerKeyId: Schema.optionalWith(Schema.NullOr(Schema.UUID), { default: () => null }),
}) {
	[PrimaryKey.symbol]() {
		return "submit"
	}
}

class CancelJob extends Schema.Class<CancelJob>("CancelJob")({ requestKey: Schema.String }) {
	[PrimaryKey.symbol]() {
		return this.requestKey
	}
}

// What the job's workflow reports; `step` makes each report its own idempotent message. Fields added later have
// defaults, so reports stored before them still decode.
const JobEvent = Schema.Union(
	Schema.TaggedStruct("Started", { executionId: Schema.String }),
	Schema.TaggedStruct("Attempted", {
		attempt: Schema.Int,
		error: Schema.NullOr(Schema.String),
		run: Schema.optionalWith(Schema.Int, { default: () => 0 }),
		at: Schema.optionalWith(Schema.NullOr(Schema.DateTimeUtc), { default: () => null }),
	}),
	Schema.TaggedStruct("Succeeded", {
		result: Schema.optionalWith(Schema.NullOr(Schema.Unknown), { default: () => null }),
	}),
	Schema.TaggedStruct("Failed", { reason: DlqReason, error: Schema.String }),
	Schema.TaggedStruct("DeadLettered", {}),
	Schema.TaggedStruct("Requeued", { executionId: Schema.String }),
)
type JobEvent = typeof JobEvent.Type

class RecordJobEvent extends Schema.Class<RecordJobEvent>("RecordJobEvent")({
	step: Schema.String,
	event: JobEvent,
}) {
	[PrimaryKey.symbol]() {
		return this.step
	}
}

// Starts run `run` of a dead-lettered job as a new workflow execution (from a DLQ retry).
class RetryJob extends Schema.Class<RetryJob>("RetryJob")({ run: Schema.Int.pipe(Schema.positive()) }) {
	[PrimaryKey.symbol]() {
		return `retry:${this.run}`
	}
}

const JobPage = Schema.Struct({ items: Schema.Array(JobView), nextCursor: Schema.NullOr(Schema.String) })

// --- [ERRORS]

class JobNotFound extends Schema.TaggedError<JobNotFound>()("JobNotFound", { message: Schema.String }) {}

// --- [PROTOCOL]

const JobEntity = Entity.make("Job", [
	Rpc.make("Submit", {
		payload: SubmitJob,
		success: JobView,
		error: StorageUnavailable,
	})
		.annotate(ClusterSchema.Persisted, true)
		.annotate(ClusterSchema.Uninterruptible, "client"),
	Rpc.make("Cancel", {
		payload: CancelJob,
		success: JobView,
		error: Schema.Union(JobNotFound, InvalidTransition, StorageUnavailable),
	})
		.annotate(ClusterSchema.Persisted, true)
		.annotate(ClusterSchema.Uninterruptible, "client"),
	Rpc.make("Record", {
		payload: RecordJobEvent,
		success: JobView,
		error: Schema.Union(JobNotFound, InvalidTransition, StorageUnavailable),
	})
		.annotate(ClusterSchema.Persisted, true)
		.annotate(ClusterSchema.Uninterruptible, "client"),
	Rpc.make("Retry", {
		payload: RetryJob,
		success: JobView,
		error: Schema.Union(JobNotFound, InvalidTransition, StorageUnavailable),
	})
		.annotate(ClusterSchema.Persisted, true)
		.annotate(ClusterSchema.Uninterruptible, "client"),
	Rpc.make("Get", { success: JobView, error: Schema.Union(JobNotFound, StorageUnavailable) }),
])

const JobDirectory = Entity.make("JobDirectory", [
	Rpc.make("List", {
		payload: {
			// Only this owner's jobs; null = every job of the tenant (the service principal).
			owner: Schema.NullOr(JobOwner),
			status: Schema.NullOr(JobStatus),
			type: Schema.NullOr(Schema.String),
			limit: Schema.Int.pipe(Schema.between(1, 100)),
			cursor: Schema.NullOr(Schema.String),
		},
		success: JobPage,
		error: StorageUnavailable,
	}),
])

// --- [EXPORT]

export {
	CancelJob,
	RetryJob,
	JobDirectory,
	JobEntity,
	JobEvent,
	JobNotFound,
	JobPage,
	JobView,
	RecordJobEvent,
	SubmitJob,
}
