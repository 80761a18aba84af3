// Handlers of the Socket entity (`<tenantId>/<connectionId>`, single-threaded): every request is one operation of
// the connection's Machine, booted empty when the instance starts. A connection lives as long as its gateway keeps
// talking to it (heartbeats reset the idle timer).
import { Entity } from "@effect/cluster"
import { Machine } from "@effect/experimental"
import { Clock, Effect } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import { ApplySocket, SocketMachine, type SocketOperation } from "./SocketMachine.ts"
import { Socket } from "./SocketProtocol.ts"

// --- [LAYERS]

const SocketEntityLive = Socket.toLayer(
	Effect.gen(function* () {
		const address = yield* Entity.CurrentAddress
		const actor = yield* Machine.boot(SocketMachine, address.entityId)
		const apply = (operation: SocketOperation) =>
			Clock.currentTimeMillis.pipe(
				Effect.flatMap((now) => actor.send(new ApplySocket({ operation, now }))),
				Telemetry.span(`Socket.${operation._tag}`),
			)
		return {
			Connect: () =>
				apply({ _tag: "Connect" }).pipe(
					Effect.catchTags({
						UnknownConnection: Effect.die,
						NotAuthenticated: Effect.die,
						ChannelNotAllowed: Effect.die,
					}),
				),
			Authenticate: ({ payload }) =>
				apply({ _tag: "Authenticate", principal: payload.principal }).pipe(
					Effect.catchTags({ NotAuthenticated: Effect.die, ChannelNotAllowed: Effect.die }),
				),
			Subscribe: ({ payload }) => apply({ _tag: "Subscribe", channel: payload.channel }),
			Unsubscribe: ({ payload }) =>
				apply({ _tag: "Unsubscribe", channel: payload.channel }).pipe(
					Effect.catchTags({ NotAuthenticated: Effect.die, ChannelNotAllowed: Effect.die }),
				),
			AuthorizePublish: ({ payload }) => apply({ _tag: "Publish", channel: payload.channel }).pipe(Effect.asVoid),
			Heartbeat: () =>
				apply({ _tag: "Heartbeat" }).pipe(
					Effect.catchTags({ NotAuthenticated: Effect.die, ChannelNotAllowed: Effect.die }),
				),
			MarkStale: () =>
				apply({ _tag: "MarkStale" }).pipe(
					Effect.catchTags({ NotAuthenticated: Effect.die, ChannelNotAllowed: Effect.die }),
				),
			Disconnect: () =>
				apply({ _tag: "Disconnect" }).pipe(
					Effect.catchTags({ NotAuthenticated: Effect.die, ChannelNotAllowed: Effect.die }),
				),
			Restore: ({ payload }) =>
				apply({ _tag: "Restore", principal: payload.principal, channels: payload.channels }).pipe(
					Effect.catchTags({
						UnknownConnection: Effect.die,
						NotAuthenticated: Effect.die,
						ChannelNotAllowed: Effect.die,
					}),
				),
		}
	}),
	{ maxIdleTime: "5 minutes" },
)

// --- [EXPORT]

export { SocketEntityLive }
