// Handler of the `http.call` workflow. It runs on runners and reports each step to the job's entity. Each attempt
// is one activity run, sent with `Idempotency-Key: <jobId>`. 2xx is success. 410 and any other 4xx except 408/429
// are not retried. Other failures are retried with exponential backoff and jitter, honouring Retry-After, up to
// JOBS_HTTP_MAX_ATTEMPTS; the wait is a durable clock in the workflow body, where an interrupt stops the job
// (cancelled). When the job gives up, a DLQ entry (deterministic id: one per execution) records why.
import { HttpClientRequest } from "@effect/platform"
import { Activity, DurableClock, Workflow, WorkflowEngine } from "@effect/workflow"
import { DateTime, Duration, Effect, Either, Exit, Layer, Match, Option, Predicate, Schema } from "effect"
import { Telemetry } from "../platform/Telemetry.ts"
import { Destination } from "./Destination.ts"
import { DeliveryFailed, HttpCallWorkflow, JobFailed } from "./HttpCallProtocol.ts"
import { makeJobReporter } from "./JobReporter.ts"
import { JobsConfig } from "./JobsConfig.ts"
import { OutboundHttp, OutboundHttpLive } from "./OutboundHttp.ts"

// --- [CONSTANTS]

const Delivered = Schema.Struct({ status: Schema.Int })

// --- [FUNCTIONS]

// Exponential from `base`, doubled per attempt, capped, with "equal jitter" (half fixed, half random).
const backoff = (attempt: number, base: Duration.DurationInput, cap: Duration.DurationInput) => {
	const ceiling = Math.min(Duration.toMillis(cap), Duration.toMillis(base) * 2 ** Math.max(0, attempt - 2))
	return attempt <= 1 ? 0 : Math.round(ceiling / 2 + (Math.random() * ceiling) / 2)
}

// Retry-After in seconds or as an HTTP date.
const retryAfterMillis = (value: string | undefined) =>
	Option.fromNullable(value).pipe(
		Option.flatMap((header) =>
			/^\d+$/.test(header.trim())
				? Option.some(Number(header.trim()) * 1000)
				: Option.liftPredicate(Date.parse(header) - Date.now(), (millis) => !Number.isNaN(millis)),
		),
		Option.map((millis) => Math.max(0, millis)),
	)

const failure = (
	reason: DeliveryFailed["reason"],
	message: string,
	retryable: boolean,
	status: number | null,
	retryInMillis = 0,
) => new DeliveryFailed({ reason, message, retryable, status, retryInMillis })

// Each attempt's error says what happened in that attempt, not the job's verdict (which is the DLQ reason).
const classify = (status: number) =>
	status >= 200 && status < 300
		? Either.right(status)
		: status === 410
			? Either.left(failure("NonRetryable", "410 Gone from the destination (not retried)", false, status))
			: status >= 400 && status < 500 && status !== 408 && status !== 429
				? Either.left(failure("NonRetryable", `${status} from the destination (not retried)`, false, status))
				: Either.left(failure("MaxAttemptsExceeded", `${status} from the destination`, true, status))

const property = (value: unknown, name: string): unknown =>
	Predicate.isObject(value) && name in value ? (value as Record<string, unknown>)[name] : undefined

// The socket error under a failed request, in words: `connection refused by 127.0.0.1:8080`. A connection tried on
// several addresses fails with an AggregateError: its first error speaks for it.
const describeTransport = (cause: unknown, host: string): string => {
	const error =
		Predicate.isObject(cause) && Array.isArray(property(cause, "errors"))
			? (property(cause, "errors") as ReadonlyArray<unknown>)[0]
			: cause
	const code = String(property(error, "code") ?? "")
	const address = property(error, "address")
	const peer =
		address === undefined
			? host
			: `${String(address)}${property(error, "port") === undefined ? "" : `:${String(property(error, "port"))}`}`
	return Match.value(code).pipe(
		Match.when("ECONNREFUSED", () => `connection refused by ${peer}`),
		Match.when("ECONNRESET", () => `connection reset by ${peer}`),
		Match.when("EPIPE", () => `connection closed by ${peer} while sending`),
		Match.when(Match.is("ENOTFOUND", "EAI_AGAIN", "EAI_NONAME"), () => `${host} does not resolve`),
		Match.when(Match.is("ETIMEDOUT", "ECONNABORTED"), () => `connecting to ${peer} timed out`),
		Match.when(Match.is("EHOSTUNREACH", "ENETUNREACH"), () => `${peer} is unreachable`),
		Match.when(
			(value) => /CERT|TLS|SSL|SELF_SIGNED/.test(value),
			() => `TLS with ${host} failed: ${String(property(error, "message") ?? code)}`,
		),
		Match.orElse(
			() => `request to ${host} failed: ${String(property(error, "message") ?? (code || "unknown error"))}`,
		),
	)
}

// --- [LAYERS]

const HttpCallWorkflowLive = HttpCallWorkflow.toLayer((payload, executionId) =>
	Effect.gen(function* () {
		const config = yield* Effect.orDie(JobsConfig)
		const allowedHosts = yield* Effect.orDie(Destination.config)
		const outbound = yield* OutboundHttp
		const { report, succeed, deadLetter, cancelled, cancel } = yield* makeJobReporter({
			...payload,
			type: "http.call",
			executionId,
		})
		const host = Option.getOrElse(
			Option.liftThrowable(() => new URL(payload.request.url).host)(),
			() => "the destination",
		)
		const attemptOnce = Effect.gen(function* () {
			const attempt = yield* Activity.CurrentAttempt
			yield* Effect.filterOrFail(
				cancelled,
				(isCancelled) => !isCancelled,
				() => failure("Cancelled", "the job was cancelled", false, null),
			)
			yield* Destination.checkUrl(payload.request.url, allowedHosts).pipe(
				Effect.mapError((refused) => failure("ValidationFailed", refused.message, false, null)),
			)
			const request = HttpClientRequest.make(payload.request.method)(payload.request.url).pipe(
				HttpClientRequest.setHeaders(payload.request.headers),
				HttpClientRequest.setHeader("idempotency-key", payload.jobId),
				HttpClientRequest.setHeader("x-request-id", payload.meta.requestId),
				(withHeaders) =>
					payload.request.body === undefined
						? withHeaders
						: HttpClientRequest.bodyUnsafeJson(withHeaders, payload.request.body),
			)
			// At most 1 MiB of the body is read; a name that resolves to a non-public address at connect time is
			// refused by the agent's lookup, like a destination that became non-public (ValidationFailed, not retried).
			const outcome = yield* outbound.send(request).pipe(
				Effect.timeoutFail({
					duration: config.httpTimeout,
					onTimeout: () =>
						failure("Timeout", `timed out after ${Duration.format(config.httpTimeout)}`, true, null),
				}),
				Effect.catchTag("DestinationRefused", (refused) =>
					Effect.fail(failure("ValidationFailed", refused.message, false, null)),
				),
				Effect.catchTag("RequestError", (error) =>
					Effect.fail(failure("MaxAttemptsExceeded", describeTransport(error.cause, host), true, null)),
				),
				Effect.catchTag("ResponseError", (error) =>
					Effect.fail(
						failure(
							"MaxAttemptsExceeded",
							`the answer from ${host} broke off: ${describeTransport(error.cause, host)}`,
							true,
							null,
						),
					),
				),
				Effect.either,
			)
			const result = Either.flatMap(outcome, ({ status }) => classify(status))
			yield* report(`attempt-${attempt}`, {
				_tag: "Attempted",
				run: payload.run,
				attempt,
				at: yield* DateTime.now,
				error: Either.match(result, { onLeft: (error) => error.message, onRight: () => null }),
			})
			// Before the next attempt: Retry-After (capped), then the backoff of that attempt.
			const retryAfter = Either.isRight(outcome)
				? Option.getOrElse(retryAfterMillis(outcome.right.retryAfter), () => 0)
				: 0
			return yield* Either.match(result, {
				onLeft: (error) =>
					Effect.fail(
						failure(
							error.reason,
							error.message,
							error.retryable,
							error.status,
							Math.min(retryAfter, Duration.toMillis(config.httpBackoffCap)) +
								backoff(attempt + 1, config.httpBackoffBase, config.httpBackoffCap),
						),
					),
				onRight: (status) => Effect.succeed({ status }),
			})
		})
		yield* Activity.make({
			name: "start",
			execute: Effect.asVoid(report("start", { _tag: "Started", executionId })),
		})
		// An operator's interrupt (POST /admin/v1/workflows/{id}/interrupt) takes effect when the workflow next suspends,
		// that is in the durable wait before the next attempt: no further attempt is made, the execution ends
		// interrupted (failed), and the job ends cancelled.
		yield* Workflow.addFinalizer((exit) => (Exit.isInterrupted(exit) ? cancel : Effect.void))
		const deliver = Activity.make({
			name: "deliver",
			success: Delivered,
			error: DeliveryFailed,
			// A crashed attempt is a retryable failure, so the job still ends in a final state (the DLQ at worst).
			execute: attemptOnce.pipe(
				Effect.catchAllDefect((defect) =>
					Effect.logError("http.call attempt crashed", defect).pipe(
						Effect.zipRight(
							Effect.flatMap(Activity.CurrentAttempt, (attempt) =>
								Effect.flatMap(DateTime.now, (now) =>
									report(`attempt-${attempt}`, {
										_tag: "Attempted",
										run: payload.run,
										attempt,
										at: now,
										error: "the attempt crashed (see the runner's log)",
									}),
								).pipe(
									Effect.zipRight(
										Effect.fail(
											failure(
												"WorkerLost",
												"the attempt crashed",
												true,
												null,
												backoff(attempt + 1, config.httpBackoffBase, config.httpBackoffCap),
											),
										),
									),
								),
							),
						),
					),
				),
			),
		})
		// Each attempt is the activity's run with that attempt number; between attempts the workflow sleeps on a durable
		// clock, so it suspends there (and an interrupt is seen) instead of sleeping inside an activity.
		const attempts = (
			attempt: number,
		): Effect.Effect<
			typeof Delivered.Type,
			DeliveryFailed,
			WorkflowEngine.WorkflowEngine | WorkflowEngine.WorkflowInstance
		> =>
			deliver.pipe(
				Effect.provideService(Activity.CurrentAttempt, attempt),
				Effect.catchIf(
					(error) => error.retryable && attempt < config.httpMaxAttempts,
					(error) =>
						DurableClock.sleep({
							name: `backoff-${attempt}`,
							duration: Duration.millis(error.retryInMillis),
							inMemoryThreshold: Duration.zero,
						}).pipe(Effect.zipRight(attempts(attempt + 1))),
				),
			)
		const delivered = yield* Effect.either(attempts(1))
		return yield* Either.match(delivered, {
			onRight: (result) => Activity.make({ name: "succeed", execute: succeed(result) }).pipe(Effect.as(result)),
			onLeft: (error) => {
				const reason = error.retryable && error.reason !== "Timeout" ? "MaxAttemptsExceeded" : error.reason
				// A cancelled job ends here: nothing to dead-letter, its status already says what happened.
				return reason === "Cancelled"
					? Effect.fail(new JobFailed({ reason, message: error.message }))
					: Activity.make({
							name: "dead-letter",
							execute: deadLetter(reason, error.message, { lastStatus: error.status }),
						}).pipe(Effect.zipRight(Effect.fail(new JobFailed({ reason, message: error.message }))))
			},
		})
	}).pipe(Telemetry.span("HttpCallWorkflow.run", { jobId: payload.jobId })),
).pipe(Layer.provide(OutboundHttpLive))

// --- [EXPORT]

export { HttpCallWorkflowLive }
