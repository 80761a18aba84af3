// The HTTP client of `http.call` deliveries, and only of them: a node:http/https agent whose `lookup` is
// Destination.guardedLookup (every resolved address checked, the socket given only checked ones), no redirect is
// followed (a 3xx is an answer like any other), and at most `MaxResponseBytes` of a response body are read.
import type { HttpClientError, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { Chunk, Effect, Stream } from "effect"
import { Telemetry } from "../platform/Telemetry.ts"
import { Destination, DestinationRefused } from "./Destination.ts"

// --- [CONSTANTS]

const MaxResponseBytes = 1024 * 1024

// --- [SERVICES]

class OutboundHttp extends Effect.Service<OutboundHttp>()("workflows/OutboundHttp", {
	scoped: Effect.gen(function* () {
		const allowedHosts = yield* Effect.orDie(Destination.config)
		const agent = yield* NodeHttpClient.makeAgent({ lookup: Destination.guardedLookup({ allowedHosts }) })
		const client = yield* NodeHttpClient.make.pipe(Effect.provideService(NodeHttpClient.HttpAgent, agent))
		// The status, Retry-After and the first MiB of the body; the rest is never read (the socket is destroyed).
		const send = (
			request: HttpClientRequest.HttpClientRequest,
		): Effect.Effect<
			{ readonly status: number; readonly retryAfter: string | undefined; readonly body: Uint8Array },
			HttpClientError.HttpClientError | DestinationRefused
		> =>
			client.execute(request).pipe(
				Effect.flatMap((response) =>
					Stream.runFoldWhile(
						response.stream,
						{ parts: Chunk.empty<Uint8Array>(), size: 0 },
						(kept) => kept.size < MaxResponseBytes,
						(kept, part) => {
							const taken = part.subarray(0, MaxResponseBytes - kept.size)
							return { parts: Chunk.append(kept.parts, taken), size: kept.size + taken.length }
						},
					).pipe(
						Effect.map((kept) => ({
							status: response.status,
							retryAfter: response.headers["retry-after"],
							body: Buffer.concat(Chunk.toReadonlyArray(kept.parts)),
						})),
					),
				),
				Effect.catchTag("RequestError", (error) =>
					Effect.fail(error.cause instanceof DestinationRefused ? error.cause : error),
				),
				Telemetry.span("OutboundHttp.send"),
			)
		return { send } as const
	}),
}) {}

// --- [LAYERS]

const OutboundHttpLive = OutboundHttp.Default

// --- [EXPORT]

export { MaxResponseBytes, OutboundHttp, OutboundHttpLive }
