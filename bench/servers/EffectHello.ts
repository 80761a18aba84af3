// The bare Effect HTTP server: one HttpRouter route served by NodeHttpServer, no middleware (no logger). Same body as
// NodeHello. Port from BENCH_PORT.
import { HttpRouter, HttpServer, HttpServerResponse } from "@effect/platform"
import { NodeHttpServer, NodeRuntime } from "@effect/platform-node"
import { Layer } from "effect"
import { createServer } from "node:http"

HttpRouter.empty.pipe(
	HttpRouter.get("/", HttpServerResponse.text("hello world")),
	HttpServer.serve(),
	Layer.provide(NodeHttpServer.layer(createServer, { host: "127.0.0.1", port: Number(process.env.BENCH_PORT) })),
	Layer.launch,
	NodeRuntime.runMain,
)
