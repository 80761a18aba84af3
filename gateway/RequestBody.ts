// Reads a request body once, up to GATEWAY_MAX_BODY_BYTES. A declared Content-Length over the limit is refused before
// this runs; a body of undeclared length (Transfer-Encoding: chunked) is counted as it arrives. The platform's reader
// destroys the request stream when a body passes its limit, and Node then resets the connection before any answer is
// written. Here the stream is not destroyed while the body is incomplete: it is drained instead, the client gets
// 413 PayloadTooLarge with `Connection: close`, and Node closes the connection once that answer has been sent.
import { HttpApp, HttpIncomingMessage, type HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import { Effect, Option } from "effect"
import { PayloadTooLarge } from "./HttpErrors.ts"

// --- [FUNCTIONS]

const tooLarge = (maxBodyBytes: number) =>
	HttpApp.appendPreResponseHandler((_request, response) =>
		Effect.succeed(HttpServerResponse.setHeader(response, "connection", "close")),
	).pipe(
		Effect.zipRight(
			Effect.fail(
				new PayloadTooLarge({
					message: `request body exceeds ${maxBodyBytes} bytes`,
					limitBytes: maxBodyBytes,
				}),
			),
		),
	)

// While the body is read, a destroy of the unfinished request (what the platform's reader does past the limit) stops
// delivering data to the reader and lets the rest drain unread, so the socket stays open for the 413.
const guardStream = (maxBodyBytes: number, source: ReturnType<typeof NodeHttpServerRequest.toIncomingMessage>) =>
	Effect.sync(() => {
		const original = source.destroy
		const seen = { bytes: 0 }
		const count = (chunk: Buffer | string) => {
			seen.bytes += Buffer.byteLength(chunk)
		}
		source.on("data", count)
		source.destroy = function (this: typeof source, error?: Error) {
			return this.complete ? original.call(this, error) : (this.removeAllListeners("data"), this.resume(), this)
		}
		return {
			exceeded: () => seen.bytes > maxBodyBytes,
			restore: () => {
				source.removeListener("data", count)
				source.destroy = original
			},
		}
	})

// The body's text (kept by the request, so later decoding does not read it again). A read that fails for another
// reason (the client went away, broken chunking) is a defect of the kind the edge answers as invalid input.
const readBody = (request: HttpServerRequest.HttpServerRequest, maxBodyBytes: number) =>
	Option.match(Option.fromNullable(request.headers["content-length"]), {
		onSome: () => request.text.pipe(Effect.orDie, HttpIncomingMessage.withMaxBodySize(Option.some(maxBodyBytes))),
		onNone: () =>
			Effect.acquireUseRelease(
				guardStream(maxBodyBytes, NodeHttpServerRequest.toIncomingMessage(request)),
				(guard) =>
					request.text.pipe(
						HttpIncomingMessage.withMaxBodySize(Option.some(maxBodyBytes)),
						Effect.catchAll((error) => (guard.exceeded() ? tooLarge(maxBodyBytes) : Effect.die(error))),
					),
				(guard) => Effect.sync(guard.restore),
			),
	})

// --- [EXPORT]

export { readBody }
