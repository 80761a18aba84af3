// HTTP benchmarks: a subject URL against a baseline URL, both driven by the same keep-alive load generator, a short
// warm-up each, then interleaved rounds.
import { Schema } from "effect"
import { BenchSettings, fixed, httpLoad, interleave, type LoopResult, ratioLine } from "./Harness.ts"

// --- [CONSTANTS]

const WarmupMs = 2000

// --- [SCHEMA]

const Headers = Schema.Record({ key: Schema.String, value: Schema.String })

// `workerHeaders`: one header set per load worker (see `httpLoad`); `headers` otherwise.
const Target = Schema.Struct({
	url: Schema.String,
	headers: Schema.optional(Headers),
	workerHeaders: Schema.optional(Schema.Array(Headers)),
})
type Target = typeof Target.Type

// --- [FUNCTIONS]

const load = (target: Target, durationMs: number) =>
	httpLoad({
		url: target.url,
		...(target.headers === undefined ? {} : { headers: target.headers }),
		...(target.workerHeaders === undefined ? {} : { workerHeaders: target.workerHeaders }),
		connections: BenchSettings.httpConnections,
		durationMs,
	})

const summary = (results: ReadonlyArray<LoopResult>) => ({
	p99: Math.max(...results.map((result) => result.p99Ms)),
	failed: results.reduce((total, result) => total + result.failed, 0),
})

// The bracket's content: round length, connections, worst p99 and non-200 answers of both arms.
const httpDetails = (subject: ReadonlyArray<LoopResult>, baseline: ReadonlyArray<LoopResult>) => {
	const subjectSummary = summary(subject)
	const baselineSummary = summary(baseline)
	return (
		`${BenchSettings.rounds}x${BenchSettings.httpDurationMs}ms, ${BenchSettings.httpConnections} conns; ` +
		`worst p99 subject ${fixed(subjectSummary.p99)} ms, baseline ${fixed(baselineSummary.p99)} ms; ` +
		`non-200 subject ${subjectSummary.failed}, baseline ${baselineSummary.failed}`
	)
}

// Runs the comparison and returns its report line; non-200 answers are counted as failures, never as throughput.
const compareHttp = async (options: {
	readonly name: string
	readonly subject: Target
	readonly baseline: Target
	readonly target?: number
}) => {
	await load(options.subject, WarmupMs)
	await load(options.baseline, WarmupMs)
	const [subject = [], baseline = []] = await interleave(BenchSettings.rounds, [
		{ name: "subject", run: () => load(options.subject, BenchSettings.httpDurationMs) },
		{ name: "baseline", run: () => load(options.baseline, BenchSettings.httpDurationMs) },
	])
	return ratioLine({
		name: options.name,
		unit: "req/s",
		subject: subject.map((result) => result.rate),
		baseline: baseline.map((result) => result.rate),
		...(options.target === undefined ? {} : { target: options.target }),
		extra: `[${httpDetails(subject, baseline)}]`,
	})
}

// --- [EXPORT]

export { compareHttp, httpDetails, load, WarmupMs }
export type { Target }
