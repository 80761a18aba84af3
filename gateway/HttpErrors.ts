// Errors that exist only at the HTTP edge, each with the status CONTRACT.md gives it. Entity errors
// (TenantNotFound, InvalidTransition, …) get their status where an endpoint or a middleware's `failure` lists them.
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

// --- [SCHEMA]

const ValidationIssue = Schema.Struct({
	path: Schema.Array(Schema.Union(Schema.String, Schema.Number)),
	message: Schema.String,
})

// --- [ERRORS]

class ValidationError extends Schema.TaggedError<ValidationError>()(
	"ValidationError",
	{ message: Schema.String, issues: Schema.Array(ValidationIssue) },
	HttpApiSchema.annotations({ status: 400 }),
) {}

class MissingTenant extends Schema.TaggedError<MissingTenant>()(
	"MissingTenant",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 400 }),
) {}

class Unauthorized extends Schema.TaggedError<Unauthorized>()(
	"Unauthorized",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 401 }),
) {}

// A session still waiting for its second factor: only the MFA routes (and, without a passkey yet under
// mfa=required, passkey registration) accept it.
class MfaRequired extends Schema.TaggedError<MfaRequired>()(
	"MfaRequired",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 401 }),
) {}

// A sensitive operation of a user with a passkey needs a passkey verification within WEBAUTHN_STEP_UP_WINDOW.
class StepUpRequired extends Schema.TaggedError<StepUpRequired>()(
	"StepUpRequired",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 403 }),
) {}

class RouteNotFound extends Schema.TaggedError<RouteNotFound>()(
	"RouteNotFound",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 404 }),
) {}

class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
	"PayloadTooLarge",
	{ message: Schema.String, limitBytes: Schema.Number },
	HttpApiSchema.annotations({ status: 413 }),
) {}

class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
	"UnsupportedMediaType",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 415 }),
) {}

// Too many anonymous requests from one client group; answered with `Retry-After`.
class TooManyRequests extends Schema.TaggedError<TooManyRequests>()(
	"TooManyRequests",
	{ message: Schema.String, retryAfterSeconds: Schema.Int },
	HttpApiSchema.annotations({ status: 429 }),
) {}

// A bug, never bad input: logged with its cause, answered without details.
class InternalError extends Schema.TaggedError<InternalError>()(
	"InternalError",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 500 }),
) {}

// Answered with `Retry-After`: the caller did nothing wrong and may try again.
class ServiceUnavailable extends Schema.TaggedError<ServiceUnavailable>()(
	"ServiceUnavailable",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 503 }),
) {}

// --- [EXPORT]

export {
	InternalError,
	MissingTenant,
	PayloadTooLarge,
	RouteNotFound,
	ServiceUnavailable,
	TooManyRequests,
	MfaRequired,
	StepUpRequired,
	Unauthorized,
	UnsupportedMediaType,
	ValidationError,
	ValidationIssue,
}
