// Field kinds the Models share. A timestamptz is a Date from Postgres and an ISO string on the wire; a column that is
// the platform's bookkeeping (the tenant a row belongs to, when it ended) stays out of the json variants, which are the
// views served over HTTP and RPC.
import { Model } from "@effect/sql"
import { Schema } from "effect"

// --- [SCHEMA]

const Timestamp = Model.Field({
	select: Model.DateTimeFromDate,
	insert: Model.DateTimeFromDate,
	update: Model.DateTimeFromDate,
	json: Schema.DateTimeUtc,
})

const NullableTimestamp = Model.Field({
	select: Schema.NullOr(Model.DateTimeFromDate),
	insert: Schema.NullOr(Model.DateTimeFromDate),
	update: Schema.NullOr(Model.DateTimeFromDate),
	json: Schema.NullOr(Schema.DateTimeUtc),
})

// In the table, never in a view (unlike `Model.Sensitive`, nothing secret: just not the client's business).
const NotInJson = Model.FieldExcept("json", "jsonCreate", "jsonUpdate")

// --- [EXPORT]

export { NotInJson, NullableTimestamp, Timestamp }
