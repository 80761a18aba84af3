// The job kinds, each declared once: the schema its payload decodes with, whether tenants may submit it over
// `POST /v1/jobs` (and what the document says of its payload), the credential policy, the destination the gateway
// checks before accepting it, and which DLQ reasons `dlq.watch` retries on its own. Schemas and data only, so the
// gateway can validate and document; the workflow that runs each kind is registered in JobWorkflows.ts, which must
// list exactly these kinds (its type and test/workflows/JobKindRegistry.test.ts fail otherwise).
import { Effect, Schema } from "effect"
import type { DlqReason } from "../entities/job/JobModel.ts"

// --- [CONSTANTS]

const HttpMethods = ["GET", "POST", "PUT", "PATCH", "DELETE"] as const

// A failure that another run may fix; the rest wait for an operator.
const RetryableReasons = ["MaxAttemptsExceeded", "Timeout", "WorkerLost"] as const satisfies ReadonlyArray<
	typeof DlqReason.Type
>

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

// `tenant.delete` takes everything from the job row (its tenant); the gateway submits it with `{}`.
const TenantDeletePayload = Schema.Struct({})

// One event of the tenant's log to one webhook endpoint (submitted by the webhook dispatcher only).
const WebhookDeliverPayload = Schema.Struct({ endpointId: Schema.UUID, eventSeq: Schema.Int.pipe(Schema.positive()) })

type Submittable<A> = {
	readonly describe: string
	readonly sessionSetting: "allowUserHttpCalls" | null
	readonly destination: (payload: A) => string | null
}

// --- [FUNCTIONS]

// One kind's declaration. `submittable: null` keeps the kind internal (submitting it over /v1/jobs is
// UnknownJobType); otherwise `describe` is its sentence in the OpenAPI document, `sessionSetting` the tenant setting
// without which a plain session may not submit it (an API key or the service principal always may), and
// `destination` the URL of a payload that the destination policy must allow before the job is accepted.
// `dlqAutoRetry`: the DLQ reasons of this kind's entries that `dlq.watch` retries on its own.
const jobKind = <const Kind extends string, A, I, S extends Submittable<A> | null>(
	kind: Kind,
	declaration: {
		readonly payload: Schema.Schema<A, I>
		readonly submittable: S
		readonly dlqAutoRetry: ReadonlyArray<typeof DlqReason.Type>
	},
) => ({
	kind,
	...declaration,
	// A submitted payload, decoded (every issue reported) and encoded again as it is stored, with its destination.
	accept: (input: unknown) =>
		Schema.decodeUnknown(declaration.payload)(input, { errors: "all" }).pipe(
			Effect.map((payload) => ({
				stored: Schema.encodeSync(declaration.payload)(payload),
				destination: declaration.submittable?.destination(payload) ?? null,
			})),
		),
})

// --- [PROTOCOL]

const JobKinds = {
	"http.call": jobKind("http.call", {
		payload: HttpCallPayload,
		submittable: {
			describe:
				"`url` (public address, or a host listed in JOBS_HTTP_ALLOWED_HOSTS), `method` (default POST), `headers`, `body` (sent as JSON).",
			sessionSetting: "allowUserHttpCalls",
			destination: (payload) => payload.url,
		},
		dlqAutoRetry: RetryableReasons,
	}),
	"tenant.delete": jobKind("tenant.delete", {
		payload: TenantDeletePayload,
		submittable: null,
		dlqAutoRetry: RetryableReasons,
	}),
	"webhook.deliver": jobKind("webhook.deliver", {
		payload: WebhookDeliverPayload,
		submittable: null,
		dlqAutoRetry: [],
	}),
} as const

type JobKind = keyof typeof JobKinds
// The `satisfies` holds each kind under its own name.
const JobKind = Schema.Literal(
	...(Object.keys(JobKinds satisfies { readonly [Kind in JobKind]: { readonly kind: Kind } }) as [
		JobKind,
		...Array<JobKind>,
	]),
)

// The kinds of `Registry` whose `submittable` is not null.
type SubmittableOf<Registry extends Record<string, { readonly submittable: unknown }>> = {
	readonly [Kind in keyof Registry]: Registry[Kind]["submittable"] extends null ? never : Kind
}[keyof Registry]
const SubmittableJobType = Schema.Literal(
	...(JobKind.literals.filter((kind) => JobKinds[kind].submittable !== null) as [
		SubmittableOf<typeof JobKinds>,
		...Array<SubmittableOf<typeof JobKinds>>,
	]),
)
type SubmittableJobType = typeof SubmittableJobType.Type

// --- [EXPORT]

export {
	HttpCallPayload,
	JobKind,
	JobKinds,
	RetryableReasons,
	SubmittableJobType,
	TenantDeletePayload,
	WebhookDeliverPayload,
}
