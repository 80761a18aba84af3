// The process's metrics in the Prometheus text format (version 0.0.4). Counters, gauges and histograms are Effect
// `Metric`s (the cluster's own `effect_cluster_*` gauges included); values that live in Postgres (the message backlog,
// executions by status, open DLQ entries) are gauges refreshed by the sources registered here, at each scrape, so a
// scrape always reads the state of that moment. No metric carries a tenant label: tenants are many, and their ids are
// not for a scraper to collect.
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Config, Effect, Layer, Metric, MetricState, Option, Ref } from "effect"
import type * as MetricPair from "effect/MetricPair"
import { createServer } from "node:http"

// --- [CONSTANTS]

const ContentType = "text/plain; version=0.0.4; charset=utf-8"

const RunnerMetricsPort = Config.integer("RUNNER_METRICS_PORT").pipe(
	Config.validate({
		message: "RUNNER_METRICS_PORT must be a port number (0 turns the runner's metrics endpoint off)",
		validation: (port) => port >= 0 && port <= 65_535,
	}),
	Config.withDefault(9464),
	Config.withDescription("Port of a runner's GET /metrics (0: off)"),
)

// --- [FUNCTIONS]

const metricName = (name: string) => name.replace(/[^a-zA-Z0-9_:]/g, "_").replace(/^([0-9])/, "_$1")

const escapeLabel = (value: string) => value.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"')

const labelText = (labels: ReadonlyArray<readonly [string, string]>) =>
	labels.length === 0
		? ""
		: `{${labels.map(([key, value]) => `${metricName(key)}="${escapeLabel(value)}"`).join(",")}}`

const numberText = (value: number | bigint) =>
	typeof value === "bigint"
		? value.toString()
		: Number.isNaN(value)
			? "NaN"
			: value === Infinity
				? "+Inf"
				: value === -Infinity
					? "-Inf"
					: String(value)

// One metric's sample lines and its Prometheus type.
const samples = (pair: MetricPair.MetricPair.Untyped) => {
	const name = metricName(pair.metricKey.name)
	const labels = pair.metricKey.tags
		.map((tag) => [tag.key, tag.value] as const)
		.sort(([left], [right]) => left.localeCompare(right))
	const state = pair.metricState
	return MetricState.isCounterState(state)
		? { type: "counter", lines: [`${name}${labelText(labels)} ${numberText(state.count)}`] }
		: MetricState.isGaugeState(state)
			? { type: "gauge", lines: [`${name}${labelText(labels)} ${numberText(state.value)}`] }
			: MetricState.isHistogramState(state)
				? {
						type: "histogram",
						lines: [
							...state.buckets
								.filter(([boundary]) => Number.isFinite(boundary))
								.map(
									([boundary, count]) =>
										`${name}_bucket${labelText([...labels, ["le", numberText(boundary)]])} ${count}`,
								),
							`${name}_bucket${labelText([...labels, ["le", "+Inf"]])} ${state.count}`,
							`${name}_sum${labelText(labels)} ${numberText(state.sum)}`,
							`${name}_count${labelText(labels)} ${state.count}`,
						],
					}
				: MetricState.isSummaryState(state)
					? {
							type: "summary",
							lines: [
								...state.quantiles.flatMap(([quantile, value]) =>
									Option.match(value, {
										onNone: () => [],
										onSome: (observed) => [
											`${name}${labelText([...labels, ["quantile", String(quantile)]])} ${numberText(observed)}`,
										],
									}),
								),
								`${name}_sum${labelText(labels)} ${numberText(state.sum)}`,
								`${name}_count${labelText(labels)} ${state.count}`,
							],
						}
					: MetricState.isFrequencyState(state)
						? {
								type: "counter",
								lines: [...state.occurrences].map(
									([key, count]) => `${name}${labelText([...labels, ["key", key]])} ${count}`,
								),
							}
						: { type: "untyped", lines: [] }
}

// Every sample of a name under one HELP and TYPE, names in a stable order.
const render = (pairs: ReadonlyArray<MetricPair.MetricPair.Untyped>) => {
	const families = new Map<string, { help: string; type: string; lines: Array<string> }>()
	// Series in a stable order (by their labels); a histogram's buckets stay in ascending order.
	;[...pairs]
		.sort((left, right) =>
			labelText(left.metricKey.tags.map((tag) => [tag.key, tag.value])).localeCompare(
				labelText(right.metricKey.tags.map((tag) => [tag.key, tag.value])),
			),
		)
		.forEach((pair) => {
			const name = metricName(pair.metricKey.name)
			const { type, lines } = samples(pair)
			const family = families.get(name) ?? {
				help: Option.getOrElse(pair.metricKey.description, () => name),
				type,
				lines: [],
			}
			family.lines.push(...lines)
			families.set(name, family)
		})
	return [...families.entries()]
		.sort(([left], [right]) => left.localeCompare(right))
		.flatMap(([name, family]) => [
			`# HELP ${name} ${family.help.replace(/\\/g, "\\\\").replace(/\n/g, "\\n")}`,
			`# TYPE ${name} ${family.type}`,
			...family.lines,
		])
		.join("\n")
		.concat("\n")
}

// --- [SERVICES]

// Scrape-time sources: each refreshes its gauges from where the truth lives. One that fails is logged and skipped,
// so its gauges keep their last value and the scrape still answers.
class MetricsRegistry extends Effect.Service<MetricsRegistry>()("MetricsRegistry", {
	effect: Effect.map(Ref.make<ReadonlyArray<Effect.Effect<void>>>([]), (sources) => ({
		register: (source: Effect.Effect<void>) => Ref.update(sources, (all) => [...all, source]),
		scrape: Ref.get(sources).pipe(
			Effect.flatMap((all) =>
				Effect.forEach(
					all,
					(source) =>
						source.pipe(
							Effect.catchAllCause((cause) =>
								Effect.logWarning("a metrics source failed; its gauges keep their last value", cause),
							),
						),
					{ concurrency: "unbounded", discard: true },
				),
			),
			Effect.zipRight(Metric.snapshot),
			Effect.map(render),
		),
	})),
}) {}

// --- [LAYERS]

// Adds a scrape-time source to the process's registry.
const source = <E, R>(refresh: Effect.Effect<void, E, R>) =>
	Layer.effectDiscard(
		Effect.gen(function* () {
			const registry = yield* MetricsRegistry
			const context = yield* Effect.context<R>()
			yield* registry.register(refresh.pipe(Effect.provide(context), Effect.orDie))
		}),
	)

// `GET /metrics` of a runner on RUNNER_METRICS_PORT (0: off). A port that is taken is not worth a runner: it says so
// once and serves no metrics.
const RunnerMetricsServerLive = Layer.unwrapEffect(
	Effect.gen(function* () {
		const port = yield* RunnerMetricsPort
		const host = yield* Config.string("RUNNER_HOST").pipe(Config.withDefault("127.0.0.1"))
		const registry = yield* MetricsRegistry
		const router = HttpRouter.empty.pipe(
			HttpRouter.get(
				"/metrics",
				Effect.map(registry.scrape, (text) =>
					HttpServerResponse.text(text, { headers: { "content-type": ContentType } }),
				),
			),
		)
		return port === 0
			? Layer.empty
			: HttpServer.serve(router).pipe(
					Layer.provide(NodeHttpServer.layer(createServer, { host, port })),
					Layer.catchAll((error) =>
						Layer.effectDiscard(
							Effect.logWarning(
								`runner metrics are not served: ${host}:${port} is not available (set RUNNER_METRICS_PORT, or 0 to turn them off)`,
								error,
							),
						),
					),
				)
	}),
)

// --- [EXPORT]

const Metrics = { ContentType, render, source } as const

export { Metrics, MetricsRegistry, RunnerMetricsServerLive }
