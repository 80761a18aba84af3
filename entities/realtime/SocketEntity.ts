// Handlers of the Socket entity (`<tenantId>/<connectionId>`, single-threaded): every request is one operation of
// the connection's Machine, booted empty when the instance starts. A connection lives as long as its gateway keeps
// talking to it (heartbeats reset the idle timer).
import { Entity } from "@effect/cluster"
import { Machine } from "@effect/experimental"
import { Clock, Effect, type Request } from "effect"
import { Telemetry } from "../../platform/Telemetry.ts"
import {
	Authenticate,
	Connect,
	Disconnect,
	Heartbeat,
	MarkStale,
	Publish,
	Restore,
	SocketMachine,
	Subscribe,
	Unsubscribe,
} from "./SocketMachine.ts"
import { Socket } from "./SocketProtocol.ts"

// --- [LAYERS]

const SocketEntityLive = Socket.toLayer(
	Effect.gen(function* () {
		const address = yield* Entity.CurrentAddress
		const actor = yield* Machine.boot(SocketMachine, address.entityId)
		// Stamps the operation with the time it happened at.
		const send = <Req extends Machine.Machine.Public<typeof SocketMachine>>(
			name: string,
			make: (now: number) => Req,
		): Effect.Effect<Request.Request.Success<Req>, Request.Request.Error<Req>> =>
			Clock.currentTimeMillis.pipe(
				Effect.flatMap((now) => actor.send(make(now))),
				Telemetry.span(`Socket.${name}`),
			)
		return {
			Connect: () => send("Connect", (now) => new Connect({ now })),
			Authenticate: ({ payload }) =>
				send("Authenticate", (now) => new Authenticate({ now, principal: payload.principal })),
			Subscribe: ({ payload }) => send("Subscribe", (now) => new Subscribe({ now, channel: payload.channel })),
			Unsubscribe: ({ payload }) =>
				send("Unsubscribe", (now) => new Unsubscribe({ now, channel: payload.channel })),
			AuthorizePublish: ({ payload }) =>
				send("Publish", (now) => new Publish({ now, channel: payload.channel })).pipe(Effect.asVoid),
			Heartbeat: () => send("Heartbeat", (now) => new Heartbeat({ now })),
			MarkStale: () => send("MarkStale", (now) => new MarkStale({ now })),
			Disconnect: () => send("Disconnect", (now) => new Disconnect({ now })),
			Restore: ({ payload }) =>
				send(
					"Restore",
					(now) => new Restore({ now, principal: payload.principal, channels: payload.channels }),
				),
		}
	}),
	{ maxIdleTime: "5 minutes" },
)

// --- [EXPORT]

export { SocketEntityLive }
