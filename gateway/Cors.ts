// CORS for browser apps on other origins, per tenant. A tenant's `allowedOrigins` setting (default: the origins of its
// `allowedRedirectOrigins`) lists the origins whose pages may read /v1/ responses. A preflight names no tenant (it
// carries no X-App-Id), so it is answered by shape: the listed methods and headers, the Origin echoed, and never
// credentials (cookies), so it lets through nothing a page could not do with a token it already holds; with
// `?app_id=` it is answered for that tenant alone. The actual response carries Access-Control-Allow-Origin only when
// the tenant it names (X-App-Id, or ?app_id=) allows the Origin; otherwise the browser keeps the response from the
// page. Routes outside /v1/ get no CORS headers.
import { HttpApp, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Effect, FiberRef, Option } from "effect"
import type { TenantSettings } from "../entities/tenant/TenantModel.ts"
import type { TenantView } from "../entities/tenant/TenantProtocol.ts"
import { TenantCache } from "./tenant/TenantCache.ts"
import { activeTenant } from "./tenant/TenantMiddleware.ts"

// --- [CONSTANTS]

const AllowedMethods = "GET, POST, PUT, PATCH, DELETE"

const AllowedHeaders = "Authorization, X-App-Id, Idempotency-Key, Content-Type, X-Request-Id"

const ExposedHeaders = "X-Request-Id, Retry-After"

const PreflightMaxAgeSeconds = 600

// --- [FUNCTIONS]

const originOf = (value: string) => Option.map(Option.liftThrowable(() => new URL(value))(), (url) => url.origin)

// The origins a tenant lets read its responses.
const allowedOrigins = (settings: TenantSettings): ReadonlyArray<string> =>
	settings.allowedOrigins ??
	(settings.allowedRedirectOrigins ?? []).flatMap((value) => Option.toArray(originOf(value)))

const allows = (tenant: Option.Option<TenantView>, origin: string) =>
	Option.exists(tenant, (found) => found.status === "active" && allowedOrigins(found.settings).includes(origin))

const allowOrigin = (origin: string) =>
	HttpServerResponse.setHeaders({
		"access-control-allow-origin": origin,
		"access-control-expose-headers": ExposedHeaders,
	})

const varyOrigin = (response: HttpServerResponse.HttpServerResponse) =>
	HttpServerResponse.setHeader(
		response,
		"vary",
		Option.match(Option.fromNullable(response.headers["vary"]), {
			onNone: () => "Origin",
			onSome: (vary) => `${vary}, Origin`,
		}),
	)

// The tenant a request names: X-App-Id, else ?app_id= (navigations and WebSockets cannot set headers).
const namedTenant = (request: HttpServerRequest.HttpServerRequest, url: URL) =>
	Option.orElse(Option.fromNullable(request.headers["x-app-id"]), () =>
		Option.fromNullable(url.searchParams.get("app_id")),
	).pipe(Option.map((key) => key.trim()))

const preflight = (origin: string, url: URL) =>
	Effect.gen(function* () {
		const answered = Option.match(Option.fromNullable(url.searchParams.get("app_id")), {
			onNone: () => Effect.succeed(true),
			onSome: (key) =>
				activeTenant(key).pipe(
					Effect.map((tenant) => allows(Option.some(tenant), origin)),
					Effect.orElseSucceed(() => false),
				),
		})
		const allowed = yield* answered
		return HttpServerResponse.empty({ status: 204 }).pipe(
			HttpServerResponse.setHeaders(
				allowed
					? {
							"access-control-allow-origin": origin,
							"access-control-allow-methods": AllowedMethods,
							"access-control-allow-headers": AllowedHeaders,
							"access-control-max-age": String(PreflightMaxAgeSeconds),
						}
					: {},
			),
		)
	})

// A response the middleware makes itself never reaches the app's own response handling: the pre-response handlers
// (X-Request-Id, Vary) are applied here as the app would.
const answered = (request: HttpServerRequest.HttpServerRequest, response: HttpServerResponse.HttpServerResponse) =>
	FiberRef.get(HttpApp.currentPreResponseHandlers).pipe(
		Effect.flatMap(
			Option.match({
				onNone: () => Effect.succeed(response),
				onSome: (handler) => handler(request, response),
			}),
		),
	)

const cors = <E, R>(app: HttpApp.Default<E, R>) =>
	Effect.gen(function* () {
		const request = yield* HttpServerRequest.HttpServerRequest
		const url = new URL(request.url, "http://gateway.invalid")
		const origin = Option.fromNullable(request.headers["origin"])
		const isTenantRoute = url.pathname.startsWith("/v1/")
		const isPreflight =
			request.method === "OPTIONS" && request.headers["access-control-request-method"] !== undefined
		const tenants = yield* TenantCache
		yield* Effect.when(
			HttpApp.appendPreResponseHandler((_request, response) =>
				Option.match(
					Option.filter(origin, () => response.headers["access-control-allow-origin"] === undefined),
					{
						onNone: () => Effect.succeed(varyOrigin(response)),
						onSome: (value) =>
							Option.match(namedTenant(request, url), {
								onNone: () => Effect.succeed(Option.none<TenantView>()),
								onSome: tenants.peek,
							}).pipe(
								Effect.map((tenant) =>
									varyOrigin(allows(tenant, value) ? allowOrigin(value)(response) : response),
								),
							),
					},
				),
			),
			() => isTenantRoute,
		)
		return yield* Option.match(
			Option.filter(origin, () => isTenantRoute && isPreflight),
			{
				onNone: () => app,
				onSome: (value) => Effect.flatMap(preflight(value, url), (response) => answered(request, response)),
			},
		)
	})

// --- [EXPORT]

export { allowedOrigins, cors }
