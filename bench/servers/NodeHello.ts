// Baseline server: raw node:http answering every request with a fixed text body. Port from BENCH_PORT.
import http from "node:http"

const body = "hello world"

http.createServer((_request, response) => {
	response.writeHead(200, { "content-type": "text/plain", "content-length": Buffer.byteLength(body) })
	response.end(body)
}).listen(Number(process.env.BENCH_PORT), "127.0.0.1")
