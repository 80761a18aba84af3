// The `jobs` and `job_dlq` tables. Job statuses and DLQ reasons are closed lists: each Schema literal and its SQL
// CHECK constraint come from the same array (seed C2, G9).
import { Model } from "@effect/sql"
import { Schema } from "effect"
import { NullableTimestamp } from "./ModelFields.ts"
import { TenantId, Uuid } from "./Tenancy.ts"

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
}) {}

// --- [EXPORT]

export { DlqReason, DlqReasons, Job, JobDlq, JobId, JobOwner, JobStatus, JobStatuses }
