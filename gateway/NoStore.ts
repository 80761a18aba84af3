// Responses that carry a credential (a session token, an API key) must not be kept by any cache, shared or private:
// `Cache-Control: no-store`, and `Pragma: no-cache` for HTTP/1.0 caches. Applied to whatever response the request
// ends with (typed success, redirect or error).
import { HttpApp, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"

// --- [FUNCTIONS]

const noStore = HttpApp.appendPreResponseHandler((_request, response) =>
	Effect.succeed(HttpServerResponse.setHeaders(response, { "cache-control": "no-store", pragma: "no-cache" })),
)

// --- [EXPORT]

export { noStore }
