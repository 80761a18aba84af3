// `Idempotency-Key` on every mutating route (POST, PUT, PATCH, DELETE). A key is 1–255 printable ASCII characters
// (else 400 ValidationError) and is scoped by its caller: the SHA-256 of the tenant header, the credential
// (Authorization or the session cookie) and the key, so two callers' keys never meet. The first outcome that is not a
// 5xx (status, content type, body) is kept in the cache service for 24 h under that scope plus method and path, and
// answered to every repeat (with `Idempotent-Replayed: true`); a 5xx is never kept, so a repeat runs again, and so
// does a repeat of a first run whose client went away before it ended. A repeat that arrives while the first still
// runs waits for its outcome, up to 30 s, then answers 409 IdempotencyKeyInUse. Where a route is a persisted entity
// message, `entityKey` (the scoped key) is also that message's primary key, and such a message is never cancelled by
// its caller: the repeat joins it and answers its real outcome.
import { HttpApp, HttpApiSchema, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { Duration, Effect, Either, Encoding, Match, MutableRef, Option, Schedule, Schema } from "effect"
import { createHash } from "node:crypto"
import { Cache } from "../platform/Cache.ts"
import { NoStoreMark } from "./NoStore.ts"
import { SessionCookieName } from "./identity/PrincipalMiddleware.ts"

// --- [CONSTANTS]

const HeaderName = "idempotency-key"
const KeyPattern = /^[\x20-\x7e]{1,255}$/
const MutatingMethods: ReadonlyArray<string> = ["POST", "PUT", "PATCH", "DELETE"]
const OutcomeTtl = Duration.hours(24)
// A gateway that dies while running a request frees its key after this; longer than any request may run.
const RunningTtl = Duration.minutes(2)
// Below GATEWAY_REQUEST_TIMEOUT's default, so a waiting repeat answers 409 rather than the deadline's 503.
const JoinDeadline = Duration.seconds(10)

// --- [SCHEMA]

const Outcome = Schema.parseJson(Schema.Struct({ status: Schema.Int, contentType: Schema.String, body: Schema.String }))

// --- [ERRORS]

class IdempotencyKeyInUse extends Schema.TaggedError<IdempotencyKeyInUse>()(
	"IdempotencyKeyInUse",
	{ message: Schema.String },
	HttpApiSchema.annotations({ status: 409 }),
) {}

// --- [FUNCTIONS]

const hash = (...parts: ReadonlyArray<string>) => createHash("sha256").update(parts.join("\u0000")).digest("hex")

// The caller's scope of a key: the same key from another credential or tenant is another key.
const scoped = (request: HttpServerRequest.HttpServerRequest, key: string) =>
	hash(
		request.headers["x-app-id"] ?? "",
		request.headers["authorization"] ?? request.cookies[SessionCookieName] ?? "",
		key,
	)

// The primary key of a persisted entity message for this request: the scoped Idempotency-Key, or a fresh one.
const entityKey = Effect.map(HttpServerRequest.HttpServerRequest, (request) =>
	Option.fromNullable(request.headers[HeaderName]).pipe(
		Option.filter((key) => KeyPattern.test(key)),
		Option.match({ onNone: () => crypto.randomUUID(), onSome: (key) => scoped(request, key) }),
	),
)

const errorResponse = (status: number, body: { readonly _tag: string; readonly message: string }) =>
	HttpServerResponse.unsafeJson(body, { status })

const replay = (encoded: string) =>
	Schema.decode(Outcome)(encoded).pipe(
		Effect.map((outcome) =>
			HttpServerResponse.uint8Array(
				Encoding.decodeBase64(outcome.body).pipe(Either.getOrElse(() => new Uint8Array())),
				{
					status: outcome.status,
					contentType: outcome.contentType,
					headers: { "idempotent-replayed": "true" },
				},
			),
		),
		Effect.orDie,
	)

// A response that must not be stored (marked by `noStore`: it carries a one-time secret such as a new API key or
// session token) is never kept in the cache service; a repeat is told the first request completed instead.
const SecretWithheld = new TextEncoder().encode(
	'{"_tag":"IdempotencyKeyInUse","message":"a request with this Idempotency-Key already completed; its response carried a one-time secret and is not kept"}',
)

// What is kept of a response: its bytes when it has some in memory (streamed bodies are not kept).
const keepable = (response: HttpServerResponse.HttpServerResponse, secret: boolean) =>
	secret
		? Option.some({ status: 409, contentType: "application/json", bytes: SecretWithheld })
		: Match.value(response.body).pipe(
				Match.tag("Uint8Array", (body) =>
					Option.some({ status: response.status, contentType: body.contentType, bytes: body.body }),
				),
				Match.tag("Empty", () =>
					Option.some({
						status: response.status,
						contentType: "application/octet-stream",
						bytes: new Uint8Array(),
					}),
				),
				Match.orElse(() => Option.none()),
			)

const guarded = (app: HttpApp.Default, request: HttpServerRequest.HttpServerRequest, key: string) =>
	Effect.gen(function* () {
		const cache = yield* Cache
		const slot = `idempotency:${hash(scoped(request, key), request.method, request.url)}`
		const running = `${slot}:running`
		const secret = MutableRef.make(false)
		const run = app.pipe(
			Effect.provideService(NoStoreMark, secret),
			Effect.tap((response) =>
				Effect.succeed(keepable(response, MutableRef.get(secret))).pipe(
					Effect.flatMap((keep) =>
						Option.match(keep.pipe(Option.filter(() => response.status < 500)), {
							onNone: () => Effect.void,
							onSome: (kept) =>
								Schema.encode(Outcome)({
									status: kept.status,
									contentType: kept.contentType,
									body: Encoding.encodeBase64(kept.bytes),
								}).pipe(
									Effect.orDie,
									Effect.flatMap((encoded) => cache.set(slot, encoded, OutcomeTtl)),
									Effect.ignoreLogged,
								),
						}),
					),
				),
			),
			Effect.ensuring(cache.del(running).pipe(Effect.ignore)),
		)
		const join = cache.get(slot).pipe(
			// Not there yet while the first run goes on.
			Effect.flatMap((outcome) => outcome),
			Effect.retry(Schedule.spaced("100 millis")),
			Effect.timeout(JoinDeadline),
			Effect.flatMap(replay),
			Effect.catchAll(() =>
				Effect.succeed(
					errorResponse(409, {
						_tag: "IdempotencyKeyInUse",
						message: "a request with this Idempotency-Key is still running; try again later",
					}),
				),
			),
		)
		const stored = yield* cache.get(slot)
		return yield* Option.match(stored, {
			onSome: replay,
			onNone: () =>
				cache.increment(running, RunningTtl).pipe(Effect.flatMap(({ count }) => (count === 1 ? run : join))),
		})
	}).pipe(
		Effect.catchTag("CacheUnavailable", (error) =>
			Effect.logWarning("idempotency keys are unavailable", error).pipe(
				Effect.as(
					errorResponse(503, {
						_tag: "ServiceUnavailable",
						message: "the platform is temporarily unavailable",
					}),
				),
			),
		),
	)

// The middleware: requests without the header, and reads, pass through untouched.
const idempotent = (app: HttpApp.Default) =>
	Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
		Option.match(
			Option.fromNullable(request.headers[HeaderName]).pipe(
				Option.filter(() => MutatingMethods.includes(request.method)),
			),
			{
				onNone: () => app,
				onSome: (key) =>
					KeyPattern.test(key)
						? guarded(app, request, key)
						: Effect.succeed(
								HttpServerResponse.unsafeJson(
									{
										_tag: "ValidationError",
										message: "Idempotency-Key: must be 1 to 255 printable characters",
										issues: [
											{
												path: ["headers", HeaderName],
												message: "must be 1 to 255 printable characters",
											},
										],
									},
									{ status: 400 },
								),
							),
			},
		),
	)

// --- [EXPORT]

export { entityKey, IdempotencyKeyInUse, idempotent }
