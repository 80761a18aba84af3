// The gateway's HTTP server: the HttpApi with its handlers, /openapi.json and /docs, /rpc (the internal API, see
// gateway/rpc/), and the two edge middlewares.
// The outer one gives every response its X-Request-Id, places the RequestContext (and the RPC headers that carry it
// to entities) once, adds Retry-After to 503s and turns anything unexpected into a JSON error. The inner one turns
// bad input into 400/413/415 with a tagged body before a handler runs.
import {
	HttpApiBuilder,
	HttpApiScalar,
	HttpApp,
	HttpIncomingMessage,
	HttpMethod,
	HttpRouter,
	HttpServer,
	HttpServerRequest,
	HttpServerError,
	HttpServerResponse,
} from "@effect/platform"
import type { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import { NodeHttpServer } from "@effect/platform-node"
import { RpcClient } from "@effect/rpc"
import { Cause, Clock, Duration, Effect, Layer, Match, Option, Predicate, Schema } from "effect"
import { createServer } from "node:http"
import { ClusterBacklogMetricsLive } from "../platform/ClusterBacklog.ts"
import { MetricsRegistry } from "../platform/Metrics.ts"
import { RequestContext, RequestContextHeaders, type RequestMeta } from "../platform/RequestContext.ts"
import { AdminAuthLive } from "./AdminAuth.ts"
import { AdminJobsHttpLive } from "./jobs/AdminJobsHttp.ts"
import { AdminRequestsHttpLive } from "./observability/AdminRequestsHttp.ts"
import { AdminTenantsHttpLive } from "./tenant/AdminTenantsHttp.ts"
import { AdminUsersHttpLive } from "./identity/AdminUsersHttp.ts"
import { cors } from "./Cors.ts"
import { ChannelsHttpLive } from "./realtime/ChannelsHttp.ts"
import { CredentialsLive } from "./identity/Credentials.ts"
import { IdentityConfigLive } from "./identity/IdentityConfig.ts"
import { Api } from "./Api.ts"
import { clientAddress } from "./ClientAddress.ts"
import { GatewayConfig } from "./GatewayConfig.ts"
import { HealthHttpLive } from "./HealthHttp.ts"
import { HttpMetrics } from "./HttpMetrics.ts"
import { idempotent } from "./IdempotencyKey.ts"
import { JobsHttpLive } from "./jobs/JobsHttp.ts"
import { EventsHttpLive } from "./events/EventsHttp.ts"
import { EventFeed } from "./realtime/EventFeed.ts"
import { WebhooksHttpLive } from "./webhook/WebhooksHttp.ts"
import { OAuthFlow } from "./identity/OAuthFlow.ts"
import { OAuthHttpLive } from "./identity/OAuthHttp.ts"
import { OpenApiRouteLive } from "./OpenApiDocument.ts"
import { PrincipalMiddlewareLive } from "./identity/PrincipalMiddleware.ts"
import { RealtimeConfigLive } from "./realtime/RealtimeConfig.ts"
import { RealtimeHub, RealtimeMetricsLive } from "./realtime/RealtimeHub.ts"
import { RateLimiter } from "./RateLimiter.ts"
import { RealtimeRouteLive } from "./realtime/RealtimeSocket.ts"
import { InternalRpcRouteLive, RpcPath } from "./rpc/InternalRpcRoute.ts"
import { SessionsHttpLive } from "./identity/SessionsHttp.ts"
import { MfaHttpLive, PasskeyLoginHttpLive, PasskeysHttpLive } from "./identity/PasskeysHttp.ts"
import { readBody } from "./RequestBody.ts"
import {
	InternalError,
	PayloadTooLarge,
	RouteNotFound,
	TooManyRequests,
	ServiceUnavailable,
	UnsupportedMediaType,
	ValidationError,
} from "./HttpErrors.ts"
import { TenantCache } from "./tenant/TenantCache.ts"
import { TenantHttpLive } from "./tenant/TenantHttp.ts"
import { TokenHttpLive } from "./identity/TokenHttp.ts"
import { TenantMiddlewareLive } from "./tenant/TenantMiddleware.ts"
import { UsersHttpLive } from "./identity/UsersHttp.ts"
import { validationError } from "./ValidationMessages.ts"

// --- [CONSTANTS]

const RequestIdPattern = /^[A-Za-z0-9._-]{1,128}$/

// No request schema nests deeper; a body nested further is refused before it is parsed (the parser and the error
// formatting recurse, and a few thousand levels overflow the stack).
const MaxJsonDepth = 64

// Escape sequences (skipped whole), quotes and brackets: all a nesting count needs to look at.
const JsonStructure = /\\[\s\S]|["[\]{}]/g

// --- [FUNCTIONS]

const requestMeta = (
	request: HttpServerRequest.HttpServerRequest,
	trustedProxies: ReadonlyArray<string>,
): RequestMeta => ({
	requestId: Option.fromNullable(request.headers["x-request-id"]).pipe(
		Option.filter((value) => RequestIdPattern.test(value)),
		Option.getOrElse(() => crypto.randomUUID()),
	),
	ip: Option.getOrNull(clientAddress(request.remoteAddress, request.headers["x-forwarded-for"], trustedProxies)),
	userAgent: request.headers["user-agent"] ?? null,
})

const isWebSocket = (request: HttpServerRequest.HttpServerRequest) =>
	request.headers["upgrade"]?.toLowerCase() === "websocket"

// What a 5xx said, for its log line.
const bodyText = (response: HttpServerResponse.HttpServerResponse) =>
	Match.value(response.body).pipe(
		Match.tag("Uint8Array", (body) => new TextDecoder().decode(body.body)),
		Match.orElse((body) => body._tag),
	)

// A request still unanswered at the deadline is answered 503 (with Retry-After) at once, and its handler is interrupted
// in the background. The platform runs middlewares uninterruptibly and persisted entity calls are uninterruptible from
// the client, so the wait is disconnected from the work: the answer never waits for an interruption to take effect, and
// persisted work goes on to its end (its outcome is then what a repeat with the same Idempotency-Key gets).
const withDeadline =
	(deadline: Duration.DurationInput, retryAfterSeconds: number, request: HttpServerRequest.HttpServerRequest) =>
	<E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<E, R> =>
		isWebSocket(request)
			? app
			: Effect.uninterruptible(app).pipe(
					Effect.disconnect,
					Effect.timeoutTo({
						duration: deadline,
						onSuccess: Effect.succeed,
						onTimeout: () =>
							Effect.succeed(
								HttpServerResponse.unsafeJson(
									{
										_tag: "ServiceUnavailable",
										message: "the platform did not answer in time; try again",
									},
									// Set here too: a deadline's answer was once seen without the pre-response handler's header.
									{ status: 503, headers: { "retry-after": String(retryAfterSeconds) } },
								),
							),
					}),
					Effect.flatten,
					Effect.interruptible,
				)

// Outer edge: correlation for the whole request; X-Request-Id and Retry-After are added by a pre-response handler so
// they reach every response, error responses included.
const edge =
	(options: {
		readonly retryAfterSeconds: number
		readonly trustedProxies: ReadonlyArray<string>
		readonly requestTimeout: Duration.DurationInput
	}) =>
	<E, R>(app: HttpApp.Default<E, R>) =>
		Effect.gen(function* () {
			const { retryAfterSeconds, trustedProxies } = options
			const request = yield* HttpServerRequest.HttpServerRequest
			const meta = requestMeta(request, trustedProxies)
			const started = yield* Clock.currentTimeMillis
			yield* HttpApp.appendPreResponseHandler((_request, response) =>
				Effect.succeed(
					response.pipe(HttpServerResponse.setHeader("x-request-id", meta.requestId), (withId) =>
						withId.status === 503
							? HttpServerResponse.setHeader(withId, "retry-after", String(retryAfterSeconds))
							: withId,
					),
				),
			)
			return yield* app.pipe(
				withDeadline(options.requestTimeout, options.retryAfterSeconds, request),
				Effect.tap((response) =>
					Effect.when(
						Effect.logWarning(`answered ${response.status}`, bodyText(response)),
						() => response.status >= 500,
					),
				),
				// Whatever the API could not encode (a handler interrupted while its client is still there, a defect)
				// still answers a JSON error: an empty 5xx tells nobody anything.
				Effect.catchAllCause((cause) => {
					// A response raised as the failure (the platform's way to answer from inside a route) is that
					// answer; an empty 5xx among them becomes the JSON error below like any other.
					const raised = Option.filter(
						Option.orElse(Cause.failureOption(cause), () => Cause.dieOption(cause)),
						HttpServerResponse.isServerResponse,
					)
					const [status, error] = Option.isSome(raised)
						? [503, new ServiceUnavailable({ message: "the platform is temporarily unavailable" })]
						: Cause.isInterruptedOnly(cause)
							? [503, new ServiceUnavailable({ message: "the request was interrupted; try again" })]
							: [500, new InternalError({ message: "an unexpected error occurred" })]
					// A WebSocket's request ends by interruption when its socket closes; the answer goes nowhere then.
					const closedSocket =
						isWebSocket(request) && (Option.isSome(raised) || Cause.isInterruptedOnly(cause))
					return Option.isSome(raised) && raised.value.status < 500
						? Effect.succeed(raised.value)
						: (closedSocket ? Effect.logDebug : Effect.logWarning)(
								`answered ${status} ${error._tag}`,
								cause,
							).pipe(
								Effect.as(
									HttpServerResponse.unsafeJson(
										{ _tag: error._tag, message: error.message },
										{ status },
									),
								),
							)
				}),
				Effect.tap((response) =>
					Effect.flatMap(Clock.currentTimeMillis, (now) =>
						HttpMetrics.record(request, response.status, Duration.millis(now - started)),
					),
				),
				Effect.provideService(RequestContext, meta),
				RpcClient.withHeaders(RequestContextHeaders.toHeaders(meta)),
				// The path only: a query string may carry an OAuth code or state, which never go into a log.
				Effect.annotateLogs({
					requestId: meta.requestId,
					method: request.method,
					url: request.url.split("?")[0],
				}),
			)
		})

// The deepest nesting of brackets outside strings in a JSON text (malformed text counts what it has).
const jsonDepth = (text: string) =>
	(text.match(JsonStructure) ?? []).reduce(
		(state, token) =>
			token.length === 2
				? state
				: token === '"'
					? { ...state, inString: !state.inString }
					: state.inString
						? state
						: token === "[" || token === "{"
							? { ...state, depth: state.depth + 1, deepest: Math.max(state.deepest, state.depth + 1) }
							: { ...state, depth: state.depth - 1 },
		{ inString: false, depth: 0, deepest: 0 },
	).deepest

// Inner edge: size and media type are decided before the body is read; decode failures become ValidationError; a
// rate-limited request's 429 gets its Retry-After. The router's type says it never fails, but it does fail with these:
// name them so they can be caught by tag.
const inputGuard = (maxBodyBytes: number) => (router: HttpApp.Default) =>
	Effect.gen(function* () {
		const app = router as HttpApp.Default<HttpApiDecodeError | HttpServerError.RouteNotFound>
		const request = yield* HttpServerRequest.HttpServerRequest
		const length = Number(request.headers["content-length"] ?? "0")
		const hasBody =
			HttpMethod.hasBody(request.method) && (length > 0 || request.headers["transfer-encoding"] !== undefined)
		const contentType = (request.headers["content-type"] ?? "application/json").toLowerCase()
		// `POST /rpc` speaks NDJSON (one JSON message a line): its lines are JSON texts like any other body.
		const accepted =
			contentType.includes("application/json") ||
			(request.url.split("?")[0] === RpcPath && contentType.includes("application/ndjson"))
		yield* length > maxBodyBytes
			? Effect.fail(
					new PayloadTooLarge({
						message: `request body exceeds ${maxBodyBytes} bytes`,
						limitBytes: maxBodyBytes,
					}),
				)
			: hasBody && !accepted
				? Effect.fail(new UnsupportedMediaType({ message: "request bodies must be application/json" }))
				: Effect.void
		// The text is read once and kept by the request, so the handler's own decoding does not read it again. Not for
		// `/rpc`: its route hands the RPC server a request with the edge's correlation headers, a new request object
		// that reads the body itself (a body read here would be gone by then).
		yield* Effect.when(
			readBody(request, maxBodyBytes).pipe(
				Effect.filterOrFail(
					(text) => jsonDepth(text) <= MaxJsonDepth,
					() =>
						new ValidationError({
							message: `request: JSON nested deeper than ${MaxJsonDepth} levels`,
							issues: [],
						}),
				),
			),
			() => hasBody && request.url.split("?")[0] !== RpcPath,
		)
		return yield* app.pipe(HttpIncomingMessage.withMaxBodySize(Option.some(maxBodyBytes)))
	}).pipe(
		Effect.catchTag("HttpApiDecodeError", (error) => Effect.fail(validationError(error.issues, error.message))),
		Effect.catchTag("RouteNotFound", () => Effect.fail(new RouteNotFound({ message: "no such route" }))),
		// Raised by endpoints and their middlewares (declared there), so not in the router's type.
		Effect.tapError((error) =>
			Option.match(Option.liftPredicate(error as unknown, Schema.is(TooManyRequests)), {
				onNone: () => Effect.void,
				onSome: (limited) =>
					HttpApp.appendPreResponseHandler((_request, response) =>
						Effect.succeed(
							HttpServerResponse.setHeader(response, "retry-after", String(limited.retryAfterSeconds)),
						),
					),
			}),
		),
		Effect.catchAllDefect((defect): Effect.Effect<never, ValidationError | InternalError> =>
			Predicate.isTagged(defect, "RequestError")
				? Effect.fail(new ValidationError({ message: "the request body is not valid JSON", issues: [] }))
				: Effect.logError("unexpected defect while serving a request", Cause.die(defect)).pipe(
						Effect.zipRight(Effect.fail(new InternalError({ message: "an unexpected error occurred" }))),
					),
		),
	)

// --- [LAYERS]

const ApiLive = HttpApiBuilder.api(Api).pipe(
	Layer.provide([
		HealthHttpLive,
		AdminTenantsHttpLive,
		AdminJobsHttpLive,
		AdminRequestsHttpLive,
		AdminUsersHttpLive,
		TenantHttpLive,
		OAuthHttpLive,
		SessionsHttpLive,
		PasskeysHttpLive,
		PasskeyLoginHttpLive,
		MfaHttpLive,
		TokenHttpLive,
		UsersHttpLive,
		ChannelsHttpLive,
		JobsHttpLive,
		EventsHttpLive,
		WebhooksHttpLive,
		RealtimeRouteLive,
		InternalRpcRouteLive,
	]),
	Layer.provide([AdminAuthLive, TenantMiddlewareLive, PrincipalMiddlewareLive, OAuthFlow.Default]),
	Layer.provideMerge(Layer.merge(ClusterBacklogMetricsLive, RealtimeMetricsLive)),
	Layer.provideMerge(RealtimeHub.Default),
	Layer.provideMerge(EventFeed.Default),
	Layer.provideMerge(Layer.merge(TenantCache.Default, CredentialsLive)),
	Layer.provideMerge(RateLimiter.Default),
	Layer.provide(Layer.merge(IdentityConfigLive, RealtimeConfigLive)),
	Layer.provideMerge(MetricsRegistry.Default),
)

// Needs: GatewayConfig, Sharding (client), Cache, SqlClient.
const GatewayServerLive = Layer.unwrapEffect(
	Effect.map(GatewayConfig, (config) =>
		HttpApiBuilder.serve((app) => edge(config)(cors(idempotent(app)))).pipe(
			Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
			Layer.provide(OpenApiRouteLive),
			Layer.provide(HttpApiBuilder.middleware(Api, inputGuard(config.maxBodyBytes))),
			Layer.provide(ApiLive),
			HttpServer.withLogAddress,
			// Path parameters up to 1 KiB reach validation (a 129-character channel name is a 400, not a 404); the
			// router's own default stops matching at 100 characters.
			Layer.provide(HttpRouter.setRouterConfig({ maxParamLength: 1024 })),
			Layer.provide(NodeHttpServer.layer(createServer, { host: config.host, port: config.port })),
		),
	),
)

// --- [EXPORT]

export { edge, GatewayServerLive }
