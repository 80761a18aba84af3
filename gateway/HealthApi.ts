// Liveness and readiness, for load balancers and orchestrators.
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"

// --- [SCHEMA]

const CheckResult = Schema.Literal("ok", "failing")

const Checks = Schema.Struct({ database: CheckResult, cluster: CheckResult, shards: CheckResult })

// --- [ERRORS]

class NotReady extends Schema.TaggedError<NotReady>()(
	"NotReady",
	{ message: Schema.String, status: Schema.Literal("unavailable"), checks: Checks },
	HttpApiSchema.annotations({ status: 503 }),
) {}

// --- [PROTOCOL]

const HealthApi = HttpApiGroup.make("health")
	.add(
		HttpApiEndpoint.get("live", "/health/live")
			.annotate(OpenApi.Summary, "Liveness")
			.annotate(OpenApi.Description, "200 while the process runs.")
			.addSuccess(Schema.Struct({ status: Schema.Literal("live") })),
	)
	.add(
		HttpApiEndpoint.get("ready", "/health/ready")
			.annotate(OpenApi.Summary, "Readiness")
			.annotate(
				OpenApi.Description,
				"200 when Postgres answers and the cluster can route; else 503 naming the failing check.",
			)
			.addSuccess(Schema.Struct({ status: Schema.Literal("ready"), checks: Checks }))
			.addError(NotReady),
	)
	.add(
		HttpApiEndpoint.get("metrics", "/metrics")
			.annotate(OpenApi.Summary, "Prometheus metrics")
			.annotate(
				OpenApi.Description,
				"This process's metrics in the Prometheus text format 0.0.4: HTTP requests by route, method and status with durations, realtime connections, the cluster message backlog and its oldest age (and, in the all-in-one, the runner's metrics). No tenant labels.",
			)
			.addSuccess(
				Schema.String.pipe(
					HttpApiSchema.withEncoding({
						kind: "Text",
						contentType: "text/plain; version=0.0.4; charset=utf-8",
					}),
				),
			),
	)

// --- [EXPORT]

export { Checks, HealthApi, NotReady }
