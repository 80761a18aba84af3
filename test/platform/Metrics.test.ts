// The Prometheus text rendering, read back by a Prometheus text parser: names and label values escaped, one HELP and
// TYPE per family, histogram buckets cumulative and ending in +Inf (= the count), gauges and counters as set.
import { Effect, Metric, MetricBoundaries, MetricLabel } from "effect"
import parsePrometheusTextFormat from "parse-prometheus-text-format"
import { describe, expect, it } from "vitest"
import { Metrics } from "../../platform/Metrics.ts"

describe("Metrics.render", () => {
	it("counters, gauges and histograms round-trip through a Prometheus parser", async () => {
		const suffix = crypto.randomUUID().replace(/-/g, "").slice(0, 8)
		const counter = Metric.counter(`test_requests_${suffix}`, { description: 'Requests "seen"\nby test' })
		const gauge = Metric.gauge(`test.depth-${suffix}`)
		const histogram = Metric.histogram(`test_latency_${suffix}`, MetricBoundaries.fromIterable([0.1, 1]), "latency")
		const text = await Effect.runPromise(
			Effect.gen(function* () {
				yield* Metric.incrementBy(Metric.taggedWithLabels(counter, [MetricLabel.make("path", 'a"b\\c\nd')]), 3)
				yield* Metric.set(gauge, 7)
				yield* Effect.forEach([0.05, 0.5, 5], (value) => Metric.update(histogram, value))
				return Metrics.render(yield* Metric.snapshot)
			}),
		)
		const families = parsePrometheusTextFormat(text)
		const byName = (name: string) => families.find((family) => family.name === name)
		expect(byName(`test_requests_${suffix}`)).toMatchObject({
			type: "COUNTER",
			help: 'Requests "seen"\nby test',
			metrics: [{ labels: { path: 'a"b\\c\nd' }, value: "3" }],
		})
		// Characters a metric name cannot hold become underscores.
		expect(byName(`test_depth_${suffix}`)).toMatchObject({ type: "GAUGE", metrics: [{ value: "7" }] })
		expect(byName(`test_latency_${suffix}`)).toMatchObject({
			type: "HISTOGRAM",
			metrics: [{ buckets: { "0.1": "1", "1": "2", "+Inf": "3" }, count: "3", sum: "5.55" }],
		})
		expect(text.match(new RegExp(`# TYPE test_latency_${suffix} `, "g"))).toHaveLength(1)
		expect(text.endsWith("\n")).toBe(true)
	})
})
