// The gateway's outer edge: every 5xx carries a JSON error with `_tag` (an interrupted handler is a 503
// ServiceUnavailable with Retry-After, not an empty body) and is logged at warn with its request id.
import { HttpApp, HttpServerResponse } from "@effect/platform"
import { Cause, Effect, FiberId, HashMap, Layer, Logger, LogLevel, Option, Schema } from "effect"
import { describe, expect, it } from "vitest"
import { edge } from "../../gateway/Server.ts"

// --- [CONSTANTS]

const decodeJson = Schema.decodeUnknownSync(Schema.parseJson())

// --- [FUNCTIONS]

// Serves one request through the edge around `app`, capturing what it logs.
const serve = async (app: HttpApp.Default<unknown>, requestId: string) => {
	const lines: Array<{ level: string; message: string; requestId: unknown; cause: string }> = []
	const capture = Logger.replace(
		Logger.defaultLogger,
		Logger.make(({ logLevel, message, annotations, cause }) => {
			lines.push({
				level: logLevel.label,
				message: String(message),
				requestId: Option.getOrNull(HashMap.get(annotations, "requestId")),
				cause: Cause.pretty(cause),
			})
		}),
	)
	const handler = HttpApp.toWebHandler(
		edge({ retryAfterSeconds: 7, trustedProxies: [], requestTimeout: "200 millis" })(app as HttpApp.Default).pipe(
			Effect.provide(Layer.merge(capture, Logger.minimumLogLevel(LogLevel.Info))),
		),
	)
	const response = await handler(
		new Request("http://gateway.test/admin/v1/tenants/x/suspend", {
			method: "POST",
			headers: { "x-request-id": requestId },
		}),
	)
	const text = await response.text()
	return { response, text, lines }
}

// --- [TESTS]

describe("5xx answers", () => {
	it("an interrupted handler answers 503 ServiceUnavailable as JSON with Retry-After, logged with its request id", async () => {
		const { response, text, lines } = await serve(
			Effect.failCause(Cause.interrupt(FiberId.none)),
			"req-interrupted",
		)
		expect(response.status).toBe(503)
		expect(response.headers.get("retry-after")).toBe("7")
		expect(response.headers.get("x-request-id")).toBe("req-interrupted")
		expect(decodeJson(text)).toMatchObject({ _tag: "ServiceUnavailable", message: expect.any(String) })
		const logged = lines.find((line) => line.requestId === "req-interrupted")
		expect(logged?.level).toBe("WARN")
		expect(logged?.cause).toContain("interrupted")
	})

	it("a defect that reaches the edge answers 500 InternalError as JSON, logged with its request id and cause", async () => {
		const { response, text, lines } = await serve(Effect.die(new Error("boom in handler")), "req-defect")
		expect(response.status).toBe(500)
		expect(decodeJson(text)).toMatchObject({ _tag: "InternalError" })
		expect(text).not.toContain("boom")
		const logged = lines.find((line) => line.requestId === "req-defect")
		expect(logged?.level).toBe("WARN")
		expect(logged?.cause).toContain("boom in handler")
	})

	it("a 503 answered by the API is logged at warn with its request id and body", async () => {
		const { response, lines } = await serve(
			Effect.succeed(
				HttpServerResponse.unsafeJson(
					{ _tag: "ServiceUnavailable", message: "the platform is temporarily unavailable" },
					{ status: 503 },
				),
			),
			"req-503",
		)
		expect(response.status).toBe(503)
		expect(response.headers.get("retry-after")).toBe("7")
		const logged = lines.find((line) => line.requestId === "req-503")
		expect(logged?.level).toBe("WARN")
		expect(logged?.message).toContain("503")
	})

	it("a request still unanswered at the deadline answers 503 ServiceUnavailable with Retry-After, logged", async () => {
		// Uninterruptible, like a persisted entity call: the answer must not wait for it.
		const { response, text, lines } = await serve(
			Effect.uninterruptible(Effect.sleep("3 seconds")).pipe(Effect.as(HttpServerResponse.empty())),
			"req-slow",
		)
		expect(response.status).toBe(503)
		expect(response.headers.get("retry-after")).toBe("7")
		expect(decodeJson(text)).toMatchObject({
			_tag: "ServiceUnavailable",
			message: expect.stringContaining("in time"),
		})
		expect(lines.find((line) => line.requestId === "req-slow")?.level).toBe("WARN")
	})
})
