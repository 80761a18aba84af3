// How the gateway calls entities: infrastructure faults of the call (mailbox full, storage or transport down, a
// defect on the runner) become 503 ServiceUnavailable; the entity's own typed errors pass through untouched.
import { ClusterError, EntityAddress, EntityId, EntityType, MessageStorage, Sharding } from "@effect/cluster"
import { Cause, Effect, Option, Predicate, PrimaryKey, Schema } from "effect"
import { StorageUnavailable } from "../platform/StorageUnavailable.ts"
import { ServiceUnavailable } from "./HttpErrors.ts"

// --- [CONSTANTS]

// Calls outside an HTTP request (realtime sockets) answer 503 after this long. HTTP requests are bounded as a whole by
// GATEWAY_REQUEST_TIMEOUT at the edge; a bound per call inside them would fail a bulk submission whose one message
// waited behind the others.
const EntityCallDeadline = "20 seconds"

// --- [FUNCTIONS]

type Infrastructure =
	| ClusterError.MailboxFull
	| ClusterError.AlreadyProcessingMessage
	| ClusterError.PersistenceError
	| StorageUnavailable

const isInfrastructure = <E>(error: E): error is Extract<E, Infrastructure> =>
	ClusterError.MailboxFull.is(error) ||
	ClusterError.AlreadyProcessingMessage.is(error) ||
	Predicate.isTagged(error, "PersistenceError") ||
	Schema.is(StorageUnavailable)(error)

const unavailable = (cause: Cause.Cause<unknown>) =>
	Effect.logWarning("entity call failed on infrastructure; answering 503", cause).pipe(
		Effect.zipRight(Effect.fail(new ServiceUnavailable({ message: "the platform is temporarily unavailable" }))),
	)

const callEntity = <A, E, R>(
	call: Effect.Effect<A, E, R>,
): Effect.Effect<A, Exclude<E, Extract<E, Infrastructure>> | ServiceUnavailable, R> =>
	call.pipe(
		Effect.catchIf(isInfrastructure<E>, (error) => unavailable(Cause.fail(error))),
		Effect.catchAllDefect((defect) => unavailable(Cause.die(defect))),
	)

// For calls outside an HTTP request (a realtime socket's), which the edge's deadline does not bound. Disconnected: a
// persisted call is uninterruptible from the client, and the deadline must not wait for its reply.
const boundedCall = <A, E, R>(call: Effect.Effect<A, E, R>) =>
	callEntity(call).pipe(
		Effect.disconnect,
		Effect.timeoutFail({
			duration: EntityCallDeadline,
			onTimeout: () => new ServiceUnavailable({ message: "the platform did not answer in time; try again" }),
		}),
	)

// A persisted message whose stored reply is an interruption (a caller cancelled it before callers stopped doing so)
// must not answer that interruption forever: its reply is cleared and the message sent again, once, so the repeat
// runs the work (or joins it) and answers the real outcome.
const PersistedCalls = Effect.gen(function* () {
	const sharding = yield* Sharding.Sharding
	const storage = yield* MessageStorage.MessageStorage
	return <A, E, R>(
		message: {
			readonly entityType: string
			readonly entityId: string
			readonly tag: string
			readonly payload: PrimaryKey.PrimaryKey
		},
		send: Effect.Effect<A, E, R>,
	) => {
		const entityId = EntityId.make(message.entityId)
		const address = new EntityAddress.EntityAddress({
			entityType: EntityType.EntityType.make(message.entityType),
			entityId,
			shardId: sharding.getShardId(entityId, "default"),
		})
		const reset = storage
			.requestIdForPrimaryKey({ address, tag: message.tag, id: PrimaryKey.value(message.payload) })
			.pipe(Effect.flatMap(Option.match({ onNone: () => Effect.succeed(false), onSome: sharding.reset })))
		return callEntity(
			send.pipe(
				Effect.catchAllCause((cause) =>
					Cause.isInterruptedOnly(cause)
						? Effect.logWarning(
								"a persisted message's stored reply is an interruption; running it again",
							).pipe(Effect.zipRight(reset), Effect.zipRight(send))
						: Effect.failCause(cause),
				),
			),
		)
	}
})

// --- [EXPORT]

export { boundedCall, callEntity, PersistedCalls }
