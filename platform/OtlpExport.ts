// Traces, metrics and logs over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT is set (the collector's base URL; the
// exporter posts to /v1/traces, /v1/metrics and /v1/logs under it), as protobuf unless OTEL_EXPORTER_OTLP_PROTOCOL is
// `http/json` (the OpenTelemetry variables and defaults). Unset: nothing is exported and spans stay in-process.
import { Otlp } from "@effect/opentelemetry"
import { NodeHttpClient } from "@effect/platform-node"
import { Config, Effect, Layer, Option } from "effect"

// --- [CONSTANTS]

const OtlpConfig = Config.all({
	endpoint: Config.option(
		Config.string("OTEL_EXPORTER_OTLP_ENDPOINT").pipe(
			Config.withDescription("OTLP/HTTP collector base URL; set → traces, metrics and logs are exported"),
		),
	),
	protocol: Config.literal(
		"http/protobuf",
		"http/json",
	)("OTEL_EXPORTER_OTLP_PROTOCOL").pipe(
		Config.withDefault("http/protobuf" as const),
		Config.withDescription("OTLP encoding: http/protobuf or http/json"),
	),
	serviceName: Config.option(
		Config.string("OTEL_SERVICE_NAME").pipe(Config.withDescription("service.name of exported telemetry")),
	),
})

// --- [LAYERS]

// `role` names the process (gateway, runner, all-in-one) when OTEL_SERVICE_NAME does not.
const OtlpExportLive = (role: string) =>
	Layer.unwrapEffect(
		Effect.map(OtlpConfig, (config) =>
			Option.match(config.endpoint, {
				onNone: () => Layer.empty,
				onSome: (endpoint) =>
					(config.protocol === "http/json" ? Otlp.layerJson : Otlp.layerProtobuf)({
						baseUrl: endpoint.replace(/\/+$/, ""),
						resource: {
							serviceName: Option.getOrElse(config.serviceName, () => `effect-cluster-platform-${role}`),
							attributes: { "service.instance.id": `${role}-${process.pid}` },
						},
						tracerExportInterval: "1 second",
					}).pipe(Layer.provide(NodeHttpClient.layerUndici)),
			}),
		),
	)

// --- [EXPORT]

export { OtlpExportLive }
