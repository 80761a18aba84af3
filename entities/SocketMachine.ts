// One connection's lifecycle as a Machine: absent → connecting → authenticated → active → stale → disconnecting. The
// table below is exhaustive: every operation has an answer in every state, and an operation not allowed from the
// current state is InvalidTransition (or NotAuthenticated / ChannelNotAllowed / UnknownConnection where those say
// more). State is kept in memory only; `Restore` rebuilds it from the gateway after a runner restart.
import { Machine } from "@effect/experimental"
import { Effect, Either, Match, Schema } from "effect"
import { InvalidTransition } from "./InvalidTransition.ts"
import {
	ChannelName,
	ChannelNotAllowed,
	mayUse,
	NotAuthenticated,
	SocketPrincipal,
	type SocketStatus,
	SocketView,
	UnknownConnection,
} from "./SocketProtocol.ts"

// --- [SCHEMA]

const SocketOperation = Schema.Union(
	Schema.TaggedStruct("Connect", {}),
	Schema.TaggedStruct("Authenticate", { principal: SocketPrincipal }),
	Schema.TaggedStruct("Subscribe", { channel: ChannelName }),
	Schema.TaggedStruct("Unsubscribe", { channel: ChannelName }),
	Schema.TaggedStruct("Publish", { channel: ChannelName }),
	Schema.TaggedStruct("Heartbeat", {}),
	Schema.TaggedStruct("MarkStale", {}),
	Schema.TaggedStruct("Disconnect", {}),
	Schema.TaggedStruct("Restore", { principal: Schema.NullOr(SocketPrincipal), channels: Schema.Array(ChannelName) }),
)
type SocketOperation = typeof SocketOperation.Type

const SocketState = Schema.Union(Schema.TaggedStruct("Absent", {}), Schema.TaggedStruct("Live", SocketView.fields))
type SocketState = typeof SocketState.Type

type Failure = InvalidTransition | UnknownConnection | NotAuthenticated | ChannelNotAllowed

class ApplySocket extends Schema.TaggedRequest<ApplySocket>()("ApplySocket", {
	failure: Schema.Union(InvalidTransition, UnknownConnection, NotAuthenticated, ChannelNotAllowed),
	success: SocketView,
	payload: { operation: SocketOperation, now: Schema.Number },
}) {}

// --- [FUNCTIONS]

const refuse = (from: string, operation: SocketOperation["_tag"]) =>
	Either.left<Failure>(
		new InvalidTransition({ message: `cannot ${operation} a connection that is ${from}`, from, operation }),
	)

const live = (view: SocketView): SocketState => ({ _tag: "Live", ...view })

const viewOf = (state: SocketState & { readonly _tag: "Live" }): SocketView => ({
	status: state.status,
	principal: state.principal,
	channels: state.channels,
	lastHeartbeatAt: state.lastHeartbeatAt,
})

const withStatus = (
	state: SocketState & { readonly _tag: "Live" },
	status: SocketStatus,
	changes: Partial<SocketView> = {},
) => Either.right<SocketState>(live({ ...viewOf(state), ...changes, status }))

// May this live connection use `channel`? (authenticated or active only)
const authorize = (
	state: SocketState & { readonly _tag: "Live" },
	channel: string,
	operation: SocketOperation["_tag"],
) =>
	state.principal === null || state.status === "connecting"
		? Either.left<Failure>(new NotAuthenticated({ message: "authenticate first" }))
		: state.status !== "authenticated" && state.status !== "active"
			? refuse(state.status, operation)
			: mayUse(state.principal, channel)
				? Either.right(state.principal)
				: Either.left<Failure>(
						new ChannelNotAllowed({
							message: `channel '${channel}' is not open to this connection`,
							channel,
						}),
					)

// Pure: the next state for an operation, or why not.
const transition = (state: SocketState, operation: SocketOperation, now: number): Either.Either<SocketState, Failure> =>
	Match.valueTags(state, {
		Absent: () =>
			Match.valueTags(operation, {
				Connect: () =>
					Either.right(live({ status: "connecting", principal: null, channels: [], lastHeartbeatAt: now })),
				Restore: ({ principal, channels }) =>
					Either.right(
						live({
							status:
								principal === null ? "connecting" : channels.length > 0 ? "active" : "authenticated",
							principal,
							channels: principal === null ? [] : channels,
							lastHeartbeatAt: now,
						}),
					),
				Authenticate: () => unknown(),
				Subscribe: () => unknown(),
				Unsubscribe: () => unknown(),
				Publish: () => unknown(),
				Heartbeat: () => unknown(),
				MarkStale: () => unknown(),
				Disconnect: () => unknown(),
			}),
		Live: (current) =>
			Match.valueTags(operation, {
				Connect: () => refuse(current.status, "Connect"),
				Restore: () => refuse(current.status, "Restore"),
				Authenticate: ({ principal }) =>
					current.status === "connecting"
						? withStatus(current, "authenticated", { principal, lastHeartbeatAt: now })
						: refuse(current.status, "Authenticate"),
				Subscribe: ({ channel }) =>
					Either.flatMap(authorize(current, channel, "Subscribe"), () =>
						withStatus(current, "active", {
							channels: current.channels.includes(channel)
								? current.channels
								: [...current.channels, channel],
						}),
					),
				Unsubscribe: ({ channel }) =>
					current.status === "authenticated" || current.status === "active"
						? Either.right(
								live({
									...viewOf(current),
									channels: current.channels.filter((name) => name !== channel),
									status: current.channels.some((name) => name !== channel)
										? "active"
										: "authenticated",
								}),
							)
						: refuse(current.status, "Unsubscribe"),
				Publish: ({ channel }) => Either.map(authorize(current, channel, "Publish"), () => state),
				Heartbeat: () =>
					current.status === "connecting" || current.status === "authenticated" || current.status === "active"
						? withStatus(current, current.status, { lastHeartbeatAt: now })
						: refuse(current.status, "Heartbeat"),
				MarkStale: () =>
					current.status === "connecting" || current.status === "authenticated" || current.status === "active"
						? withStatus(current, "stale")
						: refuse(current.status, "MarkStale"),
				Disconnect: () =>
					current.status === "disconnecting"
						? refuse(current.status, "Disconnect")
						: withStatus(current, "disconnecting"),
			}),
	})

const unknown = () => Either.left<Failure>(new UnknownConnection({ message: "no state for this connection" }))

// --- [SERVICES]

const SocketMachine = Machine.makeWith<SocketState, string>()((connection, previous) =>
	Effect.succeed(
		Machine.procedures
			.make<SocketState>(previous ?? { _tag: "Absent" }, { identifier: `Socket/${connection}` })
			.pipe(
				Machine.procedures.add<ApplySocket>()("ApplySocket", ({ request, state }) =>
					Either.match(transition(state, request.operation, request.now), {
						onLeft: Effect.fail,
						onRight: (next) =>
							Match.valueTags(next, {
								Absent: () => Effect.dieMessage("a live connection cannot become absent"),
								Live: (view) => Effect.succeed([viewOf(view), next] as const),
							}),
					}),
				),
			),
	),
)

// --- [EXPORT]

export { ApplySocket, SocketMachine, SocketOperation, type SocketState, transition }
