// Baseline of the realtime benchmarks: a raw `ws` server speaking the subset of the gateway's realtime protocol the
// bench clients use (`auth` → `authenticated`, no check; `subscribe` → `subscribed`), with an in-memory
// channel → sockets map and nothing else. HTTP on the same port:
// - `POST /broadcast/<channel>?via=local|redis` with `{"payload":…}` → 202 `{"channel","seq"}`. `local`: the frame is
//   sent to this server's subscribers in one synchronous loop before the answer; `redis`: it is PUBLISHed (ioredis) on
//   BENCH_REDIS_CHANNEL as `<channel> <frame>`, and every RawWsHub subscribed to it (this one included) sends it to
//   its own subscribers when it comes back.
// - `POST /burst/<channel>?count=<n>` → 202 at once, then n frames, each a synchronous
//   `for (client of subscribers) client.send(frame)` loop, one loop per macrotask (setImmediate) so the sockets can
//   flush in between.
// - `GET /health` → 200 once the Redis subscription (if any) is live.
// Port from BENCH_PORT; Redis from BENCH_REDIS_URL (none: `via=redis` answers 503).
import http from "node:http"
import { Option, Schema } from "effect"
import { Redis } from "ioredis"
import { WebSocket, WebSocketServer } from "ws"

// --- [CONSTANTS]

const port = Number(process.env.BENCH_PORT)
const redisUrl = process.env.BENCH_REDIS_URL ?? ""
const redisChannel = process.env.BENCH_REDIS_CHANNEL ?? "bench:raw-realtime"

// --- [SCHEMA]

const ClientFrame = Schema.parseJson(Schema.Struct({ type: Schema.String, channel: Schema.optional(Schema.String) }))
const Broadcast = Schema.parseJson(Schema.Struct({ payload: Schema.Unknown }))
const AnyJson = Schema.parseJson(Schema.Unknown)

// --- [FUNCTIONS]

const decodeFrame = Schema.decodeUnknownOption(ClientFrame)
const decodeBroadcast = Schema.decodeUnknownOption(Broadcast)
const stringify = Schema.encodeSync(AnyJson)

const channels = new Map<string, Set<WebSocket>>()
const sequences = new Map<string, number>()

const nextSeq = (channel: string) => {
	const seq = (sequences.get(channel) ?? 0) + 1
	sequences.set(channel, seq)
	return seq
}

const subscribersOf = (channel: string) => channels.get(channel) ?? new Set<WebSocket>()

// The fan-out under test: one encoded frame, one send per local subscriber.
const fanOut = (channel: string, frame: string) => {
	for (const client of subscribersOf(channel)) {
		client.send(frame)
	}
}

const messageFrame = (channel: string, payloadJson: string, seq: number) =>
	`{"type":"message","channel":${stringify(channel)},"payload":${payloadJson},"seq":${seq}}`

const publisher = redisUrl === "" ? undefined : new Redis(redisUrl)
const subscriber = redisUrl === "" ? undefined : new Redis(redisUrl)
let subscribed = redisUrl === ""

subscriber?.on("message", (_channel: string, message: string) => {
	const space = message.indexOf(" ")
	fanOut(message.slice(0, space), message.slice(space + 1))
})
subscriber?.subscribe(redisChannel).then(() => {
	subscribed = true
})

const readBody = (request: http.IncomingMessage) =>
	new Promise<string>((resolve, reject) => {
		const chunks: Array<Buffer> = []
		request.on("data", (chunk: Buffer) => chunks.push(chunk))
		request.on("end", () => resolve(Buffer.concat(chunks).toString()))
		request.on("error", reject)
	})

const answer = (response: http.ServerResponse, status: number, body: string) => {
	response.writeHead(status, { "content-type": "application/json", "content-length": Buffer.byteLength(body) })
	response.end(body)
}

const broadcast = async (request: http.IncomingMessage, response: http.ServerResponse, url: URL) => {
	const channel = decodeURIComponent(url.pathname.slice("/broadcast/".length))
	const parsed = decodeBroadcast(await readBody(request))
	const via = url.searchParams.get("via") ?? "local"
	const seq = nextSeq(channel)
	const frame = Option.match(parsed, {
		onNone: () => "",
		onSome: (body) => messageFrame(channel, stringify(body.payload), seq),
	})
	const accepted = `{"channel":${stringify(channel)},"seq":${seq}}`
	return frame === ""
		? answer(response, 400, `{"message":"bad body"}`)
		: via === "redis"
			? publisher === undefined
				? answer(response, 503, `{"message":"no redis"}`)
				: publisher.publish(redisChannel, `${channel} ${frame}`).then(() => answer(response, 202, accepted))
			: (fanOut(channel, frame), answer(response, 202, accepted))
}

const burst = (response: http.ServerResponse, url: URL) => {
	const channel = decodeURIComponent(url.pathname.slice("/burst/".length))
	const count = Number(url.searchParams.get("count") ?? "0")
	const tag = url.searchParams.get("arm") ?? "burst"
	answer(response, 202, `{"channel":${stringify(channel)},"count":${count}}`)
	const step = (index: number): void =>
		index >= count
			? undefined
			: (fanOut(
					channel,
					messageFrame(channel, `{"arm":"${tag}","id":${index},"t":${performance.now()}}`, nextSeq(channel)),
				),
				void setImmediate(() => step(index + 1)))
	setImmediate(() => step(0))
}

const server = http.createServer((request, response) => {
	const url = new URL(request.url ?? "/", "http://127.0.0.1")
	const route = `${request.method ?? "GET"} ${url.pathname.split("/")[1] ?? ""}`
	return route === "POST broadcast"
		? void broadcast(request, response, url).catch(() => answer(response, 500, `{"message":"failed"}`))
		: route === "POST burst"
			? burst(response, url)
			: route === "GET health"
				? answer(response, subscribed ? 200 : 503, "{}")
				: answer(response, 404, "{}")
})
server.keepAliveTimeout = 60_000

const sockets = new WebSocketServer({ server, perMessageDeflate: false })
sockets.on("connection", (socket) => {
	const own = new Set<string>()
	socket.on("message", (data) => {
		const frame = Option.getOrElse(decodeFrame(data.toString()), () => ({ type: "invalid", channel: undefined }))
		const type = frame.type
		const channel = frame.channel ?? ""
		return type === "auth"
			? socket.send(`{"type":"authenticated","connectionId":"raw","userId":null}`)
			: type === "subscribe"
				? (own.add(channel),
					channels.set(channel, subscribersOf(channel).add(socket)),
					socket.send(`{"type":"subscribed","channel":${stringify(channel)},"seq":0}`))
				: socket.send(`{"type":"error","_tag":"InvalidFrame","message":"auth or subscribe"}`)
	})
	socket.on("close", () => own.forEach((channel) => subscribersOf(channel).delete(socket)))
	socket.on("error", () => socket.terminate())
})

server.listen(port, "127.0.0.1")
