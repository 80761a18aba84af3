// The `jobs` and `job_dlq` tables (one DLQ entry per job: reopened by a new failure, resolved by a successful retry).
// Job statuses, DLQ reasons and DLQ statuses are closed lists: each Schema literal and its SQL
// CHECK constraint come from the same array (seed C2, G9).
import { Model } from "@effect/sql"
import { Schema } from "effect"
import { NullableTimestamp } from "../ModelFields.ts"
import { TenantId, Uuid } from "../Tenancy.ts"

// --- [CONSTANTS]

const JobStatuses = ["queued", "running", "succeeded", "failed", "dead_lettered", "cancelled"] as const

const DlqReasons = [
	"ValidationFailed",
	"MaxAttemptsExceeded",
	"Timeout",
	"NonRetryable",
	"Cancelled",
	"WorkerLost",
	"Defect",
] as const

// open: the job failed and waits for a retry or a drop; retrying: a retry runs; resolved: a retry succeeded.
const DlqStatuses = ["open", "retrying", "resolved"] as const

// The newest attempts a job keeps in its log (every run's attempts, across DLQ retries).
const AttemptLogLimit = 50

// --- [SCHEMA]

const JobId = Uuid.pipe(Schema.brand("JobId"))

// Who submitted a job: `service` (the tenant's service principal, ADMIN_TOKEN on /v1; also every job from before
// owners existed) or `user:<userId>` (a user's session, or an API key of that user).
const JobOwner = Schema.String.pipe(
	Schema.pattern(/^(service|user:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/),
)
type JobOwner = typeof JobOwner.Type
const JobStatus = Schema.Literal(...JobStatuses)
const DlqReason = Schema.Literal(...DlqReasons)
const DlqStatus = Schema.Literal(...DlqStatuses)

// One delivery attempt of one run: when it ended and what went wrong (null: it succeeded).
const JobAttempt = Schema.Struct({
	run: Schema.Int,
	attempt: Schema.Int,
	at: Schema.DateTimeUtc,
	error: Schema.NullOr(Schema.String),
})
type JobAttempt = typeof JobAttempt.Type

// A jsonb column added later: a stored reply (JSON) from before it existed decodes with the default.
const LaterJsonColumn = <S extends Schema.Schema.Any>(schema: S, fallback: () => Schema.Schema.Type<S>) =>
	Model.Field({
		select: schema,
		insert: schema,
		update: schema,
		json: Schema.optionalWith(schema, { default: fallback }),
	})

class Job extends Model.Class<Job>("Job")({
	id: Model.GeneratedByApp(JobId),
	appId: TenantId,
	owner: JobOwner,
	// The API key the job was submitted with, if any.
	ownerKeyId: Schema.NullOr(Schema.UUID),
	type: Schema.String,
	status: JobStatus,
	payload: Schema.Unknown,
	dedupeKey: Schema.NullOr(Schema.String),
	executionId: Schema.NullOr(Schema.String),
	attempts: Schema.Int,
	requestId: Schema.NullOr(Schema.String),
	ipAddress: Schema.NullOr(Schema.String),
	userAgent: Schema.NullOr(Schema.String),
	createdAt: Model.DateTimeInsertFromDate,
	updatedAt: Model.DateTimeUpdateFromDate,
	lastError: Schema.NullOr(Schema.String),
	finishedAt: NullableTimestamp,
	// What the last successful run answered (http.call: `{ status }`); null until then.
	result: LaterJsonColumn(Schema.NullOr(Schema.Unknown), () => null),
	attemptLog: LaterJsonColumn(Schema.Array(JobAttempt), () => []),
}) {}

class JobDlq extends Model.Class<JobDlq>("JobDlq")({
	id: Model.GeneratedByApp(Schema.UUID),
	appId: TenantId,
	jobId: JobId,
	type: Schema.String,
	errorReason: DlqReason,
	lastError: Schema.NullOr(Schema.String),
	attempts: Schema.Unknown,
	executionId: Schema.NullOr(Schema.String),
	retries: Schema.Int,
	retriedAt: NullableTimestamp,
	requestId: Schema.NullOr(Schema.String),
	ipAddress: Schema.NullOr(Schema.String),
	userAgent: Schema.NullOr(Schema.String),
	createdAt: Model.DateTimeInsertFromDate,
	status: DlqStatus,
	// Failed runs of the job; run numbers start at 0, so this is also the number of the next run.
	failures: Schema.Int,
	failedAt: Model.DateTimeInsertFromDate,
	resolvedAt: NullableTimestamp,
}) {}

// --- [EXPORT]

export {
	AttemptLogLimit,
	DlqReason,
	DlqReasons,
	DlqStatus,
	DlqStatuses,
	Job,
	JobAttempt,
	JobDlq,
	JobId,
	JobOwner,
	JobStatus,
	JobStatuses,
}
