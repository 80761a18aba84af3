// Protocol of the dead-letter queue: DlqDirectory (id "all"; lists entries across tenants for operators) and
// DlqEntry (id = the entry's id; single-threaded, so one entry is never retried twice at once). A job has at most one
// entry: a retry starts a new execution of the job and links it (the entry is `retrying`, then `resolved` when that
// run succeeds, or `open` again when it fails); a drop deletes the entry. No handler code lives here.
import { ClusterSchema, Entity } from "@effect/cluster"
import { Rpc } from "@effect/rpc"
import { PrimaryKey, Schema, Struct } from "effect"
import { StorageUnavailable } from "../../platform/StorageUnavailable.ts"
import { InvalidTransition } from "../InvalidTransition.ts"
import { DlqReason, DlqStatus, JobDlq } from "./JobModel.ts"
import { JobNotFound, JobView } from "./JobProtocol.ts"
import { TenantId } from "../Tenancy.ts"

// --- [SCHEMA]

// What every view shows of an entry: CONTRACT.md's `reason` (the column, and the model, say `error_reason`) and the
// entry's tenant as `tenantId` (the model's `appId`).
const DlqEntryView = Schema.Struct({
	id: JobDlq.json.fields.id,
	tenantId: TenantId,
	...Struct.omit(JobDlq.json.fields, "id", "appId", "errorReason"),
	reason: DlqReason,
})
type DlqEntryView = typeof DlqEntryView.Type

const DlqPage = Schema.Struct({ items: Schema.Array(DlqEntryView), nextCursor: Schema.NullOr(Schema.String) })

class DlqCommand extends Schema.Class<DlqCommand>("DlqCommand")({ requestKey: Schema.String }) {
	[PrimaryKey.symbol]() {
		return this.requestKey
	}
}

// --- [ERRORS]

class DlqEntryNotFound extends Schema.TaggedError<DlqEntryNotFound>()("DlqEntryNotFound", { message: Schema.String }) {}

// --- [PROTOCOL]

const DlqDirectory = Entity.make("DlqDirectory", [
	Rpc.make("List", {
		payload: {
			tenantId: Schema.NullOr(Schema.UUID),
			reason: Schema.NullOr(DlqReason),
			status: Schema.NullOr(DlqStatus),
			type: Schema.NullOr(Schema.String),
			limit: Schema.Int.pipe(Schema.between(1, 100)),
			cursor: Schema.NullOr(Schema.String),
		},
		success: DlqPage,
		error: StorageUnavailable,
	}),
])

const DlqEntry = Entity.make("DlqEntry", [
	Rpc.make("Retry", {
		payload: DlqCommand,
		success: Schema.Struct({ entry: DlqEntryView, job: JobView }),
		error: Schema.Union(DlqEntryNotFound, JobNotFound, InvalidTransition, StorageUnavailable),
	})
		.annotate(ClusterSchema.Persisted, true)
		.annotate(ClusterSchema.Uninterruptible, "client"),
	Rpc.make("Drop", {
		payload: DlqCommand,
		success: DlqEntryView,
		error: Schema.Union(DlqEntryNotFound, StorageUnavailable),
	})
		.annotate(ClusterSchema.Persisted, true)
		.annotate(ClusterSchema.Uninterruptible, "client"),
])

// --- [EXPORT]

const toDlqEntryView = ({ appId, errorReason, ...row }: JobDlq): DlqEntryView => ({
	...row,
	tenantId: appId,
	reason: errorReason,
})

export { toDlqEntryView, DlqCommand, DlqDirectory, DlqEntry, DlqEntryNotFound, DlqEntryView, DlqPage }
