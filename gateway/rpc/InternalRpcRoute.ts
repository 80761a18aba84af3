// `POST /rpc`: InternalRpcs served beside the HttpApi over HTTP with NDJSON (one request body of framed messages, the
// answers streamed back). The route passes the edge's correlation (request id, client address, user agent) on as
// headers the RPC server hands to each procedure, replacing whatever a client sent under those names, so everything a
// call causes carries the X-Request-Id the caller got back.
import { Headers, HttpApiBuilder, HttpServerRequest } from "@effect/platform"
import { RpcSerialization, RpcServer } from "@effect/rpc"
import { Effect, Layer } from "effect"
import { currentRequestMeta, RequestContextHeaders } from "../../platform/RequestContext.ts"
import { InternalAuthLive, InternalRpcHandlersLive } from "./InternalRpcHandlers.ts"
import { InternalRpcs, RpcPath } from "./InternalRpcs.ts"

// --- [LAYERS]

// Needs: Sharding (client), GatewayConfig, Credentials, TenantCache (and Cache for clearLoginFailures).
const InternalRpcRouteLive = HttpApiBuilder.Router.use((router) =>
	Effect.gen(function* () {
		const app = yield* RpcServer.toHttpApp(InternalRpcs, { spanPrefix: "InternalRpc" })
		yield* router.post(
			RpcPath,
			Effect.flatMap(currentRequestMeta, (meta) =>
				Effect.updateService(app, HttpServerRequest.HttpServerRequest, (request) =>
					request.modify({
						headers: Headers.merge(
							Headers.remove(request.headers, Object.values(RequestContextHeaders.names)),
							RequestContextHeaders.toHeaders(meta),
						),
					}),
				),
			),
		)
	}),
).pipe(Layer.provide([InternalRpcHandlersLive, InternalAuthLive, RpcSerialization.layerNdjson]))

// --- [EXPORT]

export { InternalRpcRouteLive, RpcPath }
