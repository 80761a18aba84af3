// `GET /v1/realtime?app_id=<tenant>`: the WebSocket endpoint (CONTRACT "Realtime"). This gateway holds the physical
// socket; the connection's Socket entity holds its logical state and decides what it may subscribe and publish, and
// is created only once the connection's credential is valid (an unauthenticated socket touches no runner). Frames
// are handled one at a time in arrival order, at most REALTIME_MAX_QUEUED_FRAMES waiting (4429). A connection must
// authenticate within REALTIME_AUTH_TIMEOUT (4401), must be heard from within REALTIME_HEARTBEAT_TIMEOUT (stale →
// 4408), may not send frames over REALTIME_MAX_FRAME (1009), and is closed with `session_revoked` (4403) when its
// credential dies, revoked or expired, or its tenant is suspended or deleted. Bad frames get an `error` frame and the
// connection stays.
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse, Socket as PlatformSocket } from "@effect/platform"
import { NodeHttpServerRequest } from "@effect/platform-node"
import {
	Data,
	Duration,
	Effect,
	FiberHandle,
	FiberRef,
	HashSet,
	Match,
	MutableRef,
	Option,
	Queue,
	Redacted,
	Schedule,
	Schema,
	Stream,
} from "effect"
import { WebSocketServer } from "ws"
import { entityId } from "../../entities/Tenancy.ts"
import { TenantEvent } from "../../entities/event/EventModel.ts"
import {
	EventsChannel,
	Socket,
	type SocketPrincipal,
	UnknownConnection,
} from "../../entities/realtime/SocketProtocol.ts"
import { Unauthorized } from "../HttpErrors.ts"
import type { TenantView } from "../../entities/tenant/TenantProtocol.ts"
import { RequestContext } from "../../platform/RequestContext.ts"
import { Telemetry } from "../../platform/Telemetry.ts"
import { Credentials } from "../identity/Credentials.ts"
import { boundedCall } from "../EntityCall.ts"
import { RealtimeConfig } from "./RealtimeConfig.ts"
import {
	AnyJson,
	ClientFrame,
	CloseCodes,
	decodeChannel,
	encode,
	FrameRef,
	type MessageSender,
	messageParts,
	type ServerFrame,
} from "./RealtimeFrames.ts"
import { EventFeed } from "./EventFeed.ts"
import { RealtimeHub } from "./RealtimeHub.ts"
import { activeTenant } from "../tenant/TenantMiddleware.ts"
import { TenantCache } from "../tenant/TenantCache.ts"

// --- [CONSTANTS]

// Longer sleeps are taken as "forever" by the timer: a credential further out is checked again after this.
const LongestTimer = Duration.days(20)

// A credential check that could not reach the platform is tried again after this.
const RecheckRetry = Duration.seconds(5)

// The `ref` of the client frame being answered. Fibers forked while answering do not inherit it: the credential's
// expiry watch, started by an auth frame, answers much later and to no frame.
const CurrentRef = FiberRef.unsafeMake(Option.none<string>(), {
	fork: () => Option.none(),
	join: (parent) => parent,
})

// --- [ERRORS]

class UpgradeRequired extends Data.TaggedError("UpgradeRequired")<{}> {}

// --- [FUNCTIONS]

// A session still waiting for its second factor may not open (or keep) a realtime connection.
const mfaPending = () => new Unauthorized({ message: "MfaRequired: this session must complete MFA first" })

const decodeFrame = Schema.decodeUnknown(ClientFrame)

// The `ref` a parsed frame carries, as sent (valid or not).
const refField = (parsed: Option.Option<unknown>) =>
	Option.flatMap(parsed, (value) =>
		typeof value === "object" && value !== null && "ref" in value ? Option.some(value.ref) : Option.none(),
	)

const httpError = (status: number, tag: string, message: string) =>
	HttpServerResponse.unsafeJson({ _tag: tag, message }, { status })

// The connection limit counts per IPv4 address and per IPv6 /64 (one subscriber's whole network).
const addressGroup = (address: string) => {
	const [head = "", tail] = (address.split("%")[0] ?? "").split("::")
	const left = head === "" ? [] : head.split(":")
	const right = tail === undefined || tail === "" ? [] : tail.split(":")
	const zeros =
		tail === undefined ? [] : Array.from({ length: Math.max(0, 8 - left.length - right.length) }, () => "0")
	return address.includes(":")
		? `${[...left, ...zeros, ...right]
				.slice(0, 4)
				.map((hextet) => hextet.toLowerCase().replace(/^0+(?=.)/, ""))
				.join(":")}::/64`
		: address
}

const senderOf = (principal: SocketPrincipal): MessageSender =>
	Match.value(principal.kind).pipe(
		Match.when("session", () => ({ type: "user" as const, id: principal.userId ?? "" })),
		Match.when("apiKey", () => ({ type: "apiKey" as const, id: principal.credentialId ?? "" })),
		Match.when("service", () => ({ type: "service" as const })),
		Match.exhaustive,
	)

// @effect/platform-node builds its WebSocketServer with ws's default maxPayload (100 MiB) and no option to change
// it, so a client could make the gateway buffer 100 MiB before any size check. This route upgrades through a server
// of its own whose maxPayload is REALTIME_MAX_FRAME: a larger frame is refused (1009) from its header. The platform
// writes its response to the request's ServerResponse once the route returns; detached from the socket (which
// belongs to the WebSocket by then) it goes nowhere, as for the platform's own upgrades. A compliant client sends
// nothing before the handshake's answer, so no bytes arrive with the upgrade request itself.
const upgradeWith =
	(server: WebSocketServer) =>
	(request: HttpServerRequest.HttpServerRequest, raw: MutableRef.MutableRef<Option.Option<globalThis.WebSocket>>) =>
		Effect.gen(function* () {
			const incoming = NodeHttpServerRequest.toIncomingMessage(request)
			yield* Effect.filterOrFail(
				Effect.succeed(
					"upgrade" in incoming &&
						incoming.upgrade === true &&
						request.headers["upgrade"]?.toLowerCase() === "websocket",
				),
				(upgrade) => upgrade,
				() => new UpgradeRequired(),
			)
			yield* Effect.sync(() => NodeHttpServerRequest.toServerResponse(request).detachSocket(incoming.socket))
			return yield* PlatformSocket.fromWebSocket(
				Effect.acquireRelease(
					Effect.async<globalThis.WebSocket, PlatformSocket.SocketError>((resume) => {
						const abandoned = () =>
							resume(
								Effect.fail(new PlatformSocket.SocketGenericError({ reason: "Open", cause: "closed" })),
							)
						incoming.socket.once("close", abandoned)
						server.handleUpgrade(incoming, incoming.socket, Buffer.alloc(0), (socket) => {
							incoming.socket.off("close", abandoned)
							const opened = socket as unknown as globalThis.WebSocket
							MutableRef.set(raw, Option.some(opened))
							resume(Effect.succeed(opened))
						})
					}),
					(socket) => Effect.sync(() => socket.close()),
				),
			)
		})

// --- [LAYERS]

const RealtimeRouteLive = HttpApiBuilder.Router.use((router) =>
	Effect.gen(function* () {
		const config = yield* RealtimeConfig
		const hub = yield* RealtimeHub
		const feed = yield* EventFeed
		const credentials = yield* Credentials
		const tenants = yield* TenantCache
		const sockets = yield* Socket.client
		const timeoutMillis = Duration.toMillis(config.heartbeatTimeout)
		// No client tracking: it holds nothing, and closes at once.
		const upgrade = upgradeWith(
			yield* Effect.sync(
				() => new WebSocketServer({ noServer: true, maxPayload: config.maxFrameBytes, clientTracking: false }),
			),
		)

		const serve = (
			tenant: TenantView,
			upgraded: PlatformSocket.Socket,
			raw: MutableRef.MutableRef<Option.Option<globalThis.WebSocket>>,
		) =>
			Effect.gen(function* () {
				const scope = yield* Effect.scope
				const write = yield* upgraded.writer
				const connectionId = crypto.randomUUID()
				const entity = sockets(entityId(tenant.id, connectionId))
				// The credential the connection authenticated with, kept to check it again at its deadline or change.
				const credential = MutableRef.make(Option.none<Redacted.Redacted<string>>())
				const expiry = yield* FiberHandle.make<void, never>()
				// A socket already closing drops the frame, as the platform's writer would. A consumer that lets more
				// than REALTIME_MAX_BUFFERED pile up unsent is closed (4429) instead of growing without bound.
				const push = (frame: string) =>
					Option.match(MutableRef.get(raw), {
						onNone: () => false,
						onSome: (socket) => {
							void (socket.readyState !== socket.OPEN
								? undefined
								: socket.bufferedAmount > config.maxBufferedBytes
									? socket.close(CloseCodes.slowConsumer, "slow consumer")
									: socket.send(frame))
							return true
						},
					})
				const connection = yield* hub.register({
					id: connectionId,
					tenantId: tenant.id,
					send: (frame) =>
						Effect.suspend(() => (push(frame) ? Effect.void : write(frame).pipe(Effect.ignore))),
					push,
					close: (code, reason) => write(new PlatformSocket.CloseEvent(code, reason)).pipe(Effect.ignore),
					recheck: Effect.suspend(() => FiberHandle.run(expiry, check)).pipe(Effect.asVoid),
				})
				// The one place answers get the `ref` of the frame they answer.
				const reply = (frame: ServerFrame) =>
					FiberRef.get(CurrentRef).pipe(
						Effect.flatMap((ref) =>
							encode(
								Option.match(ref, { onNone: () => frame, onSome: (tag) => ({ ...frame, ref: tag }) }),
							),
						),
						Effect.flatMap(connection.send),
					)
				const fail = (tag: string, message: string) => reply({ type: "error", _tag: tag, message })
				const authenticated = hub.stateOf(connection).pipe(Effect.map((state) => state.principal !== null))
				// The entity exists only for an authenticated connection.
				yield* Effect.addFinalizer(() =>
					feed
						.unsubscribe(tenant.id, connectionId)
						.pipe(Effect.zipRight(authenticated))
						.pipe(
							Effect.zipLeft(hub.remove(connection)),
							Effect.flatMap((known) =>
								Effect.when(boundedCall(entity.Disconnect()).pipe(Effect.ignore), () => known),
							),
							Effect.ignore,
						),
				)

				// The entity forgot this connection (its runner restarted): give it back what this gateway knows, once.
				const restore = hub
					.stateOf(connection)
					.pipe(
						Effect.flatMap((state) =>
							boundedCall(entity.Restore({ principal: state.principal, channels: [...state.channels] })),
						),
					)
				const restoring = <A, E, R>(call: () => Effect.Effect<A, E | UnknownConnection, R>) =>
					call().pipe(
						Effect.catchIf(Schema.is(UnknownConnection), () => restore.pipe(Effect.zipRight(call()))),
					)

				// The credential's deadline (session idle or absolute end, key expiry or grace end): checked again then
				// (the idle deadline may have moved with use elsewhere; checking is not a use) and re-armed, or the
				// connection is told `session_revoked` and closed (4403).
				const revoke = reply({ type: "session_revoked" }).pipe(
					Effect.zipRight(connection.close(CloseCodes.sessionRevoked, "session expired")),
				)
				const watch = (expiresAt: number | null): Effect.Effect<void> =>
					expiresAt === null
						? Effect.void
						: Effect.clockWith((clock) => clock.currentTimeMillis).pipe(
								Effect.flatMap((now) =>
									Effect.sleep(
										Duration.min(Duration.millis(Math.max(0, expiresAt - now)), LongestTimer),
									),
								),
								Effect.zipRight(check),
							)
				const check: Effect.Effect<void> = Effect.suspend(() =>
					Option.match(MutableRef.get(credential), {
						onNone: () => Effect.void,
						onSome: (token) =>
							credentials.check(tenant.id, token).pipe(
								Effect.filterOrFail(({ principal }) => principal.mfa === undefined, mfaPending),
								Effect.flatMap(({ principal }) => watch(principal.expiresAt)),
								Effect.catchTags({
									Unauthorized: () => revoke,
									ServiceUnavailable: () => Effect.sleep(RecheckRetry).pipe(Effect.zipRight(check)),
									TooManyRequests: () => Effect.sleep(RecheckRetry).pipe(Effect.zipRight(check)),
								}),
							),
					}),
				)

				const authenticate = (token: string) =>
					Effect.gen(function* () {
						const current = yield* hub.stateOf(connection)
						yield* Effect.when(
							fail("AlreadyAuthenticated", "this connection is already authenticated"),
							() => current.principal !== null,
						)
						yield* Effect.when(
							credentials.authenticate(tenant.id, Redacted.make(token)).pipe(
								Effect.filterOrFail(({ principal }) => principal.mfa === undefined, mfaPending),
								Effect.flatMap(({ principal, tokenHash }) => {
									const socketPrincipal: SocketPrincipal = {
										kind: principal.kind,
										userId: principal.userId,
										credentialId: principal.credentialId,
									}
									// Only now, with a valid credential within its user's connection limit, does the
									// connection reach a runner.
									return hub.claimUser(connection, principal.userId).pipe(
										// One call creates the entity, authenticated. It exists already only if an earlier
										// attempt of this connection created it and then timed out here: that is the same.
										Effect.zipRight(
											boundedCall(
												entity.Restore({ principal: socketPrincipal, channels: [] }),
											).pipe(Effect.catchTag("InvalidTransition", () => Effect.void)),
										),
										Effect.zipRight(hub.authenticate(connection, socketPrincipal, tokenHash)),
										Effect.zipRight(
											Effect.sync(() =>
												MutableRef.set(credential, Option.some(Redacted.make(token))),
											),
										),
										Effect.zipRight(FiberHandle.run(expiry, watch(principal.expiresAt))),
										Effect.zipRight(
											reply({ type: "authenticated", connectionId, userId: principal.userId }),
										),
									)
								}),
								Effect.catchTags({
									Unauthorized: (error) =>
										fail("Unauthorized", error.message).pipe(
											Effect.zipRight(
												connection.close(CloseCodes.unauthenticated, "unauthorized"),
											),
										),
									TooManyConnections: (error) =>
										fail("TooManyConnections", error.message).pipe(
											Effect.zipRight(
												connection.close(CloseCodes.slowConsumer, "too many connections"),
											),
										),
								}),
							),
							() => current.principal === null,
						)
					})

				const withChannel = <E>(raw: string, use: (channel: string) => Effect.Effect<void, E>) =>
					decodeChannel(raw).pipe(
						Effect.matchEffect({
							onFailure: () =>
								fail("InvalidChannel", "channel must be 1–128 of letters, digits and . _ : -"),
							onSuccess: use,
						}),
					)

				// The tenant's event log (`events`): authorised by the entity like any channel, then fed by this
				// gateway's EventFeed, which tells `subscribed` with the starting seq before the first event.
				const encodeEvent = Schema.encode(TenantEvent)
				const followEvents = (after: number | null) =>
					restoring(() => boundedCall(entity.Subscribe({ channel: EventsChannel }))).pipe(
						Effect.zipRight(FiberRef.get(CurrentRef)),
						Effect.flatMap((ref) =>
							feed.subscribe({
								tenantId: tenant.id,
								subscriberId: connectionId,
								after,
								announce: (seq) =>
									Effect.locally(
										reply({ type: "subscribed", channel: EventsChannel, seq }),
										CurrentRef,
										ref,
									),
								deliver: (event) =>
									encodeEvent(event).pipe(
										Effect.flatMap((payload) =>
											messageParts(EventsChannel, payload, { type: "service" }),
										),
										Effect.flatMap((parts) =>
											connection.send(`${parts.before}${event.seq}${parts.after}`),
										),
										Effect.orDie,
									),
							}),
						),
						Effect.catchTag("EventsUnavailable", (error) => fail("ServiceUnavailable", error.message)),
					)

				const handle = (frame: ClientFrame) =>
					Match.value(frame).pipe(
						Match.discriminatorsExhaustive("type")({
							auth: ({ token }) => authenticate(token),
							// Before authentication a ping is only answered: there is no entity to tell.
							ping: () =>
								reply({ type: "pong" }).pipe(
									Effect.zipRight(authenticated),
									Effect.flatMap((known) =>
										Effect.when(
											restoring(() => boundedCall(entity.Heartbeat())).pipe(
												Effect.zipRight(hub.refreshPresence(connection)),
												Effect.ignore,
											),
											() => known,
										),
									),
								),
							subscribe: ({ channel, self, after }) =>
								withChannel(channel, (name) =>
									name === EventsChannel
										? followEvents(after ?? null)
										: hub.stateOf(connection).pipe(
												Effect.flatMap((current) =>
													HashSet.size(current.channels) >= config.maxSubscriptions &&
													!HashSet.has(current.channels, name)
														? fail(
																"TooManySubscriptions",
																`at most ${config.maxSubscriptions} channels per connection`,
															)
														: restoring(() =>
																boundedCall(entity.Subscribe({ channel: name })),
															).pipe(
																Effect.zipRight(
																	hub.subscribe(connection, name, self ?? false),
																),
																Effect.flatMap((seq) =>
																	reply({ type: "subscribed", channel: name, seq }),
																),
															),
												),
											),
								),
							unsubscribe: ({ channel }) =>
								withChannel(channel, (name) =>
									restoring(() => boundedCall(entity.Unsubscribe({ channel: name }))).pipe(
										Effect.zipRight(
											name === EventsChannel
												? feed.unsubscribe(tenant.id, connectionId)
												: hub.unsubscribe(connection, name),
										),
										Effect.zipRight(reply({ type: "unsubscribed", channel: name })),
									),
								),
							// The tenant may keep its channels for its backend (`realtimeClientPublish: "none"`); the
							// message names its sender as authenticated here. The publisher is told the message's `seq`
							// (`published`) and gets the message itself only on a subscription with `self`.
							publish: ({ channel, payload }) =>
								withChannel(channel, (name) =>
									boundedCall(tenants.resolve(tenant.id)).pipe(
										Effect.flatMap((current) =>
											current.settings.realtimeClientPublish === "none"
												? fail("Forbidden", "clients may not publish on this tenant's channels")
												: restoring(() =>
														boundedCall(entity.AuthorizePublish({ channel: name })),
													).pipe(
														Effect.zipRight(hub.stateOf(connection)),
														Effect.flatMap((state) =>
															Option.match(Option.fromNullable(state.principal), {
																onNone: () =>
																	fail(
																		"NotAuthenticated",
																		"send an auth frame first",
																	),
																onSome: (principal) =>
																	hub.publish(
																		tenant.id,
																		name,
																		payload,
																		senderOf(principal),
																		{
																			connection,
																			acknowledge: (seq) =>
																				reply({
																					type: "published",
																					channel: name,
																					seq,
																				}),
																		},
																	),
															}),
														),
													),
										),
									),
								),
							presence: ({ channel, state }) =>
								withChannel(channel, (name) =>
									Effect.all([hub.stateOf(connection), Schema.encode(AnyJson)(state)]).pipe(
										Effect.flatMap(([current, encoded]) =>
											!HashSet.has(current.channels, name)
												? fail(
														"NotSubscribed",
														`subscribe to '${name}' before announcing presence`,
													)
												: Buffer.byteLength(encoded) > config.maxPresenceStateBytes
													? fail(
															"PresenceStateTooLarge",
															`presence state must be at most ${config.maxPresenceStateBytes} bytes of JSON`,
														)
													: hub.join(connection, name, state),
										),
										Effect.catchTag("ParseError", () =>
											fail("InvalidFrame", "presence state must be JSON"),
										),
									),
								),
						}),
					)

				// The text is parsed once; the frame's `ref` is read first (so every answer to the frame carries it,
				// even an error about the rest of the frame), then the frame is decoded from the parsed value.
				const answer = (parsed: Option.Option<unknown>, ref: Option.Option<unknown>) =>
					hub.seen(connection).pipe(
						Effect.zipRight(
							Option.match(parsed, {
								onNone: () => fail("InvalidFrame", "frames must be JSON objects"),
								onSome: (parsed) =>
									Option.isSome(ref) && !Schema.is(FrameRef)(ref.value)
										? fail("InvalidFrame", "ref must be 1–64 printable ASCII characters")
										: decodeFrame(parsed).pipe(
												Effect.matchEffect({
													onFailure: () =>
														fail(
															"InvalidFrame",
															"unknown frame type or bad fields (auth, subscribe, unsubscribe, publish, presence, ping)",
														),
													onSuccess: (frame) =>
														hub
															.stateOf(connection)
															.pipe(
																Effect.flatMap((current) =>
																	current.principal === null &&
																	frame.type !== "auth" &&
																	frame.type !== "ping"
																		? fail(
																				"NotAuthenticated",
																				"send an auth frame first",
																			)
																		: handle(frame),
																),
															),
												}),
											),
							}),
						),
						Effect.catchTags({
							NotAuthenticated: (error) => fail("NotAuthenticated", error.message),
							ChannelNotAllowed: (error) => fail("ChannelNotAllowed", error.message),
							InvalidTransition: (error) => fail("InvalidTransition", error.message),
							TenantNotFound: (error) => fail("TenantNotFound", error.message),
							UnknownConnection: () =>
								fail("ServiceUnavailable", "the platform is temporarily unavailable"),
							ServiceUnavailable: (error) => fail("ServiceUnavailable", error.message),
							CacheUnavailable: () =>
								fail("ServiceUnavailable", "the platform is temporarily unavailable"),
						}),
						Effect.catchAllDefect((defect) =>
							Effect.logError("realtime frame failed", defect).pipe(
								Effect.zipRight(fail("InternalError", "an unexpected error occurred")),
							),
						),
					)

				const onFrame = (raw: string) =>
					Schema.decode(AnyJson)(raw).pipe(
						Effect.option,
						Effect.flatMap((parsed) =>
							Effect.locally(
								answer(parsed, refField(parsed)),
								CurrentRef,
								Option.filter(refField(parsed), Schema.is(FrameRef)),
							),
						),
					)

				// Frames wait here to be handled in order; a client that keeps more than REALTIME_MAX_QUEUED_FRAMES
				// waiting is closed (4429) rather than queued without bound.
				const frames = yield* Queue.dropping<string>(config.maxQueuedFrames)
				yield* Stream.fromQueue(frames).pipe(Stream.runForEach(onFrame), Effect.forkScoped)
				// Both clocks start once the socket is open (a burst of upgrades must not eat into the auth window).
				// No valid auth in time → 4401.
				const authDeadline = Effect.sleep(config.authTimeout).pipe(
					Effect.zipRight(authenticated),
					Effect.flatMap((known) =>
						Effect.when(
							fail("Unauthorized", "authenticate within the auth timeout").pipe(
								Effect.zipRight(connection.close(CloseCodes.unauthenticated, "authentication timeout")),
							),
							() => !known,
						),
					),
					Effect.forkIn(scope),
				)
				// Silent too long → stale → 4408.
				const silence = hub.stateOf(connection).pipe(
					Effect.zipWith(
						Effect.clockWith((clock) => clock.currentTimeMillis),
						(state, time) => time - state.lastSeen,
					),
				)
				const staleWatch = hub.seen(connection).pipe(
					Effect.zipRight(
						silence.pipe(
							Effect.repeat({
								schedule: Schedule.spaced(Duration.millis(Math.max(100, timeoutMillis / 4))),
								until: (silent) => silent > timeoutMillis,
							}),
						),
					),
					Effect.zipRight(authenticated),
					Effect.flatMap((known) =>
						Effect.when(restoring(() => boundedCall(entity.MarkStale())).pipe(Effect.ignore), () => known),
					),
					Effect.zipRight(connection.close(CloseCodes.stale, "heartbeat timeout")),
					Effect.forkIn(scope),
				)
				yield* upgraded
					.runRaw(
						(data) =>
							Queue.offer(frames, typeof data === "string" ? data : new TextDecoder().decode(data)).pipe(
								Effect.flatMap((queued) =>
									Effect.when(
										connection.close(CloseCodes.slowConsumer, "too many frames waiting"),
										() => !queued,
									),
								),
							),
						{ onOpen: Effect.all([authDeadline, staleWatch], { discard: true }) },
					)
					.pipe(Effect.catchAll(() => Effect.void))
			}).pipe(Effect.scoped, Telemetry.span("Realtime.connection", { tenantId: tenant.id }))

		yield* router.get(
			"/v1/realtime",
			Effect.gen(function* () {
				const request = yield* HttpServerRequest.HttpServerRequest
				const params = yield* HttpServerRequest.ParsedSearchParams
				const context = yield* Effect.serviceOption(RequestContext)
				const address = Option.getOrElse(
					Option.flatMap(context, (meta) => Option.fromNullable(meta.ip)),
					() => "unknown",
				)
				const appId = params["app_id"]
				return yield* activeTenant(typeof appId === "string" ? appId : request.headers["x-app-id"]).pipe(
					Effect.provideService(TenantCache, tenants),
					Effect.flatMap((tenant) =>
						hub.admitAddress(addressGroup(address)).pipe(
							Effect.zipRight(Effect.sync(() => MutableRef.make(Option.none<globalThis.WebSocket>()))),
							Effect.flatMap((raw) =>
								upgrade(request, raw).pipe(Effect.flatMap((upgraded) => serve(tenant, upgraded, raw))),
							),
							Effect.scoped,
							Effect.as(HttpServerResponse.empty()),
						),
					),
					Effect.catchTags({
						MissingTenant: () => Effect.succeed(httpError(400, "MissingTenant", "app_id is required")),
						TenantNotFound: (error) => Effect.succeed(httpError(404, "TenantNotFound", error.message)),
						ServiceUnavailable: (error) =>
							Effect.succeed(httpError(503, "ServiceUnavailable", error.message)),
						TooManyConnections: (error) => Effect.succeed(httpError(429, "TooManyRequests", error.message)),
						UpgradeRequired: () =>
							Effect.succeed(httpError(426, "UpgradeRequired", "connect with a WebSocket client")),
					}),
				)
			}),
		)
	}),
)

// --- [EXPORT]

export { addressGroup, RealtimeRouteLive }
