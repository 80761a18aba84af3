// Observability against real processes: a runner and a gateway export spans over OTLP/HTTP (JSON) to a receiver in
// this test, an `http.call` job reaches a target here that records the `traceparent` it was sent, and /metrics of
// the gateway and of the runner are read by a Prometheus text parser.
import { createServer, type IncomingHttpHeaders, type Server } from "node:http"
import parsePrometheusTextFormat from "parse-prometheus-text-format"
import { Schema } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { freePort, sleep, stop, stopAll, waitFor } from "../fixtures/Processes.ts"
import { startStack } from "../fixtures/Stack.ts"

// --- [SCHEMA]

// What the OTLP/HTTP JSON export of traces carries that this test reads (ids are hex in OTLP JSON).
const OtlpTraces = Schema.parseJson(
	Schema.Struct({
		resourceSpans: Schema.Array(
			Schema.Struct({
				resource: Schema.optional(
					Schema.Struct({
						attributes: Schema.optional(
							Schema.Array(
								Schema.Struct({
									key: Schema.String,
									value: Schema.optional(
										Schema.Struct({ stringValue: Schema.optional(Schema.String) }),
									),
								}),
							),
						),
					}),
				),
				scopeSpans: Schema.Array(
					Schema.Struct({
						spans: Schema.Array(
							Schema.Struct({
								traceId: Schema.String,
								spanId: Schema.String,
								parentSpanId: Schema.optional(Schema.String),
								name: Schema.String,
							}),
						),
					}),
				),
			}),
		),
	}),
)

const encodeJson = Schema.encodeSync(Schema.parseJson())

// --- [CONSTANTS]

const TraceId = "4bf92f3577b34da6a3ce929d0e0e4736"
const IncomingSpanId = "00f067aa0ba902b7"

// --- [FUNCTIONS]

const listen = async (server: Server) => {
	const port = await freePort()
	await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", () => resolve()))
	return `http://127.0.0.1:${port}`
}

const readBody = (request: import("node:http").IncomingMessage) =>
	new Promise<string>((resolve) => {
		const chunks: Array<Buffer> = []
		request.on("data", (chunk: Buffer) => chunks.push(chunk))
		request.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
	})

// The samples of one family, each as labels and value.
const family = (text: string, name: string) =>
	parsePrometheusTextFormat(text).find((entry) => entry.name === name)?.metrics ?? []

const sampleValue = (text: string, name: string, labels: Record<string, string>) =>
	Number(
		family(text, name).find((metric) =>
			Object.entries(labels).every(([key, value]) => metric.labels?.[key] === value),
		)?.value ?? 0,
	)

// --- [TESTS]

describe("observability (1 runner, 1 gateway, OTLP receiver, http.call target)", () => {
	const spans: Array<{ service: string; traceId: string; spanId: string; parentSpanId: string; name: string }> = []
	const targetHeaders: Array<IncomingHttpHeaders> = []
	const receiver = createServer(
		(request, response) =>
			void readBody(request).then((body) => {
				const decoded =
					request.url === "/v1/traces" ? Schema.decodeUnknownSync(OtlpTraces)(body) : { resourceSpans: [] }
				decoded.resourceSpans.forEach((resource) => {
					const service = String(
						resource.resource?.attributes?.find((attribute) => attribute.key === "service.name")?.value
							?.stringValue ?? "",
					)
					resource.scopeSpans.forEach((scope) =>
						scope.spans.forEach((span) =>
							spans.push({
								service,
								traceId: span.traceId,
								spanId: span.spanId,
								parentSpanId: span.parentSpanId ?? "",
								name: span.name,
							}),
						),
					)
				})
				response.writeHead(200, { "content-type": "application/json" }).end("{}")
			}),
	)
	const target = createServer((request, response) => {
		targetHeaders.push(request.headers)
		request.url === "/gone"
			? response.writeHead(410).end()
			: response.writeHead(200, { "content-type": "application/json" }).end('{"ok":true}')
	})
	let stack: Awaited<ReturnType<typeof startStack>>
	let gatewayUrl = ""
	let runnerMetricsUrl = ""
	let targetUrl = ""
	const tenant = `obs-${Math.random().toString(36).slice(2, 8)}`

	beforeAll(async () => {
		const receiverUrl = await listen(receiver)
		targetUrl = await listen(target)
		const metricsPort = await freePort()
		runnerMetricsUrl = `http://127.0.0.1:${metricsPort}/metrics`
		stack = await startStack({
			name: "observability",
			gateways: 1,
			env: {
				OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl,
				OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
				RUNNER_METRICS_PORT: String(metricsPort),
				JOBS_HTTP_ALLOWED_HOSTS: "127.0.0.1",
				GATEWAY_REQUEST_TIMEOUT: "3 seconds",
			},
		})
		expect(stack.ready, stack.output()).toBe(true)
		gatewayUrl = stack.gateways[0]!.url
		const created = await fetch(`${gatewayUrl}/admin/v1/tenants`, {
			method: "POST",
			headers: { authorization: `Bearer ${stack.adminToken}`, "content-type": "application/json" },
			body: encodeJson({ slug: tenant, name: "Observability" }),
		})
		expect(created.status, await created.clone().text()).toBe(201)
	}, 180_000)

	afterAll(async () => {
		await stopAll()
		receiver.closeAllConnections()
		target.closeAllConnections()
		await Promise.all([receiver, target].map((server) => new Promise((resolve) => server.close(resolve))))
		await stack?.database.drop()
	}, 60_000)

	it("gateway /metrics: requests counted by route template, method and status; backlog and realtime gauges", async () => {
		const before = await (await fetch(`${gatewayUrl}/metrics`)).text()
		const counted = { route: "/v1/tenant", method: "GET", status: "200" }
		const start = sampleValue(before, "http_requests_total", counted)
		for (const _ of Array.from({ length: 5 })) {
			expect((await fetch(`${gatewayUrl}/v1/tenant`, { headers: { "x-app-id": tenant } })).status).toBe(200)
		}
		expect((await fetch(`${gatewayUrl}/v1/no/such/route/${crypto.randomUUID()}`)).status).toBe(404)
		const response = await fetch(`${gatewayUrl}/metrics`)
		expect(response.headers.get("content-type")).toContain("text/plain")
		const after = await response.text()
		expect(sampleValue(after, "http_requests_total", counted)).toBe(start + 5)
		// A random path is one series, not one per path.
		expect(sampleValue(after, "http_requests_total", { route: "unmatched", status: "404" })).toBeGreaterThanOrEqual(
			1,
		)
		expect(after).not.toContain("/v1/no/such/route")
		// The parser folds a labelled histogram's series into one, so its count is read from the text itself.
		const durationCount = after.match(
			/^http_request_duration_seconds_count\{method="GET",route="\/v1\/tenant"\} (\d+)$/m,
		)
		expect(Number(durationCount?.[1] ?? 0)).toBeGreaterThanOrEqual(5)
		expect(family(after, "realtime_connections")).toHaveLength(1)
		expect(family(after, "cluster_message_backlog")).toHaveLength(1)
		// No tenant id or slug in any label.
		expect(after).not.toContain(tenant)
	})

	it("one trace from an incoming traceparent through gateway, runner and the outbound http.call", async () => {
		const submitted = await fetch(`${gatewayUrl}/v1/jobs`, {
			method: "POST",
			headers: {
				authorization: `Bearer ${stack.adminToken}`,
				"x-app-id": tenant,
				"content-type": "application/json",
				traceparent: `00-${TraceId}-${IncomingSpanId}-01`,
			},
			body: encodeJson({ type: "http.call", payload: { url: `${targetUrl}/traced` } }),
		})
		expect(submitted.status, await submitted.clone().text()).toBe(202)
		const reached = await waitFor(async () => targetHeaders.length > 0, 30_000)
		expect(reached, stack.output()).toBe(true)
		expect(String(targetHeaders[0]?.["traceparent"] ?? "")).toMatch(
			new RegExp(`^00-${TraceId}-[0-9a-f]{16}-0[01]$`),
		)
		const exported = await waitFor(
			async () => new Set(spans.filter((span) => span.traceId === TraceId).map((span) => span.service)).size >= 2,
			30_000,
		)
		const traced = spans.filter((span) => span.traceId === TraceId)
		expect(exported, encodeJson(traced.map((span) => [span.service, span.name]))).toBe(true)
		const services = new Set(traced.map((span) => span.service))
		expect([...services].sort()).toEqual(["effect-cluster-platform-gateway", "effect-cluster-platform-runner"])
		// The gateway's server span continues the caller's span.
		expect(traced.some((span) => span.service.endsWith("gateway") && span.parentSpanId === IncomingSpanId)).toBe(
			true,
		)
		// The span that sent the outbound request is in the trace, on the runner.
		const outboundParent = String(targetHeaders[0]?.["traceparent"]).split("-")[2]
		await waitFor(async () => spans.some((span) => span.spanId === outboundParent), 15_000)
		expect(spans.find((span) => span.spanId === outboundParent)?.service).toBe("effect-cluster-platform-runner")
	})

	it("the causal view of a request whose job failed into the DLQ lists every step in order, with its trace", async () => {
		const requestId = `obs-${crypto.randomUUID()}`
		const traceId = crypto.randomUUID().replace(/-/g, "")
		const submitted = await fetch(`${gatewayUrl}/v1/jobs`, {
			method: "POST",
			headers: {
				authorization: `Bearer ${stack.adminToken}`,
				"x-app-id": tenant,
				"x-request-id": requestId,
				"content-type": "application/json",
				traceparent: `00-${traceId}-${IncomingSpanId}-01`,
			},
			body: encodeJson({ type: "http.call", payload: { url: `${targetUrl}/gone` } }),
		})
		expect(submitted.status, await submitted.clone().text()).toBe(202)
		const jobId = ((await submitted.json()) as { id: string }).id
		const view = async () => {
			const response = await fetch(`${gatewayUrl}/admin/v1/requests/${requestId}`, {
				headers: { authorization: `Bearer ${stack.adminToken}` },
			})
			expect(response.status).toBe(200)
			return (await response.json()) as {
				requestId: string
				traceId: string | null
				steps: Array<{ at: string; kind: string; name: string; detail: Record<string, unknown> }>
			}
		}
		const settled = await waitFor(
			async () => (await view()).steps.some((step) => step.kind === "dead_letter"),
			30_000,
		)
		const caused = await view()
		expect(settled, encodeJson(caused)).toBe(true)
		expect(caused.requestId).toBe(requestId)
		expect(caused.traceId).toBe(traceId)
		const kinds = caused.steps.map((step) => step.kind)
		// The job first, its execution, the activity attempt that met the 410, then the DLQ entry.
		expect(kinds.indexOf("job")).toBeLessThan(kinds.indexOf("execution"))
		expect(kinds.indexOf("execution")).toBeLessThan(kinds.indexOf("activity"))
		expect(kinds.lastIndexOf("activity")).toBeLessThan(kinds.indexOf("dead_letter"))
		expect(caused.steps.find((step) => step.kind === "job")?.detail["id"]).toBe(jobId)
		expect(caused.steps.find((step) => step.kind === "dead_letter")?.name).toContain("NonRetryable")
		const times = caused.steps.map((step) => Date.parse(step.at))
		expect(times).toEqual([...times].sort((left, right) => left - right))
		// A request id nothing carries: an empty view; a malformed one: 400.
		const unknown = await fetch(`${gatewayUrl}/admin/v1/requests/nothing-${crypto.randomUUID()}`, {
			headers: { authorization: `Bearer ${stack.adminToken}` },
		})
		expect(((await unknown.json()) as { steps: Array<unknown> }).steps).toEqual([])
		const malformed = await fetch(`${gatewayUrl}/admin/v1/requests/${"x".repeat(129)}`, {
			headers: { authorization: `Bearer ${stack.adminToken}` },
		})
		expect(malformed.status).toBe(400)
		expect((await fetch(`${gatewayUrl}/admin/v1/requests/${requestId}`)).status, "without the admin token").toBe(
			401,
		)
	})

	it("runner /metrics: entities by type and executions by status move with work", async () => {
		const text = await (await fetch(runnerMetricsUrl)).text()
		expect(sampleValue(text, "workflow_executions", { status: "succeeded" })).toBeGreaterThanOrEqual(1)
		expect(family(text, "effect_cluster_entities").length).toBeGreaterThanOrEqual(1)
		expect(family(text, "dlq_open_entries").length).toBeGreaterThanOrEqual(1)
	})

	it("backlog age rises while no runner is there to process", async () => {
		const runner = stack.processes[0]!
		await stop(runner)
		// A request for an entity is stored; the gateway answers 503 at its deadline, the message stays.
		const pending = await fetch(`${gatewayUrl}/v1/jobs`, {
			method: "POST",
			headers: {
				authorization: `Bearer ${stack.adminToken}`,
				"x-app-id": tenant,
				"content-type": "application/json",
			},
			body: encodeJson({ type: "http.call", payload: { url: `${targetUrl}/late` } }),
		})
		expect(pending.status).toBe(503)
		const first = await (await fetch(`${gatewayUrl}/metrics`)).text()
		await sleep(2_500)
		const second = await (await fetch(`${gatewayUrl}/metrics`)).text()
		expect(sampleValue(first, "cluster_message_backlog", {})).toBeGreaterThanOrEqual(1)
		const [ageBefore, ageAfter] = [first, second].map((text) =>
			sampleValue(text, "cluster_message_backlog_oldest_age_seconds", {}),
		)
		expect(ageBefore).toBeGreaterThan(0)
		expect((ageAfter ?? 0) - (ageBefore ?? 0)).toBeGreaterThanOrEqual(2)
	})
})
