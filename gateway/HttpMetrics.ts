// Requests served, by route (the path template of the API, e.g. `/v1/jobs/:id`), method and status, with their
// durations. A path that matches no route counts as `unmatched`, so a scan of random paths cannot grow the series.
import { HttpApi, type HttpServerRequest } from "@effect/platform"
import { Duration, Effect, Metric, MetricBoundaries, MetricLabel } from "effect"
import { Api } from "./Api.ts"

// --- [CONSTANTS]

const requests = Metric.counter("http_requests_total", {
	description: "HTTP requests answered, by route template, method and status",
	incremental: true,
})

const durations = Metric.histogram(
	"http_request_duration_seconds",
	MetricBoundaries.fromIterable([0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]),
	"HTTP request durations in seconds, by route template and method",
)

// Each route of the API as a matcher, segment by segment (`:name` matches one segment).
const routes = (() => {
	const found: Array<Record<"method" | "template", string> & Record<"segments", ReadonlyArray<string>>> = []
	HttpApi.reflect(Api, {
		onGroup: () => undefined,
		onEndpoint: ({ endpoint }) =>
			void found.push({ method: endpoint.method, template: endpoint.path, segments: endpoint.path.split("/") }),
	})
	return found
})()

// Routes served beside the API (documents and the realtime upgrade).
const ExtraRoutes = ["/openapi.json", "/docs", "/v1/realtime"]

// --- [FUNCTIONS]

const routeOf = (method: string, url: string) => {
	const path = url.split("?")[0] ?? "/"
	const segments = path.split("/")
	const matched = routes.find(
		(route) =>
			(route.method === method || (method === "HEAD" && route.method === "GET")) &&
			route.segments.length === segments.length &&
			route.segments.every((segment, index) => segment.startsWith(":") || segment === segments[index]),
	)
	return matched?.template ?? (ExtraRoutes.includes(path) ? path : "unmatched")
}

// Counts one answered request and records how long it took.
const record = (request: HttpServerRequest.HttpServerRequest, status: number, elapsed: Duration.Duration) => {
	const route = routeOf(request.method, request.url)
	return Effect.zipRight(
		Metric.increment(
			Metric.taggedWithLabels(requests, [
				MetricLabel.make("route", route),
				MetricLabel.make("method", request.method),
				MetricLabel.make("status", String(status)),
			]),
		),
		Metric.update(
			Metric.taggedWithLabels(durations, [
				MetricLabel.make("route", route),
				MetricLabel.make("method", request.method),
			]),
			Duration.toSeconds(elapsed),
		),
	)
}

// --- [EXPORT]

const HttpMetrics = { record, routeOf } as const

export { HttpMetrics }
