// One connection's lifecycle as a Machine: absent → connecting → authenticated → active → stale → disconnecting. The
// table below is exhaustive: every operation has an answer in every state, and an operation not allowed from the
// current state is InvalidTransition (or NotAuthenticated / ChannelNotAllowed / UnknownConnection where those say
// more). State is kept in memory only; `Restore` rebuilds it from the gateway after a runner restart.
import { Machine } from "@effect/experimental"
import { Effect, Either, Match, Option, Schema } from "effect"
import { InvalidTransition } from "../InvalidTransition.ts"
import { Lifecycle } from "../Lifecycle.ts"
import {
	ChannelName,
	ChannelNotAllowed,
	mayUse,
	NotAuthenticated,
	SocketPrincipal,
	SocketStatus,
	SocketStatuses,
	SocketView,
	UnknownConnection,
} from "./SocketProtocol.ts"

// --- [CONSTANTS]

const SocketOperationTag = Schema.Literal(
	"Connect",
	"Authenticate",
	"Subscribe",
	"Unsubscribe",
	"Publish",
	"Heartbeat",
	"MarkStale",
	"Disconnect",
	"Restore",
)

// Where each operation may go. Restore and Unsubscribe settle between authenticated and active by the channels that
// remain; `to: null` keeps the status. An absent connection answers UnknownConnection to what only a live one can do.
const SocketLifecycle = Lifecycle.table({
	subject: "connection",
	states: Schema.Literal("absent", ...SocketStatuses),
	operations: SocketOperationTag,
	rows: {
		Connect: { from: ["absent"], to: "connecting", audit: null },
		Restore: { from: ["absent"], to: "active", audit: null },
		Authenticate: { from: ["connecting"], to: "authenticated", audit: null },
		Subscribe: { from: ["authenticated", "active"], to: "active", audit: null },
		Unsubscribe: { from: ["authenticated", "active"], to: "authenticated", audit: null },
		Publish: { from: ["authenticated", "active"], to: null, audit: null },
		Heartbeat: { from: ["connecting", "authenticated", "active"], to: null, audit: null },
		MarkStale: { from: ["connecting", "authenticated", "active"], to: "stale", audit: null },
		Disconnect: { from: ["connecting", "authenticated", "active", "stale"], to: "disconnecting", audit: null },
	},
})

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
type LiveState = (typeof SocketState.members)[1]["Type"]

// One request per operation, each with the failures its Rpc declares.
const Gone = Schema.Union(InvalidTransition, UnknownConnection)
const Guarded = Schema.Union(InvalidTransition, UnknownConnection, NotAuthenticated, ChannelNotAllowed)
const now = { now: Schema.Number }

class Connect extends Schema.TaggedRequest<Connect>()("Connect", {
	failure: InvalidTransition,
	success: SocketView,
	payload: now,
}) {}
class Restore extends Schema.TaggedRequest<Restore>()("Restore", {
	failure: InvalidTransition,
	success: SocketView,
	payload: { ...now, principal: Schema.NullOr(SocketPrincipal), channels: Schema.Array(ChannelName) },
}) {}
class Authenticate extends Schema.TaggedRequest<Authenticate>()("Authenticate", {
	failure: Gone,
	success: SocketView,
	payload: { ...now, principal: SocketPrincipal },
}) {}
class Subscribe extends Schema.TaggedRequest<Subscribe>()("Subscribe", {
	failure: Guarded,
	success: SocketView,
	payload: { ...now, channel: ChannelName },
}) {}
class Unsubscribe extends Schema.TaggedRequest<Unsubscribe>()("Unsubscribe", {
	failure: Gone,
	success: SocketView,
	payload: { ...now, channel: ChannelName },
}) {}
class Publish extends Schema.TaggedRequest<Publish>()("Publish", {
	failure: Guarded,
	success: SocketView,
	payload: { ...now, channel: ChannelName },
}) {}
class Heartbeat extends Schema.TaggedRequest<Heartbeat>()("Heartbeat", {
	failure: Gone,
	success: SocketView,
	payload: now,
}) {}
class MarkStale extends Schema.TaggedRequest<MarkStale>()("MarkStale", {
	failure: Gone,
	success: SocketView,
	payload: now,
}) {}
class Disconnect extends Schema.TaggedRequest<Disconnect>()("Disconnect", {
	failure: Gone,
	success: SocketView,
	payload: now,
}) {}

// --- [FUNCTIONS]

const live = (view: SocketView): LiveState => ({ _tag: "Live", ...view })

const viewOf = (state: LiveState): SocketView => ({
	status: state.status,
	principal: state.principal,
	channels: state.channels,
	lastHeartbeatAt: state.lastHeartbeatAt,
})

const statusOf = (state: SocketState) =>
	Match.valueTags(state, { Absent: () => "absent" as const, Live: (current) => current.status })

// What only a live connection can do: an absent one is UnknownConnection.
const onLive = <E>(state: SocketState, step: (current: LiveState) => Either.Either<LiveState, E>) =>
	Match.valueTags(state, {
		Absent: () => Either.left(new UnknownConnection({ message: "no state for this connection" })),
		Live: step,
	})

// The table's move from the current status, with `changes`; `status` settles a target that depends on the channels.
const move = (
	current: LiveState,
	operation: typeof SocketOperationTag.Type,
	changes: Partial<SocketView> = {},
	status?: SocketStatus,
) =>
	Either.map(SocketLifecycle.transition(current.status, operation), (next) =>
		live({
			...viewOf(current),
			...changes,
			status: status ?? (Schema.is(SocketStatus)(next) ? next : current.status),
		}),
	)

// May this live connection use `channel`? Not before it authenticated; then only while the table allows it.
const authorize = (
	current: LiveState,
	channel: string,
	operation: "Subscribe" | "Publish",
): Either.Either<LiveState, NotAuthenticated | InvalidTransition | ChannelNotAllowed> =>
	Option.match(
		Option.filter(Option.fromNullable(current.principal), () => current.status !== "connecting"),
		{
			onNone: () => Either.left(new NotAuthenticated({ message: "authenticate first" })),
			onSome: (principal) =>
				Either.flatMap(SocketLifecycle.allow(current.status, operation), () =>
					mayUse(principal, channel, operation)
						? Either.right(current)
						: Either.left(
								new ChannelNotAllowed({
									message: `channel '${channel}' is not open to this connection`,
									channel,
								}),
							),
				),
		},
	)

// Pure, one function per operation: the next state, or why not.
const steps = {
	Connect: (state: SocketState, _operation: unknown, time: number) =>
		Either.map(SocketLifecycle.allow(statusOf(state), "Connect"), () =>
			live({ status: "connecting", principal: null, channels: [], lastHeartbeatAt: time }),
		),
	Restore: (state: SocketState, { channels, principal }: Pick<Restore, "principal" | "channels">, time: number) =>
		Either.map(SocketLifecycle.allow(statusOf(state), "Restore"), () =>
			live({
				status: principal === null ? "connecting" : channels.length > 0 ? "active" : "authenticated",
				principal,
				channels: principal === null ? [] : channels,
				lastHeartbeatAt: time,
			}),
		),
	Authenticate: (state: SocketState, { principal }: Pick<Authenticate, "principal">, time: number) =>
		onLive(state, (current) => move(current, "Authenticate", { principal, lastHeartbeatAt: time })),
	Subscribe: (state: SocketState, { channel }: Pick<Subscribe, "channel">) =>
		onLive(state, (current) =>
			Either.flatMap(authorize(current, channel, "Subscribe"), () =>
				move(current, "Subscribe", {
					channels: current.channels.includes(channel) ? current.channels : [...current.channels, channel],
				}),
			),
		),
	Unsubscribe: (state: SocketState, { channel }: Pick<Unsubscribe, "channel">) =>
		onLive(state, (current) => {
			const channels = current.channels.filter((name) => name !== channel)
			return move(current, "Unsubscribe", { channels }, channels.length > 0 ? "active" : "authenticated")
		}),
	Publish: (state: SocketState, { channel }: Pick<Publish, "channel">) =>
		onLive(state, (current) => authorize(current, channel, "Publish")),
	Heartbeat: (state: SocketState, _operation: unknown, time: number) =>
		onLive(state, (current) => move(current, "Heartbeat", { lastHeartbeatAt: time })),
	MarkStale: (state: SocketState) => onLive(state, (current) => move(current, "MarkStale")),
	Disconnect: (state: SocketState) => onLive(state, (current) => move(current, "Disconnect")),
}

// Every operation through its step (the table test walks this).
const transition = (state: SocketState, operation: SocketOperation, time: number) =>
	Match.valueTags(operation, {
		Connect: (request) => steps.Connect(state, request, time),
		Restore: (request) => steps.Restore(state, request, time),
		Authenticate: (request) => steps.Authenticate(state, request, time),
		Subscribe: (request) => steps.Subscribe(state, request),
		Unsubscribe: (request) => steps.Unsubscribe(state, request),
		Publish: (request) => steps.Publish(state, request),
		Heartbeat: (request) => steps.Heartbeat(state, request, time),
		MarkStale: () => steps.MarkStale(state),
		Disconnect: () => steps.Disconnect(state),
	})

// A procedure answering with the next state's view.
const answer = <E>(next: Either.Either<LiveState, E>) =>
	Either.match(next, {
		onLeft: (error) => Effect.fail(error),
		onRight: (state) => Effect.succeed([viewOf(state), state as SocketState] as const),
	})

// --- [SERVICES]

// In memory only: nothing to load, so nothing to retry.
const SocketMachine = Lifecycle.machine<SocketState, string>({
	name: "Socket",
	initial: { _tag: "Absent" },
	key: String,
	retry: false,
})((_connection, empty) =>
	Effect.succeed(
		empty.pipe(
			Machine.procedures.add<Connect>()("Connect", ({ request, state }) =>
				answer(steps.Connect(state, request, request.now)),
			),
			Machine.procedures.add<Restore>()("Restore", ({ request, state }) =>
				answer(steps.Restore(state, request, request.now)),
			),
			Machine.procedures.add<Authenticate>()("Authenticate", ({ request, state }) =>
				answer(steps.Authenticate(state, request, request.now)),
			),
			Machine.procedures.add<Subscribe>()("Subscribe", ({ request, state }) =>
				answer(steps.Subscribe(state, request)),
			),
			Machine.procedures.add<Unsubscribe>()("Unsubscribe", ({ request, state }) =>
				answer(steps.Unsubscribe(state, request)),
			),
			Machine.procedures.add<Publish>()("Publish", ({ request, state }) => answer(steps.Publish(state, request))),
			Machine.procedures.add<Heartbeat>()("Heartbeat", ({ request, state }) =>
				answer(steps.Heartbeat(state, request, request.now)),
			),
			Machine.procedures.add<MarkStale>()("MarkStale", ({ state }) => answer(steps.MarkStale(state))),
			Machine.procedures.add<Disconnect>()("Disconnect", ({ state }) => answer(steps.Disconnect(state))),
		),
	),
)

// --- [EXPORT]

export {
	Authenticate,
	Connect,
	Disconnect,
	Heartbeat,
	MarkStale,
	Publish,
	Restore,
	SocketLifecycle,
	SocketMachine,
	SocketOperation,
	type SocketState,
	Subscribe,
	transition,
	Unsubscribe,
}
