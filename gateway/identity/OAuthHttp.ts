// Handlers of the OAuth sign-in routes (start and callback, no credential): the anonymous rate limit and the
// request's cookies and address go in, the OAuthFlow does the rest. A callback refused by the login limits is a 429
// with Retry-After.
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"
import { currentRequestMeta } from "../../platform/RequestContext.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Api } from "../Api.ts"
import type { TooManyAttempts } from "./LoginLimiter.ts"
import { noStore } from "../NoStore.ts"
import { OAuthFlow } from "./OAuthFlow.ts"
import { RateLimiter } from "../RateLimiter.ts"

// --- [FUNCTIONS]

const tooMany = (error: TooManyAttempts) =>
	HttpServerResponse.unsafeJson(
		{ _tag: error._tag, message: error.message, retryAfterSeconds: error.retryAfterSeconds },
		{ status: 429, headers: { "retry-after": String(error.retryAfterSeconds) } },
	)

// --- [LAYERS]

const OAuthHttpLive = HttpApiBuilder.group(Api, "oauth", (handlers) =>
	Effect.gen(function* () {
		const flow = yield* OAuthFlow
		const limiter = yield* RateLimiter
		return handlers
			.handle("start", ({ path, urlParams }) =>
				Effect.gen(function* () {
					const request = yield* HttpServerRequest.HttpServerRequest
					yield* limiter.spend
					return yield* flow.start(path.provider, urlParams.app_id ?? request.headers["x-app-id"], urlParams)
				}).pipe(Telemetry.span("OAuthHttp.start", { provider: path.provider })),
			)
			.handle("callback", ({ path, urlParams }) =>
				Effect.gen(function* () {
					yield* noStore
					const request = yield* HttpServerRequest.HttpServerRequest
					const { ip } = yield* currentRequestMeta
					return yield* flow.callback({
						provider: path.provider,
						params: urlParams,
						cookies: request.cookies,
						ip,
					})
				}).pipe(
					Effect.catchTag("TooManyAttempts", (error) => Effect.succeed(tooMany(error))),
					Telemetry.span("OAuthHttp.callback", { provider: path.provider }),
				),
			)
	}),
)

// --- [EXPORT]

export { OAuthHttpLive }
