// The typed client of the internal API (InternalRpcs at `POST /rpc`) for services inside the platform's network: no
// database credentials, only the gateway's URL and a bearer token (ADMIN_TOKEN, or a tenant's API key together with
// `appId` for the tenant-scoped `jobs.*`).
//
//   const program = Effect.gen(function* () {
//     const rpc = yield* InternalRpcClient
//     const page = yield* rpc.tenants.list({ limit: 20, cursor: null })
//   }).pipe(Effect.provide(InternalRpcClient.layer({ url: "http://127.0.0.1:8080", token })))
//
// Every procedure fails with its own tagged errors (TenantNotFound, Forbidden, Unauthorized, …) or RpcClientError
// when the gateway cannot be reached.
import { HttpClient, HttpClientRequest } from "@effect/platform"
import { NodeHttpClient } from "@effect/platform-node"
import { RpcClient, type RpcClientError, type RpcGroup, RpcSerialization } from "@effect/rpc"
import { Context, Layer, Option, Redacted } from "effect"
import { InternalRpcs, RpcPath } from "./InternalRpcs.ts"

// --- [SERVICES]

class InternalRpcClient extends Context.Tag("gateway/rpc/InternalRpcClient")<
	InternalRpcClient,
	RpcClient.RpcClient<RpcGroup.Rpcs<typeof InternalRpcs>, RpcClientError.RpcClientError>
>() {
	// Over HTTP to a gateway (`url` is its base, e.g. http://127.0.0.1:8080).
	static readonly layer = (options: {
		readonly url: string
		readonly token: Redacted.Redacted<string> | string
		readonly appId?: string | undefined
	}) =>
		Layer.scoped(InternalRpcClient, RpcClient.make(InternalRpcs)).pipe(
			Layer.provide(
				RpcClient.layerProtocolHttp({
					url: `${options.url.replace(/\/+$/, "")}${RpcPath}`,
					transformClient: HttpClient.mapRequest((request) =>
						request.pipe(
							HttpClientRequest.bearerToken(
								Redacted.isRedacted(options.token) ? Redacted.value(options.token) : options.token,
							),
							(withToken) =>
								Option.match(Option.fromNullable(options.appId), {
									onNone: () => withToken,
									onSome: (appId) => HttpClientRequest.setHeader(withToken, "x-app-id", appId),
								}),
						),
					),
				}),
			),
			Layer.provide([RpcSerialization.layerNdjson, NodeHttpClient.layerUndici]),
		)
}

// --- [EXPORT]

export { InternalRpcClient }
