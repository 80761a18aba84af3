// This gateway's side of realtime: the registry of the sockets it holds (STM, so concurrent subscribe, publish and
// close never race, seed O5), the broadcast path (every publish goes through Redis, so it reaches subscribers on
// every gateway, seed C5, numbered per channel by `seq`), presence kept only in the cache service with TTLs (seed
// H8), and the revocation path (a revoked credential closes its sockets here, whichever gateway revoked it).
// Channels are always addressed with their tenant, so tenants never share one, whatever the name.
import {
	Data,
	Duration,
	Effect,
	HashMap,
	HashSet,
	Metric,
	MutableHashMap,
	Option,
	Schedule,
	Schema,
	STM,
	Stream,
	TMap,
	TRef,
} from "effect"
import { SocketPrincipal } from "../../entities/realtime/SocketProtocol.ts"
import type { TenantId } from "../../entities/Tenancy.ts"
import { Cache } from "../../platform/Cache.ts"
import { Metrics } from "../../platform/Metrics.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Credentials } from "../identity/Credentials.ts"
import { callEntity } from "../EntityCall.ts"
import { RealtimeConfig } from "./RealtimeConfig.ts"
import {
	CloseCodes,
	encode,
	errorFrame,
	type MessageSender,
	messageParts,
	type PresenceMember,
	PresenceMemberJson,
} from "./RealtimeFrames.ts"
import { TenantCache } from "../tenant/TenantCache.ts"

// --- [CONSTANTS]

// The one Redis channel every gateway listens on: `<tenantId> <channel> <origin> <frame>`, the origin being the
// publishing connection's id (a client publish) or `-` (anything else).
const RealtimeChannel = "realtime"

const NoOrigin = "-"

// --- [SCHEMA]

const ConnectionState = Schema.Struct({
	principal: Schema.NullOr(SocketPrincipal),
	tokenHash: Schema.NullOr(Schema.String),
	channels: Schema.HashSetFromSelf(Schema.String),
	presence: Schema.HashSetFromSelf(Schema.String),
	lastSeen: Schema.Number,
	// The cache-service set this connection counts in for its user's connection limit, once claimed.
	userSet: Schema.NullOr(Schema.String),
})
type ConnectionState = typeof ConnectionState.Type

// A connection with client publishes in flight: the frames that arrived for it meanwhile, held until the publisher
// has been told `published` (Redis may deliver the message to this gateway before it answers the publish), and then
// written in their order.
const PublishGate = Schema.Struct({ publishing: Schema.Number, held: Schema.Array(Schema.String) })
type PublishGate = typeof PublishGate.Type

// --- [ERRORS]

// Never leaves this module's callers: the route answers 429.
class TooManyConnections extends Data.TaggedError("TooManyConnections")<{ readonly message: string }> {}

// --- [FUNCTIONS]

// A registered connection: what the socket route hands over, and the state this hub keeps for it.
const connectionOf = (
	socket: {
		readonly id: string
		readonly tenantId: TenantId
		readonly send: (frame: string) => Effect.Effect<void>
		// The same, synchronously, once the raw socket is known (the fan-out sends one frame to many sockets in one
		// step); false when it is not known yet.
		readonly push: (frame: string) => boolean
		readonly close: (code: number, reason: string) => Effect.Effect<void>
		// Validates the connection's credential again (it changed: a rotated key got a grace end) and re-arms its
		// expiry.
		readonly recheck: Effect.Effect<void>
	},
	state: TRef.TRef<ConnectionState>,
) => ({ ...socket, state })
type Connection = ReturnType<typeof connectionOf>

// `self`: whether the connection's own publishes on the channel are delivered to it too.
const subscriberOf = (connection: Connection, since: number, self: boolean) => ({ connection, since, self })
type Subscriber = ReturnType<typeof subscriberOf>

const channelKey = (tenantId: string, channel: string) => `${tenantId} ${channel}`
const counterKey = (tenantId: string, channel: string) => `realtime:seq:{${tenantId}:${channel}}`
const presenceSet = (tenantId: string, channel: string) => `presence:${tenantId}:${channel}`
const userSet = (tenantId: string, userId: string) => `realtime:users:${tenantId}:${userId}`

// `<tenantId> <channel> <origin> <frame>` → its parts; the frame is passed on as it arrived (encoded once, by the
// publisher).
const parseEnvelope = (raw: string) => {
	const first = raw.indexOf(" ")
	const second = raw.indexOf(" ", first + 1)
	const third = raw.indexOf(" ", second + 1)
	return first > 0 && second > first && third > second
		? Option.some({
				key: raw.slice(0, second),
				origin: raw.slice(second + 1, third),
				frame: raw.slice(third + 1),
			})
		: Option.none()
}

// --- [SERVICES]

class RealtimeHub extends Effect.Service<RealtimeHub>()("gateway/RealtimeHub", {
	scoped: Effect.gen(function* () {
		const config = yield* RealtimeConfig
		const cache = yield* Cache
		const credentials = yield* Credentials
		const tenants = yield* TenantCache
		const connections = yield* TMap.empty<string, Connection>()
		// Open connections per client address group on this gateway.
		const addresses = yield* TMap.empty<string, number>()
		// Per tenant channel: the subscribed connections, each with the last `seq` it was told about when it
		// subscribed (messages up to it may still be in flight from Redis; they are not delivered to it after that).
		const subscribers = yield* TMap.empty<string, HashMap.HashMap<string, Subscriber>>()
		const gates = MutableHashMap.empty<string, PublishGate>()
		const now = Effect.clockWith((clock) => clock.currentTimeMillis)

		// True when the frame was held for the connection (it has a publish in flight), false when it is to be sent now.
		const held = (connection: Connection, frame: string) =>
			Option.match(MutableHashMap.get(gates, connection.id), {
				onNone: () => false,
				onSome: (gate) => {
					MutableHashMap.set(gates, connection.id, { ...gate, held: [...gate.held, frame] })
					return true
				},
			})
		const openGate = (connection: Connection) =>
			Effect.sync(() =>
				MutableHashMap.modifyAt(gates, connection.id, (gate) =>
					Option.some(
						Option.match(gate, {
							onNone: () => ({ publishing: 1, held: [] }),
							onSome: (open) => ({ ...open, publishing: open.publishing + 1 }),
						}),
					),
				),
			)
		// The last publish in flight closes the gate and writes what was held, in one synchronous step with the
		// delivery path, so nothing overtakes it.
		const closeGate = (connection: Connection) =>
			Effect.suspend(() =>
				Option.match(MutableHashMap.get(gates, connection.id), {
					onNone: () => Effect.void,
					onSome: (gate) =>
						gate.publishing > 1
							? Effect.sync(() =>
									MutableHashMap.set(gates, connection.id, {
										...gate,
										publishing: gate.publishing - 1,
									}),
								)
							: Effect.sync(() => MutableHashMap.remove(gates, connection.id)).pipe(
									Effect.zipRight(
										Effect.forEach(gate.held, (frame) => connection.send(frame), { discard: true }),
									),
								),
				}),
			)

		const localSubscribers = (key: string) =>
			TMap.get(subscribers, key).pipe(
				STM.commit,
				Effect.map(Option.match({ onNone: () => [], onSome: (entries) => [...HashMap.values(entries)] })),
			)

		// Redis → the local subscribers of that tenant's channel. A message frame ends with its `"seq":n}`.
		const deliver = (raw: string) =>
			Option.match(parseEnvelope(raw), {
				onNone: () => Effect.logWarning("malformed realtime envelope dropped"),
				onSome: ({ key, origin, frame }) => {
					const seq = frame.startsWith('{"type":"message"')
						? Number(frame.slice(frame.lastIndexOf('"seq":') + 6, -1))
						: Number.POSITIVE_INFINITY
					return localSubscribers(key).pipe(
						Effect.flatMap((targets) =>
							Effect.suspend(() => {
								const due = targets.filter(
									(subscriber) =>
										(seq > subscriber.since || Number.isNaN(seq)) &&
										(subscriber.self || subscriber.connection.id !== origin),
								)
								const late = due.filter(
									(subscriber) =>
										!held(subscriber.connection, frame) && !subscriber.connection.push(frame),
								)
								return Effect.forEach(late, (subscriber) => subscriber.connection.send(frame), {
									discard: true,
								})
							}),
						),
					)
				},
			})
		yield* cache.subscribe(RealtimeChannel).pipe(
			Stream.runForEach(deliver),
			Effect.tapErrorCause((cause) => Effect.logWarning("realtime stream restarting", cause)),
			Effect.retry(Schedule.spaced("1 second")),
			Effect.forkScoped,
		)

		const announce = (tenantId: string, channel: string, frame: string) =>
			cache.publish(RealtimeChannel, `${channelKey(tenantId, channel)} ${NoOrigin} ${frame}`)

		const members = (values: ReadonlyArray<string>) =>
			Effect.forEach(values, (value) => Effect.option(Schema.decode(PresenceMemberJson)(value))).pipe(
				Effect.map((decoded) => decoded.flatMap(Option.toArray)),
			)

		const presenceDiff = (
			tenantId: string,
			channel: string,
			diff: { readonly joins: ReadonlyArray<PresenceMember>; readonly leaves: ReadonlyArray<PresenceMember> },
		) =>
			Effect.when(
				encode({ type: "presence_diff", channel, ...diff }).pipe(
					Effect.flatMap((frame) => announce(tenantId, channel, frame)),
				),
				() => diff.joins.length + diff.leaves.length > 0,
			)

		const leave = (connection: Connection, channel: string) =>
			cache.members.leave(presenceSet(connection.tenantId, channel), connection.id).pipe(
				Effect.flatMap(
					Option.match({
						onNone: () => Effect.void,
						onSome: (value) =>
							members([value]).pipe(
								Effect.flatMap((leaves) =>
									presenceDiff(connection.tenantId, channel, { joins: [], leaves }),
								),
							),
					}),
				),
				Effect.zipRight(
					TRef.update(connection.state, (state) => ({
						...state,
						presence: HashSet.remove(state.presence, channel),
					})).pipe(STM.commit),
				),
			)

		// Presence of sockets that died without leaving (their gateway crashed): whoever still has subscribers of the
		// channel reaps the expired entries and tells them.
		const reap = Effect.gen(function* () {
			const keys = yield* TMap.keys(subscribers).pipe(STM.commit)
			yield* Effect.forEach(
				keys,
				(key) => {
					const [tenantId = "", channel = ""] = key.split(" ")
					return cache.members.reap(presenceSet(tenantId, channel)).pipe(
						Effect.flatMap((expired) => members(expired.map(([, value]) => value))),
						Effect.flatMap((leaves) => presenceDiff(tenantId, channel, { joins: [], leaves })),
						Effect.catchAll((error) => Effect.logWarning("presence reap failed", error)),
					)
				},
				{ concurrency: 4, discard: true },
			)
		})
		yield* reap.pipe(
			Effect.repeat(Schedule.spaced(Duration.millis(Duration.toMillis(config.presenceTtl) / 2))),
			Effect.forkScoped,
		)

		const connectionsWhere = (keep: (connection: Connection, state: ConnectionState) => boolean) =>
			TMap.values(connections).pipe(
				STM.flatMap((all) =>
					STM.filter(all, (connection) =>
						TRef.get(connection.state).pipe(STM.map((state) => keep(connection, state))),
					),
				),
				STM.commit,
			)

		// A revoked credential closes every socket it opened on this gateway; a changed one (a rotated key now ends at
		// its grace period) is checked again by each of its sockets, which re-arm their expiry.
		yield* credentials.revocations.pipe(
			Stream.runForEach(({ tenantId, hashes, revoked }) =>
				connectionsWhere(
					(connection, state) =>
						connection.tenantId === tenantId &&
						state.tokenHash !== null &&
						hashes.includes(state.tokenHash),
				).pipe(
					Effect.flatMap((matching) =>
						Effect.forEach(
							matching,
							(connection) =>
								revoked
									? encode({ type: "session_revoked" }).pipe(
											Effect.flatMap(connection.send),
											Effect.zipRight(
												connection.close(CloseCodes.sessionRevoked, "session revoked"),
											),
										)
									: connection.recheck,
							{ discard: true },
						),
					),
				),
			),
			Effect.forkScoped,
		)

		// A tenant that changed (the cache entry is already dropped) and is no longer active: its sockets here close.
		yield* tenants.changes.pipe(
			Stream.runForEach((changed) =>
				connectionsWhere((connection) => connection.tenantId === changed.id).pipe(
					Effect.flatMap((matching) =>
						Effect.when(
							callEntity(tenants.resolve(changed.id)).pipe(
								Effect.map((tenant) => tenant.status !== "active"),
								Effect.catchTag("TenantNotFound", () => Effect.succeed(true)),
								Effect.flatMap((gone) =>
									Effect.when(
										Effect.forEach(
											matching,
											(connection) =>
												errorFrame(
													"TenantNotFound",
													"the tenant was suspended or deleted",
												).pipe(
													Effect.flatMap(connection.send),
													Effect.zipRight(
														connection.close(
															CloseCodes.sessionRevoked,
															"tenant unavailable",
														),
													),
												),
											{ discard: true },
										),
										() => gone,
									),
								),
								Effect.catchAll((error) =>
									Effect.logWarning("tenant check for realtime failed", error),
								),
							),
							() => matching.length > 0,
						),
					),
				),
			),
			Effect.forkScoped,
		)

		return {
			register: (connection: Parameters<typeof connectionOf>[0]) =>
				Effect.flatMap(now, (time) =>
					STM.gen(function* () {
						const state = yield* TRef.make<ConnectionState>({
							principal: null,
							tokenHash: null,
							channels: HashSet.empty(),
							presence: HashSet.empty(),
							lastSeen: time,
							userSet: null,
						})
						const registered = connectionOf(connection, state)
						yield* TMap.set(connections, connection.id, registered)
						return registered
					}).pipe(STM.commit),
				),
			authenticate: (connection: Connection, principal: SocketPrincipal, tokenHash: string) =>
				TRef.update(connection.state, (state) => ({ ...state, principal, tokenHash })).pipe(STM.commit),
			seen: (connection: Connection) =>
				Effect.flatMap(now, (time) =>
					TRef.update(connection.state, (state) => ({ ...state, lastSeen: time })).pipe(STM.commit),
				),
			stateOf: (connection: Connection) => TRef.get(connection.state).pipe(STM.commit),
			// Subscribes and returns the channel's current `seq`: everything numbered after it will be delivered (the
			// connection's own publishes only with `self`), nothing up to it will be delivered once this returns.
			subscribe: (connection: Connection, channel: string, self: boolean) =>
				Effect.gen(function* () {
					const key = channelKey(connection.tenantId, channel)
					const setSince = (since: number) =>
						STM.gen(function* () {
							const current = Option.getOrElse(yield* TMap.get(subscribers, key), () =>
								HashMap.empty<string, Subscriber>(),
							)
							yield* TMap.set(
								subscribers,
								key,
								HashMap.set(current, connection.id, subscriberOf(connection, since, self)),
							)
							yield* TRef.update(connection.state, (state) => ({
								...state,
								channels: HashSet.add(state.channels, channel),
							}))
						}).pipe(STM.commit)
					yield* setSince(0)
					const seq = yield* cache
						.get(counterKey(connection.tenantId, channel))
						.pipe(Effect.map((value) => Option.getOrElse(Option.map(value, Number), () => 0)))
					yield* setSince(seq)
					return seq
				}),
			unsubscribe: (connection: Connection, channel: string) =>
				STM.gen(function* () {
					const key = channelKey(connection.tenantId, channel)
					const current = Option.getOrElse(yield* TMap.get(subscribers, key), () =>
						HashMap.empty<string, Subscriber>(),
					)
					const rest = HashMap.remove(current, connection.id)
					yield* HashMap.size(rest) === 0 ? TMap.remove(subscribers, key) : TMap.set(subscribers, key, rest)
					yield* TRef.update(connection.state, (state) => ({
						...state,
						channels: HashSet.remove(state.channels, channel),
					}))
				}).pipe(STM.commit, Effect.zipRight(leave(connection, channel).pipe(Effect.ignore))),
			// Takes the connection out of every registry, then out of presence (announcing the leaves).
			remove: (connection: Connection) =>
				STM.gen(function* () {
					const state = yield* TRef.get(connection.state)
					yield* STM.forEach(state.channels, (channel) => {
						const key = channelKey(connection.tenantId, channel)
						return TMap.get(subscribers, key).pipe(
							STM.map(Option.getOrElse(() => HashMap.empty<string, Subscriber>())),
							STM.map((current) => HashMap.remove(current, connection.id)),
							STM.flatMap((rest) =>
								HashMap.size(rest) === 0
									? TMap.remove(subscribers, key)
									: TMap.set(subscribers, key, rest),
							),
						)
					})
					yield* TMap.remove(connections, connection.id)
					return state
				}).pipe(
					STM.commit,
					Effect.flatMap((state) =>
						Effect.forEach(state.presence, (channel) => leave(connection, channel).pipe(Effect.ignore), {
							discard: true,
						}).pipe(
							Effect.zipRight(
								Effect.forEach(
									Option.toArray(Option.fromNullable(state.userSet)),
									(set) => cache.members.leave(set, connection.id).pipe(Effect.ignore),
									{ discard: true },
								),
							),
						),
					),
				),
			// Counts the connection towards its user's limit, across gateways (a set in the cache service whose members
			// expire unless the connection's pings refresh them, so a crashed gateway's connections stop counting).
			// Joins first and counts after, so concurrent connections of one user never all get in over the limit.
			claimUser: (connection: Connection, userId: string) =>
				Effect.gen(function* () {
					const set = userSet(connection.tenantId, userId)
					yield* Effect.all(
						[cache.members.reap(set), cache.members.join(set, connection.id, "", config.presenceTtl)],
						{ concurrency: "unbounded", discard: true },
					)
					const open = yield* cache.members.list(set)
					yield* open.length > config.maxConnectionsPerUser
						? cache.members.leave(set, connection.id).pipe(
								Effect.zipRight(
									Effect.fail(
										new TooManyConnections({
											message: `at most ${config.maxConnectionsPerUser} connections per user`,
										}),
									),
								),
							)
						: TRef.update(connection.state, (state) => ({ ...state, userSet: set })).pipe(STM.commit)
				}),
			// One more connection from this address group on this gateway, for the life of the scope.
			admitAddress: (group: string) =>
				Effect.acquireRelease(
					STM.gen(function* () {
						const open = Option.getOrElse(yield* TMap.get(addresses, group), () => 0)
						yield* STM.when(
							STM.fail(
								new TooManyConnections({
									message: `at most ${config.maxConnectionsPerIp} connections per client address`,
								}),
							),
							() => open >= config.maxConnectionsPerIp,
						)
						yield* TMap.set(addresses, group, open + 1)
					}).pipe(STM.commit),
					() =>
						TMap.get(addresses, group).pipe(
							STM.map(Option.getOrElse(() => 1)),
							STM.flatMap((open) =>
								open <= 1 ? TMap.remove(addresses, group) : TMap.set(addresses, group, open - 1),
							),
							STM.commit,
						),
				),
			// Numbers the message and sends it to every gateway; returns its `seq`. `origin`: the publishing connection
			// (its subscriptions without `self` skip the message) and how it is told the `seq`: that answer reaches it
			// before anything delivered meanwhile (its own message included).
			publish: (
				tenantId: TenantId,
				channel: string,
				payload: unknown,
				from: MessageSender,
				origin?: {
					readonly connection: Connection
					readonly acknowledge: (seq: number) => Effect.Effect<void>
				},
			) =>
				messageParts(channel, payload, from).pipe(
					Effect.flatMap((parts) => {
						const numbered = cache.publishNumbered({
							counter: counterKey(tenantId, channel),
							counterTtl: config.sequenceTtl,
							channel: RealtimeChannel,
							before: `${channelKey(tenantId, channel)} ${origin?.connection.id ?? NoOrigin} ${parts.before}`,
							after: parts.after,
						})
						return origin === undefined
							? numbered
							: Effect.acquireUseRelease(
									openGate(origin.connection),
									() => numbered.pipe(Effect.tap(origin.acknowledge)),
									() => closeGate(origin.connection),
								)
					}),
					Telemetry.span("RealtimeHub.publish"),
				),
			join: (connection: Connection, channel: string, state: unknown) =>
				Effect.gen(function* () {
					const { principal } = yield* TRef.get(connection.state).pipe(STM.commit)
					const member = { connectionId: connection.id, userId: principal?.userId ?? null, state }
					const value = yield* Schema.encode(PresenceMemberJson)(member).pipe(Effect.orDie)
					yield* cache.members.join(
						presenceSet(connection.tenantId, channel),
						connection.id,
						value,
						config.presenceTtl,
					)
					yield* TRef.update(connection.state, (current) => ({
						...current,
						presence: HashSet.add(current.presence, channel),
					})).pipe(STM.commit)
					yield* presenceDiff(connection.tenantId, channel, { joins: [member], leaves: [] })
				}).pipe(Telemetry.span("RealtimeHub.join")),
			refreshPresence: (connection: Connection) =>
				TRef.get(connection.state).pipe(
					STM.commit,
					Effect.flatMap((state) =>
						cache.members.refresh(
							[
								...[...state.presence].map(
									(channel) => [presenceSet(connection.tenantId, channel), connection.id] as const,
								),
								...Option.toArray(Option.fromNullable(state.userSet)).map(
									(set) => [set, connection.id] as const,
								),
							],
							config.presenceTtl,
						),
					),
				),
			presence: (tenantId: TenantId, channel: string) =>
				cache.members
					.list(presenceSet(tenantId, channel))
					.pipe(Effect.flatMap((entries) => members(entries.map(([, value]) => value)))),
			connectionCount: TMap.size(connections).pipe(STM.commit),
		} as const
	}),
}) {}

// --- [LAYERS]

const realtimeConnections = Metric.gauge("realtime_connections", {
	description: "WebSocket connections open on this gateway",
})

// The gauge is read from the registry at each scrape.
const RealtimeMetricsLive = Metrics.source(
	Effect.flatMap(RealtimeHub, (hub) => hub.connectionCount).pipe(
		Effect.flatMap((count) => Metric.set(realtimeConnections, count)),
	),
)

// --- [EXPORT]

export { RealtimeHub, RealtimeMetricsLive, TooManyConnections }
