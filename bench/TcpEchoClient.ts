// Client of the TCP echo server: one connection, length-prefixed frames `[u32 length][u32 id][payload]`, any number
// of calls in flight matched back by id (the same shape as the cluster's one multiplexed socket per runner).
import net from "node:net"

// --- [CONSTANTS]

const PayloadBytes = 128

// --- [FUNCTIONS]

const connectEcho = (port: number) =>
	new Promise<{ readonly call: () => Promise<boolean>; readonly close: () => void }>((resolve, reject) => {
		const pending = new Map<number, () => void>()
		const payload = Buffer.alloc(PayloadBytes, 97)
		let buffered: Buffer = Buffer.alloc(0)
		let nextId = 0
		const socket = net.connect(port, "127.0.0.1", () =>
			resolve({
				call: () =>
					new Promise<boolean>((done) => {
						nextId = (nextId + 1) % 0xffffffff
						const header = Buffer.alloc(8)
						header.writeUInt32BE(4 + PayloadBytes, 0)
						header.writeUInt32BE(nextId, 4)
						pending.set(nextId, () => done(true))
						socket.write(Buffer.concat([header, payload]))
					}),
				close: () => socket.destroy(),
			}),
		)
		socket.setNoDelay(true)
		socket.on("error", reject)
		socket.on("data", (chunk: Buffer) => {
			buffered = buffered.length === 0 ? chunk : Buffer.concat([buffered, chunk])
			while (buffered.length >= 4 && buffered.length >= 4 + buffered.readUInt32BE(0)) {
				const length = buffered.readUInt32BE(0)
				const id = buffered.readUInt32BE(4)
				buffered = buffered.subarray(4 + length)
				pending.get(id)?.()
				pending.delete(id)
			}
		})
	})

// --- [EXPORT]

export { connectEcho }
