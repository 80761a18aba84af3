// Responses that carry a credential (a session token, an API key) must not be kept by any cache, shared or private:
// `Cache-Control: no-store`, and `Pragma: no-cache` for HTTP/1.0 caches. Applied to whatever response the request
// ends with (typed success, redirect or error). The gateway's own idempotency store is such a cache too: a request
// marked here tells it (through NoStoreMark, when it listens) not to keep the response.
import { HttpApp, HttpServerResponse } from "@effect/platform"
import { Context, Effect, MutableRef, Option } from "effect"

// --- [SERVICES]

class NoStoreMark extends Context.Tag("gateway/NoStoreMark")<NoStoreMark, MutableRef.MutableRef<boolean>>() {}

// --- [FUNCTIONS]

const noStore = HttpApp.appendPreResponseHandler((_request, response) =>
	Effect.succeed(HttpServerResponse.setHeaders(response, { "cache-control": "no-store", pragma: "no-cache" })),
).pipe(
	Effect.zipRight(
		Effect.serviceOption(NoStoreMark).pipe(Effect.map(Option.map((mark) => MutableRef.set(mark, true)))),
	),
	Effect.asVoid,
)

// --- [EXPORT]

export { noStore, NoStoreMark }
