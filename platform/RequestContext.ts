// Who asked, from where: placed in the Effect context once by the gateway and carried from there into entity
// messages (as RPC headers), workflow payloads, events and audit rows. Nobody copies these fields by hand.
import { Headers } from "@effect/platform"
import { Context, Effect, Option, Schema } from "effect"

// --- [CONSTANTS]

const HeaderNames = {
	requestId: "x-request-id",
	ip: "x-client-ip",
	userAgent: "x-client-user-agent",
} as const

// --- [SCHEMA]

const RequestMeta = Schema.Struct({
	requestId: Schema.String,
	ip: Schema.NullOr(Schema.String),
	userAgent: Schema.NullOr(Schema.String),
})
type RequestMeta = typeof RequestMeta.Type

// --- [SERVICES]

class RequestContext extends Context.Tag("platform/RequestContext")<RequestContext, RequestMeta>() {}

// --- [FUNCTIONS]

const toHeaders = (meta: RequestMeta): Headers.Headers =>
	Headers.fromInput({
		[HeaderNames.requestId]: meta.requestId,
		...(meta.ip === null ? {} : { [HeaderNames.ip]: meta.ip }),
		...(meta.userAgent === null ? {} : { [HeaderNames.userAgent]: meta.userAgent }),
	})

// Read back on the entity side; a call without a gateway behind it (CLI, cron) gets a fresh system id.
const fromHeaders = (headers: Headers.Headers): RequestMeta => ({
	requestId: Option.getOrElse(Headers.get(headers, HeaderNames.requestId), () => `system-${crypto.randomUUID()}`),
	ip: Option.getOrNull(Headers.get(headers, HeaderNames.ip)),
	userAgent: Option.getOrNull(Headers.get(headers, HeaderNames.userAgent)),
})

const current = Effect.map(Effect.serviceOption(RequestContext), (meta) =>
	Option.getOrElse(meta, () => fromHeaders(Headers.empty)),
)

// --- [EXPORT]

const RequestContextHeaders = { toHeaders, fromHeaders, names: HeaderNames } as const

export { current as currentRequestMeta, RequestContext, RequestContextHeaders, RequestMeta }
