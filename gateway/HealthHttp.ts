// Handlers of the health group.
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Health } from "../platform/Health.ts"
import { ClusterConfig } from "../platform/Cluster.ts"
import { MetricsRegistry } from "../platform/Metrics.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { Api } from "./Api.ts"
import { NotReady } from "./HealthApi.ts"

// --- [LAYERS]

const HealthHttpLive = HttpApiBuilder.group(Api, "health", (handlers) =>
	Effect.map(Effect.zip(ClusterConfig, MetricsRegistry), ([{ shardsPerGroup }, metrics]) =>
		handlers
			.handle("metrics", () => metrics.scrape.pipe(Telemetry.span("HealthHttp.metrics")))
			.handle("live", () => Effect.succeed({ status: "live" as const }))
			.handle("ready", () =>
				Health.checks(shardsPerGroup).pipe(
					Effect.filterOrFail(
						(checks) => Object.values(checks).every((result) => result === "ok"),
						(checks) =>
							new NotReady({
								message: `not ready: ${Object.entries(checks)
									.filter(([, result]) => result === "failing")
									.map(([name]) => name)
									.join(", ")} failing`,
								status: "unavailable",
								checks,
							}),
					),
					Effect.map((checks) => ({ status: "ready" as const, checks })),
					Telemetry.span("HealthHttp.ready"),
				),
			),
	),
)

// --- [EXPORT]

export { HealthHttpLive }
