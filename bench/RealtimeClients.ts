// The realtime benchmarks' clients: plain `ws` sockets (no permessage-deflate, no UTF-8 validation, so the client
// side does as little as it can per frame) that send `auth` and their `subscribe` frames as soon as they are open and
// count as connected once every `authenticated`/`subscribed` answer came back. After that, every frame any socket of
// any pool receives goes, with `performance.now()` at its arrival and the socket's pool index, to the one shared
// `Receiver`, which each measurement replaces; nothing is decoded on arrival.
import { Option, Schema } from "effect"
import WebSocket from "ws"

// --- [CONSTANTS]

const HandshakeTimeoutMs = 30_000
const CloseTimeoutMs = 5_000

// --- [SCHEMA]

const HandshakeFrame = Schema.parseJson(
	Schema.Struct({
		type: Schema.String,
		_tag: Schema.optional(Schema.String),
		message: Schema.optional(Schema.String),
	}),
)

const ClientSpec = Schema.Struct({ token: Schema.String, channels: Schema.Array(Schema.String) })
type ClientSpec = typeof ClientSpec.Type

// --- [FUNCTIONS]

// Where a received frame goes: its arrival time, the frame, and the index of its socket's pool.
const ignore = (_at: number, _data: WebSocket.RawData, _pool: number): void => undefined
type Sink = typeof ignore

// The current destination of every received frame.
const makeReceiver = () => ({ current: ignore })
type Receiver = ReturnType<typeof makeReceiver>

const encode = Schema.encodeSync(Schema.parseJson(Schema.Unknown))
const decodeHandshake = Schema.decodeUnknownOption(HandshakeFrame)

// Opens one socket and completes its handshake: auth, then one subscribe per channel, all sent at once (the gateway
// handles a connection's frames in order).
const open = (url: string, spec: ClientSpec) =>
	new Promise<WebSocket>((resolve, reject) => {
		const socket = new WebSocket(url, { perMessageDeflate: false, skipUTF8Validation: true })
		let awaiting = 1 + spec.channels.length
		const fail = (reason: string) => {
			clearTimeout(timer)
			socket.terminate()
			reject(new Error(`${url}: ${reason}`))
		}
		const timer = setTimeout(() => fail(`handshake not done after ${HandshakeTimeoutMs} ms`), HandshakeTimeoutMs)
		const onMessage = (data: WebSocket.RawData) => {
			const frame = Option.getOrElse(decodeHandshake(data.toString()), () => ({
				type: "undecodable",
				_tag: undefined,
				message: data.toString().slice(0, 200),
			}))
			const expected = frame.type === "authenticated" || frame.type === "subscribed"
			awaiting -= expected ? 1 : 0
			return !expected
				? fail(`handshake answered ${frame.type} ${frame._tag ?? ""} ${frame.message ?? ""}`)
				: awaiting === 0
					? (clearTimeout(timer), socket.off("message", onMessage), resolve(socket))
					: undefined
		}
		socket.on("message", onMessage)
		socket.on("error", (error) => fail(String(error)))
		socket.once("close", (code) => fail(`closed ${code} during the handshake`))
		socket.once("open", () => {
			socket.send(encode({ type: "auth", token: spec.token }))
			spec.channels.forEach((channel) => socket.send(encode({ type: "subscribe", channel })))
		})
	})

// Connects `specs.length` clients to `url`, `concurrency` handshakes at a time; every received frame afterwards goes
// to `receiver.current` tagged with `poolIndex`. Rejects (closing what it opened) if any handshake fails.
const connectPool = async (options: {
	readonly url: string
	readonly specs: ReadonlyArray<ClientSpec>
	readonly receiver: Receiver
	readonly poolIndex: number
	readonly concurrency: number
}) => {
	const sockets: Array<WebSocket> = []
	const closes: Array<number> = []
	let closing = false
	let next = 0
	const worker = async () => {
		while (next < options.specs.length) {
			const spec = options.specs[next]
			next += 1
			const socket = await open(options.url, spec ?? { token: "", channels: [] })
			sockets.push(socket)
			socket.on("message", (data) => options.receiver.current(performance.now(), data, options.poolIndex))
			socket.once("close", (code) => (closing ? undefined : closes.push(code)))
		}
	}
	const close = async () => {
		closing = true
		const all = sockets.splice(0)
		await Promise.all(
			all.map(
				(socket) =>
					new Promise<void>((done) => {
						const timer = setTimeout(() => (socket.terminate(), done()), CloseTimeoutMs)
						socket.readyState === WebSocket.CLOSED
							? (clearTimeout(timer), done())
							: socket.once("close", () => (clearTimeout(timer), done()))
						socket.close()
					}),
			),
		)
	}
	return Promise.all(Array.from({ length: Math.max(1, options.concurrency) }, () => worker())).then(
		() => ({
			size: sockets.length,
			// Sockets the server closed (or that failed) after their handshake, with their close codes.
			unexpectedCloses: (): ReadonlyArray<number> => [...closes],
			close,
		}),
		(error: unknown) => close().then(() => Promise.reject(error)),
	)
}

type ClientPool = Awaited<ReturnType<typeof connectPool>>

// --- [EXPORT]

export { connectPool, ignore, makeReceiver }
export type { ClientPool, ClientSpec, Receiver, Sink }
