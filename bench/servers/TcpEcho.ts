// Baseline peer of the RPC benchmark: a raw TCP server that writes back every byte it reads. Port from BENCH_PORT.
import net from "node:net"

net.createServer((socket) => {
	socket.setNoDelay(true)
	socket.on("error", () => socket.destroy())
	socket.pipe(socket)
}).listen(Number(process.env.BENCH_PORT), "127.0.0.1")
