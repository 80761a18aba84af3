// Handlers of /v1/channels: a broadcast is numbered and published through Redis like a client's publish frame, so
// every gateway delivers it; presence is read from the cache service. Channel access follows the Socket entity's
// rule (`mayUse`): `user:<id>` channels belong to that user.
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Schema } from "effect"
import { ChannelNotAllowed, mayUse, type SocketPrincipal } from "../../entities/realtime/SocketProtocol.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Api } from "../Api.ts"
import { PayloadTooLarge, ServiceUnavailable } from "../HttpErrors.ts"
import { pageOf } from "../ListPage.ts"
import { type CallerPrincipal, CurrentPrincipal } from "../identity/PrincipalMiddleware.ts"
import { RealtimeConfig } from "./RealtimeConfig.ts"
import type { MessageSender } from "./RealtimeFrames.ts"
import { RealtimeHub } from "./RealtimeHub.ts"
import { CurrentTenant } from "../tenant/TenantMiddleware.ts"

// --- [FUNCTIONS]

const socketPrincipal = (caller: CallerPrincipal): SocketPrincipal =>
	caller.kind === "service"
		? { kind: "service", userId: null, credentialId: null }
		: { kind: caller.principal.kind, userId: caller.principal.userId, credentialId: caller.principal.credentialId }

// The message's `from`, as authenticated here.
const senderOf = (caller: CallerPrincipal): MessageSender =>
	caller.kind === "service"
		? { type: "service" }
		: caller.principal.kind === "session"
			? { type: "user", id: caller.principal.userId }
			: { type: "apiKey", id: caller.principal.credentialId }

const allowed = (channel: string, operation: "Subscribe" | "Publish") =>
	CurrentPrincipal.pipe(
		Effect.filterOrFail(
			(caller) => mayUse(socketPrincipal(caller), channel, operation),
			() => new ChannelNotAllowed({ message: `channel '${channel}' is not open to this credential`, channel }),
		),
	)

const unavailable = () => new ServiceUnavailable({ message: "realtime is temporarily unavailable" })

// --- [LAYERS]

const ChannelsHttpLive = HttpApiBuilder.group(Api, "channels", (handlers) =>
	Effect.gen(function* () {
		const hub = yield* RealtimeHub
		const config = yield* RealtimeConfig
		const Json = Schema.parseJson(Schema.Unknown)
		return handlers
			.handle("broadcast", ({ path, payload }) =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					yield* allowed(path.channel, "Publish")
					const size = yield* Schema.encode(Json)(payload.payload).pipe(
						Effect.map((encoded) => Buffer.byteLength(encoded)),
						Effect.orDie,
					)
					yield* Effect.filterOrFail(
						Effect.succeed(size),
						(bytes) => bytes <= config.maxFrameBytes,
						() =>
							new PayloadTooLarge({
								message: `payload exceeds ${config.maxFrameBytes} bytes`,
								limitBytes: config.maxFrameBytes,
							}),
					)
					const seq = yield* hub
						.publish(tenant.id, path.channel, payload.payload, senderOf(yield* CurrentPrincipal))
						.pipe(Effect.catchTag("CacheUnavailable", () => Effect.fail(unavailable())))
					return { channel: path.channel, seq }
				}).pipe(Telemetry.span("ChannelsHttp.broadcast")),
			)
			.handle("presence", ({ path, urlParams }) =>
				Effect.gen(function* () {
					const tenant = yield* CurrentTenant
					yield* allowed(path.channel, "Subscribe")
					const members = yield* hub
						.presence(tenant.id, path.channel)
						.pipe(Effect.catchTag("CacheUnavailable", () => Effect.fail(unavailable())))
					return pageOf(members, urlParams, (member) => member.connectionId)
				}).pipe(Telemetry.span("ChannelsHttp.presence")),
			)
	}),
)

// --- [EXPORT]

export { ChannelsHttpLive }
