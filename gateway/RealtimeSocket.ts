// `GET /v1/realtime?app_id=<tenant>`: the WebSocket endpoint (CONTRACT "Realtime"). This gateway holds the physical
// socket; the connection's Socket entity holds its logical state and decides what it may subscribe and publish. Frames
// are handled one at a time in arrival order. A connection must authenticate within REALTIME_AUTH_TIMEOUT (4401),
// must be heard from within REALTIME_HEARTBEAT_TIMEOUT (stale → 4408), may not send frames over REALTIME_MAX_FRAME
// (1009), and is closed with `session_revoked` (4403) when its credential dies. Bad frames get an `error` frame and
// the connection stays.
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse, Socket as PlatformSocket } from "@effect/platform"
import { Duration, Effect, Match, MutableRef, Option, Queue, Redacted, Schedule, Schema, Stream } from "effect"
import { entityId } from "../entities/Tenancy.ts"
import { Socket, type SocketPrincipal, UnknownConnection } from "../entities/SocketProtocol.ts"
import type { TenantView } from "../entities/TenantProtocol.ts"
import { Telemetry } from "../platform/Telemetry.ts"
import { Credentials } from "./Credentials.ts"
import { callEntity } from "./EntityCall.ts"
import { RealtimeConfig } from "./RealtimeConfig.ts"
import { AnyJson, ClientFrame, CloseCodes, decodeChannel, encode, errorFrame } from "./RealtimeFrames.ts"
import { RealtimeHub } from "./RealtimeHub.ts"
import { activeTenant } from "./TenantMiddleware.ts"
import { TenantCache } from "./TenantCache.ts"

// --- [FUNCTIONS]

const decodeFrame = Schema.decodeUnknown(ClientFrame)

const httpError = (status: number, tag: string, message: string) =>
	HttpServerResponse.unsafeJson({ _tag: tag, message }, { status })

// --- [LAYERS]

const RealtimeRouteLive = HttpApiBuilder.Router.use((router) =>
	Effect.gen(function* () {
		const config = yield* RealtimeConfig
		const hub = yield* RealtimeHub
		const credentials = yield* Credentials
		const tenants = yield* TenantCache
		const sockets = yield* Socket.client
		const timeoutMillis = Duration.toMillis(config.heartbeatTimeout)

		const serve = (tenant: TenantView, upgraded: PlatformSocket.Socket) =>
			Effect.gen(function* () {
				const scope = yield* Effect.scope
				// The raw socket, learnt from the first frame's handler (the platform provides it there).
				const raw = MutableRef.make(Option.none<globalThis.WebSocket>())
				const write = yield* upgraded.writer
				const connectionId = crypto.randomUUID()
				const entity = sockets(entityId(tenant.id, connectionId))
				const connection = yield* hub.register({
					id: connectionId,
					tenantId: tenant.id,
					send: (frame) => write(frame).pipe(Effect.ignore),
					push: (frame) =>
						Option.match(MutableRef.get(raw), {
							onNone: () => false,
							// A socket already closing drops the frame, as the platform's writer would. A consumer that lets
							// more than REALTIME_MAX_BUFFERED pile up unsent is closed (4429) instead of growing without bound.
							onSome: (socket) => {
								void (socket.readyState !== socket.OPEN
									? undefined
									: socket.bufferedAmount > config.maxBufferedBytes
										? socket.close(CloseCodes.slowConsumer, "slow consumer")
										: socket.send(frame))
								return true
							},
						}),
					close: (code, reason) => write(new PlatformSocket.CloseEvent(code, reason)).pipe(Effect.ignore),
				})
				const reply = (frame: Effect.Effect<string>) => Effect.flatMap(frame, connection.send)
				const fail = (tag: string, message: string) => reply(errorFrame(tag, message))
				yield* Effect.addFinalizer(() =>
					hub
						.remove(connection)
						.pipe(Effect.ignore, Effect.zipRight(callEntity(entity.Disconnect()).pipe(Effect.ignore))),
				)
				yield* callEntity(entity.Connect()).pipe(Effect.ignore)

				// The entity forgot this connection (its runner restarted): give it back what this gateway knows, once.
				const restore = hub
					.stateOf(connection)
					.pipe(
						Effect.flatMap((state) =>
							callEntity(entity.Restore({ principal: state.principal, channels: [...state.channels] })),
						),
					)
				const restoring = <A, E, R>(call: () => Effect.Effect<A, E | UnknownConnection, R>) =>
					call().pipe(
						Effect.catchIf(Schema.is(UnknownConnection), () => restore.pipe(Effect.zipRight(call()))),
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
								Effect.flatMap(({ principal, tokenHash }) => {
									const socketPrincipal: SocketPrincipal = {
										kind: principal.kind,
										userId: principal.userId,
										credentialId: principal.credentialId,
									}
									return restoring(() =>
										callEntity(entity.Authenticate({ principal: socketPrincipal })),
									).pipe(
										Effect.zipRight(hub.authenticate(connection, socketPrincipal, tokenHash)),
										Effect.zipRight(
											reply(
												encode({
													type: "authenticated",
													connectionId,
													userId: principal.userId,
												}),
											),
										),
									)
								}),
								Effect.catchTag("Unauthorized", (error) =>
									fail("Unauthorized", error.message).pipe(
										Effect.zipRight(connection.close(CloseCodes.unauthenticated, "unauthorized")),
									),
								),
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

				const handle = (frame: ClientFrame) =>
					Match.value(frame).pipe(
						Match.discriminatorsExhaustive("type")({
							auth: ({ token }) => authenticate(token),
							ping: () =>
								reply(encode({ type: "pong" })).pipe(
									Effect.zipRight(
										restoring(() => callEntity(entity.Heartbeat())).pipe(
											Effect.zipRight(hub.refreshPresence(connection)),
											Effect.ignore,
										),
									),
								),
							subscribe: ({ channel }) =>
								withChannel(channel, (name) =>
									restoring(() => callEntity(entity.Subscribe({ channel: name }))).pipe(
										Effect.zipRight(hub.subscribe(connection, name)),
										Effect.flatMap((seq) =>
											reply(encode({ type: "subscribed", channel: name, seq })),
										),
									),
								),
							unsubscribe: ({ channel }) =>
								withChannel(channel, (name) =>
									restoring(() => callEntity(entity.Unsubscribe({ channel: name }))).pipe(
										Effect.zipRight(hub.unsubscribe(connection, name)),
										Effect.zipRight(reply(encode({ type: "unsubscribed", channel: name }))),
									),
								),
							publish: ({ channel, payload }) =>
								withChannel(channel, (name) =>
									restoring(() => callEntity(entity.AuthorizePublish({ channel: name }))).pipe(
										Effect.zipRight(hub.publish(tenant.id, name, payload)),
										Effect.asVoid,
									),
								),
							presence: ({ channel, state }) =>
								withChannel(channel, (name) =>
									hub
										.stateOf(connection)
										.pipe(
											Effect.flatMap((current) =>
												current.channels.pipe((channels) =>
													[...channels].includes(name)
														? hub.join(connection, name, state)
														: fail(
																"NotSubscribed",
																`subscribe to '${name}' before announcing presence`,
															),
												),
											),
										),
								),
						}),
					)

				const onFrame = (raw: string) =>
					hub.seen(connection).pipe(
						Effect.zipRight(
							Schema.decode(AnyJson)(raw).pipe(
								Effect.matchEffect({
									onFailure: () => fail("InvalidFrame", "frames must be JSON objects"),
									// The text is parsed once; the frame is then decoded from the parsed value.
									onSuccess: (parsed) =>
										decodeFrame(parsed).pipe(
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
						),
						Effect.catchTags({
							NotAuthenticated: (error) => fail("NotAuthenticated", error.message),
							ChannelNotAllowed: (error) => fail("ChannelNotAllowed", error.message),
							InvalidTransition: (error) => fail("InvalidTransition", error.message),
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

				const frames = yield* Queue.unbounded<string>()
				yield* Stream.fromQueue(frames).pipe(Stream.runForEach(onFrame), Effect.forkScoped)
				// Both clocks start once the socket is open (a burst of upgrades must not eat into the auth window).
				// No valid auth in time → 4401.
				const authDeadline = Effect.sleep(config.authTimeout).pipe(
					Effect.zipRight(hub.stateOf(connection)),
					Effect.flatMap((state) =>
						Effect.when(
							fail("Unauthorized", "authenticate within the auth timeout").pipe(
								Effect.zipRight(connection.close(CloseCodes.unauthenticated, "authentication timeout")),
							),
							() => state.principal === null,
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
					Effect.zipRight(restoring(() => callEntity(entity.MarkStale())).pipe(Effect.ignore)),
					Effect.zipRight(connection.close(CloseCodes.stale, "heartbeat timeout")),
					Effect.forkIn(scope),
				)
				yield* upgraded
					.runRaw(
						(data) => {
							const text = typeof data === "string" ? data : new TextDecoder().decode(data)
							return Buffer.byteLength(text) > config.maxFrameBytes
								? connection.close(CloseCodes.tooBig, "frame too large")
								: Effect.serviceOption(PlatformSocket.WebSocket).pipe(
										Effect.tap((socket) => MutableRef.set(raw, socket)),
										Effect.zipRight(Queue.offer(frames, text)),
									)
						},
						{ onOpen: Effect.all([authDeadline, staleWatch], { discard: true }) },
					)
					.pipe(Effect.catchAll(() => Effect.void))
			}).pipe(Effect.scoped, Telemetry.span("Realtime.connection", { tenantId: tenant.id }))

		yield* router.get(
			"/v1/realtime",
			Effect.gen(function* () {
				const request = yield* HttpServerRequest.HttpServerRequest
				const params = yield* HttpServerRequest.ParsedSearchParams
				const appId = params["app_id"]
				return yield* activeTenant(typeof appId === "string" ? appId : request.headers["x-app-id"]).pipe(
					Effect.provideService(TenantCache, tenants),
					Effect.flatMap((tenant) =>
						request.upgrade.pipe(
							Effect.flatMap((upgraded) => serve(tenant, upgraded)),
							Effect.as(HttpServerResponse.empty()),
						),
					),
					Effect.catchTags({
						MissingTenant: () => Effect.succeed(httpError(400, "MissingTenant", "app_id is required")),
						TenantNotFound: (error) => Effect.succeed(httpError(404, "TenantNotFound", error.message)),
						ServiceUnavailable: (error) =>
							Effect.succeed(httpError(503, "ServiceUnavailable", error.message)),
						RequestError: () =>
							Effect.succeed(httpError(426, "UpgradeRequired", "connect with a WebSocket client")),
					}),
				)
			}),
		)
	}),
)

// --- [EXPORT]

export { RealtimeRouteLive }
