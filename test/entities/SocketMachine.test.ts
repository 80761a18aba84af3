import { describe, expect, it } from "@effect/vitest"
import { Machine } from "@effect/experimental"
import { Effect, Either, Exit, Match } from "effect"
import {
	Authenticate,
	Connect,
	Disconnect,
	MarkStale,
	SocketMachine,
	type SocketOperation,
	type SocketState,
	Subscribe,
	transition,
} from "../../entities/realtime/SocketMachine.ts"
import { type SocketPrincipal, SocketStatuses } from "../../entities/realtime/SocketProtocol.ts"

// --- [CONSTANTS]

const alice: SocketPrincipal = {
	kind: "session",
	userId: "00000000-0000-4000-8000-00000000000a" as never,
	credentialId: "s-1",
}

const operations: ReadonlyArray<SocketOperation> = [
	{ _tag: "Connect" },
	{ _tag: "Authenticate", principal: alice },
	{ _tag: "Subscribe", channel: "room" },
	{ _tag: "Unsubscribe", channel: "room" },
	{ _tag: "Publish", channel: "room" },
	{ _tag: "Heartbeat" },
	{ _tag: "MarkStale" },
	{ _tag: "Disconnect" },
	{ _tag: "Restore", principal: alice, channels: ["room"] },
]

const live = (status: (typeof SocketStatuses)[number]): SocketState => ({
	_tag: "Live",
	status,
	principal: status === "connecting" ? null : alice,
	channels: status === "active" ? ["room"] : [],
	lastHeartbeatAt: 0,
})

const states: ReadonlyArray<SocketState> = [{ _tag: "Absent" }, ...SocketStatuses.map(live)]

const nameOf = (state: SocketState) => Match.valueTags(state, { Absent: () => "absent", Live: (found) => found.status })

const outcome = (state: SocketState, operation: SocketOperation) =>
	Either.match(transition(state, operation, 1), {
		onLeft: (error) => error._tag,
		onRight: (next) => nameOf(next),
	})

// --- [TESTS]

describe("SocketMachine", () => {
	it("answers every operation in every state (the table is exhaustive)", () => {
		const table = Object.fromEntries(
			states.map((state) => [
				nameOf(state),
				Object.fromEntries(operations.map((operation) => [operation._tag, outcome(state, operation)])),
			]),
		)
		expect(table).toEqual({
			absent: {
				Connect: "connecting",
				Authenticate: "UnknownConnection",
				Subscribe: "UnknownConnection",
				Unsubscribe: "UnknownConnection",
				Publish: "UnknownConnection",
				Heartbeat: "UnknownConnection",
				MarkStale: "UnknownConnection",
				Disconnect: "UnknownConnection",
				Restore: "active",
			},
			connecting: {
				Connect: "InvalidTransition",
				Authenticate: "authenticated",
				Subscribe: "NotAuthenticated",
				Unsubscribe: "InvalidTransition",
				Publish: "NotAuthenticated",
				Heartbeat: "connecting",
				MarkStale: "stale",
				Disconnect: "disconnecting",
				Restore: "InvalidTransition",
			},
			authenticated: {
				Connect: "InvalidTransition",
				Authenticate: "InvalidTransition",
				Subscribe: "active",
				Unsubscribe: "authenticated",
				Publish: "authenticated",
				Heartbeat: "authenticated",
				MarkStale: "stale",
				Disconnect: "disconnecting",
				Restore: "InvalidTransition",
			},
			active: {
				Connect: "InvalidTransition",
				Authenticate: "InvalidTransition",
				Subscribe: "active",
				Unsubscribe: "authenticated",
				Publish: "active",
				Heartbeat: "active",
				MarkStale: "stale",
				Disconnect: "disconnecting",
				Restore: "InvalidTransition",
			},
			stale: {
				Connect: "InvalidTransition",
				Authenticate: "InvalidTransition",
				Subscribe: "InvalidTransition",
				Unsubscribe: "InvalidTransition",
				Publish: "InvalidTransition",
				Heartbeat: "InvalidTransition",
				MarkStale: "InvalidTransition",
				Disconnect: "disconnecting",
				Restore: "InvalidTransition",
			},
			disconnecting: {
				Connect: "InvalidTransition",
				Authenticate: "InvalidTransition",
				Subscribe: "InvalidTransition",
				Unsubscribe: "InvalidTransition",
				Publish: "InvalidTransition",
				Heartbeat: "InvalidTransition",
				MarkStale: "InvalidTransition",
				Disconnect: "InvalidTransition",
				Restore: "InvalidTransition",
			},
		})
	})

	it("keeps another user's `user:` channel closed, and one's own open", () => {
		const active = live("active")
		expect(outcome(active, { _tag: "Subscribe", channel: "user:someone-else" })).toBe("ChannelNotAllowed")
		expect(outcome(active, { _tag: "Publish", channel: "user:someone-else" })).toBe("ChannelNotAllowed")
		expect(outcome(active, { _tag: "Subscribe", channel: `user:${alice.userId}` })).toBe("active")
		expect(outcome(active, { _tag: "Subscribe", channel: `user:${alice.userId}:inbox` })).toBe("active")
	})

	it.scoped("a booted machine walks a connection through its life and refuses to go back", () =>
		Effect.gen(function* () {
			const actor = yield* Machine.boot(SocketMachine, "tenant/connection")
			expect((yield* actor.send(new Connect({ now: 5 }))).status).toBe("connecting")
			expect((yield* actor.send(new Authenticate({ now: 5, principal: alice }))).status).toBe("authenticated")
			expect(yield* actor.send(new Subscribe({ now: 5, channel: "room" }))).toMatchObject({
				status: "active",
				channels: ["room"],
			})
			expect((yield* actor.send(new MarkStale({ now: 5 }))).status).toBe("stale")
			const refused = yield* Effect.exit(actor.send(new Subscribe({ now: 5, channel: "room" })))
			expect(Exit.isFailure(refused)).toBe(true)
			expect((yield* actor.send(new Disconnect({ now: 5 }))).status).toBe("disconnecting")
		}),
	)
})
