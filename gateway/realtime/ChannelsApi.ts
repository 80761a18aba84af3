// Server-side realtime over HTTP: broadcast to a channel of the caller's tenant (delivered to subscribers on every
// gateway) and read a channel's presence. Needs a credential of the tenant (an API key for server-to-server use).
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { ChannelName, ChannelNotAllowed } from "../../entities/realtime/SocketProtocol.ts"
import { PayloadTooLarge } from "../HttpErrors.ts"
import { Page, PageParams } from "../ListPage.ts"
import { PresenceMember, Present } from "./RealtimeFrames.ts"
import { signedInRoutes } from "../RouteGroups.ts"

// --- [SCHEMA]

const ChannelPath = Schema.Struct({ channel: ChannelName })

const Broadcast = Schema.Struct({ payload: Present })

const Broadcasted = Schema.Struct({ channel: Schema.String, seq: Schema.Int })

// --- [PROTOCOL]

const ChannelsApi = signedInRoutes(
	HttpApiGroup.make("channels")
		.add(
			HttpApiEndpoint.post("broadcast", "/channels/:channel/broadcast")
				.annotate(OpenApi.Summary, "Broadcast a message to a channel")
				.annotate(OpenApi.Description, "Delivered to the channel's realtime subscribers on every gateway.")
				.setPath(ChannelPath)
				.setPayload(Broadcast)
				.addSuccess(Broadcasted, { status: 202 })
				.addError(ChannelNotAllowed, { status: 403 })
				.addError(PayloadTooLarge),
		)
		.add(
			HttpApiEndpoint.get("presence", "/channels/:channel/presence")
				.annotate(OpenApi.Summary, "List who is present on a channel")
				.setPath(ChannelPath)
				.setUrlParams(PageParams)
				.addSuccess(Page(PresenceMember))
				.addError(ChannelNotAllowed, { status: 403 }),
		),
)

// --- [EXPORT]

export { ChannelsApi }
