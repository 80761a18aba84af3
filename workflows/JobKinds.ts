// The job kinds a tenant may submit over `POST /v1/jobs`, each with the schema its payload must decode with. Every
// kind runs as a durable workflow on the runners; this file holds schemas only, so the gateway can validate.
import { Schema } from "effect"

// --- [CONSTANTS]

const HttpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const

// --- [SCHEMA]

const HttpCallPayload = Schema.Struct({
	url: Schema.String.pipe(Schema.minLength(1), Schema.maxLength(2048)),
	method: Schema.optionalWith(Schema.Literal(...HttpMethods), { default: () => "POST" as const }),
	headers: Schema.optionalWith(
		Schema.Record({
			key: Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9!#$%&'*+.^_`|~-]{1,128}$/)),
			value: Schema.String.pipe(Schema.maxLength(4096)),
		}),
		{ default: () => ({}) },
	),
	body: Schema.optional(Schema.Unknown),
})
type HttpCallPayload = typeof HttpCallPayload.Type

const SubmittableJobType = Schema.Literal("http.call")
type SubmittableJobType = typeof SubmittableJobType.Type

const JobPayloads = { "http.call": HttpCallPayload } as const

// --- [EXPORT]

export { HttpCallPayload, JobPayloads, SubmittableJobType }
