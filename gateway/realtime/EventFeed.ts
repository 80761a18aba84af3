// The realtime `events` channel's source on this gateway (CONTRACT "Events"): one LISTEN on `events` for the whole
// gateway (PgListen), fanned out locally to this gateway's subscribers. Notifications are only hints: each subscriber
// has a cursor (the last seq it was sent) and the feed reads the tenant's log after the lowest cursor (TenantEvents
// entity), sending each subscriber exactly the events after its own cursor, in seq order. Every (re)connection of the
// LISTEN catches up all tenants from the table, so a notification lost while it was down loses nothing. All
// registrations and deliveries run on one fiber, in order, so a subscriber is told `subscribed` before its first
// event, never gets an event twice, and never skips one.
import {
	Data,
	Deferred,
	Duration,
	Effect,
	Match,
	MutableHashMap,
	MutableHashSet,
	Option,
	Queue,
	Schema,
	Stream,
} from "effect"
import { EventNotice, NotificationChannel, type TenantEvent } from "../../entities/event/EventModel.ts"
import { TenantEvents } from "../../entities/event/EventProtocol.ts"
import { PgListen } from "../../platform/PgListen.ts"
import { Telemetry } from "../../platform/Telemetry.ts"

// --- [CONSTANTS]

// Events read per call to the log; a full batch is followed by the next one.
const BatchSize = 500

// A read of the log that failed is tried again after this.
const RetryAfter = Duration.seconds(1)

// --- [ERRORS]

// The tenant's log could not be read to start a subscription (the socket answers an `error` frame).
class EventsUnavailable extends Data.TaggedError("EventsUnavailable")<{ readonly message: string }> {}

// --- [SERVICES]

class EventFeed extends Effect.Service<EventFeed>()("gateway/EventFeed", {
	scoped: Effect.gen(function* () {
		const log = yield* TenantEvents.client
		// tenant → subscriber id → its cursor and how to send it an event. Touched only by the worker fiber.
		const followers = MutableHashMap.empty<
			string,
			MutableHashMap.MutableHashMap<
				string,
				{ cursor: number; readonly deliver: (event: TenantEvent) => Effect.Effect<void> }
			>
		>()
		const pending = MutableHashSet.empty<string>()
		const work = yield* Queue.unbounded<Effect.Effect<void>>()
		const followersOf = (tenantId: string) =>
			Option.getOrElse(MutableHashMap.get(followers, tenantId), () =>
				MutableHashMap.empty<
					string,
					{ cursor: number; readonly deliver: (event: TenantEvent) => Effect.Effect<void> }
				>(),
			)

		// Sends `tenantId`'s subscribers what they have not seen yet, batch after batch.
		const catchUp = (tenantId: string): Effect.Effect<void> =>
			Effect.suspend(() => {
				MutableHashSet.remove(pending, tenantId)
				const subscribers = [...followersOf(tenantId)].map(([, subscriber]) => subscriber)
				const from = Math.min(...subscribers.map((subscriber) => subscriber.cursor))
				return subscribers.length === 0
					? Effect.void
					: log(tenantId)
							.After({ after: from, limit: BatchSize })
							.pipe(
								Effect.timeout("20 seconds"),
								Effect.flatMap((batch) =>
									Effect.forEach(
										batch,
										(event) =>
											Effect.forEach(
												subscribers.filter((subscriber) => subscriber.cursor < event.seq),
												(subscriber) =>
													subscriber.deliver(event).pipe(
														Effect.ensuring(
															Effect.sync(() => {
																subscriber.cursor = event.seq
															}),
														),
													),
												{ discard: true },
											),
										{ discard: true },
									).pipe(
										Effect.zipRight(batch.length === BatchSize ? catchUp(tenantId) : Effect.void),
									),
								),
								Effect.catchAllCause((cause) =>
									Effect.logWarning("events feed could not read the log; retrying", cause).pipe(
										Effect.zipRight(
											wake(tenantId).pipe(Effect.delay(RetryAfter), Effect.forkDaemon),
										),
										Effect.asVoid,
									),
								),
								Telemetry.span("EventFeed.catchUp"),
							)
			})
		const wake = (tenantId: string): Effect.Effect<void> =>
			Effect.suspend(() =>
				MutableHashSet.has(pending, tenantId) || !MutableHashMap.has(followers, tenantId)
					? Effect.void
					: Effect.sync(() => MutableHashSet.add(pending, tenantId)).pipe(
							Effect.zipRight(Queue.offer(work, catchUp(tenantId))),
							Effect.asVoid,
						),
			)
		const wakeAll = Effect.suspend(() => Effect.forEach(MutableHashMap.keys(followers), wake, { discard: true }))

		yield* Queue.take(work).pipe(Effect.flatten, Effect.forever, Effect.forkScoped)
		yield* PgListen.listen(NotificationChannel).pipe(
			Stream.runForEach((notice) =>
				Match.valueTags(notice, {
					Listening: () => wakeAll,
					Notification: ({ payload }) =>
						Schema.decodeUnknown(EventNotice)(payload).pipe(
							Effect.flatMap(([tenantId]) => wake(tenantId)),
							Effect.catchAll(() => Effect.logWarning("malformed events notification dropped")),
						),
				}),
			),
			Effect.forkScoped,
		)

		// Runs `step` on the worker and waits for it.
		const onWorker = <A, E>(step: Effect.Effect<A, E>) =>
			Effect.flatMap(Deferred.make<A, E>(), (done) =>
				Queue.offer(work, Effect.exit(step).pipe(Effect.flatMap((exit) => Deferred.done(done, exit)))).pipe(
					Effect.zipRight(Deferred.await(done)),
				),
			)

		return {
			// Follows `tenantId`'s log from after `after` (null: from now). `announce` is told the starting seq before
			// any event is delivered; `deliver` gets each later event once, in order.
			subscribe: (options: {
				readonly tenantId: string
				readonly subscriberId: string
				readonly after: number | null
				readonly announce: (seq: number) => Effect.Effect<void>
				readonly deliver: (event: TenantEvent) => Effect.Effect<void>
			}) =>
				onWorker(
					(options.after === null
						? log(options.tenantId).Head().pipe(Effect.timeout("20 seconds"))
						: Effect.succeed(options.after)
					).pipe(
						Effect.mapError(
							() => new EventsUnavailable({ message: "the event log is temporarily unavailable" }),
						),
						Effect.tap((start) => options.announce(start)),
						Effect.tap((start) =>
							Effect.sync(() => {
								const current = followersOf(options.tenantId)
								MutableHashMap.set(current, options.subscriberId, {
									cursor: start,
									deliver: options.deliver,
								})
								MutableHashMap.set(followers, options.tenantId, current)
							}),
						),
						Effect.tap(() => catchUp(options.tenantId)),
					),
				),
			// Stops delivering to the subscriber; nothing reaches it once this returns.
			unsubscribe: (tenantId: string, subscriberId: string) =>
				onWorker(
					Effect.sync(() => {
						const current = followersOf(tenantId)
						MutableHashMap.remove(current, subscriberId)
						return MutableHashMap.size(current) === 0
							? MutableHashMap.remove(followers, tenantId)
							: undefined
					}),
				).pipe(Effect.asVoid),
		} as const
	}),
}) {}

// --- [EXPORT]

export { EventFeed, EventsUnavailable }
