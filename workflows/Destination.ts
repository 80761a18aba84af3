// Which hosts an `http.call` job may reach: public addresses only, unless the host is listed exactly in
// JOBS_HTTP_ALLOWED_HOSTS. Decided from the URL and a DNS lookup before any connection is made, at submit time by the
// gateway and again by the activity right before it connects (a name may resolve differently later).
import { Config, Effect, Schema } from "effect"
import { lookup } from "node:dns/promises"
import { BlockList, isIP } from "node:net"

// --- [CONSTANTS]

const DestinationConfig = Config.array(Config.string(), "JOBS_HTTP_ALLOWED_HOSTS").pipe(
	Config.map((hosts) => hosts.map((host) => host.trim().toLowerCase()).filter((host) => host.length > 0)),
	Config.withDefault([] as Array<string>),
	Config.withDescription("Hosts (exact, comma-separated) an http.call job may reach even when not public"),
)

// Not public: loopback, private, link-local, CGNAT, benchmarking, documentation, multicast, reserved, unspecified.
const nonPublic = new BlockList()
;[
	["0.0.0.0", 8],
	["10.0.0.0", 8],
	["100.64.0.0", 10],
	["127.0.0.0", 8],
	["169.254.0.0", 16],
	["172.16.0.0", 12],
	["192.0.0.0", 24],
	["192.0.2.0", 24],
	["192.168.0.0", 16],
	["198.18.0.0", 15],
	["198.51.100.0", 24],
	["203.0.113.0", 24],
	["224.0.0.0", 4],
	["240.0.0.0", 4],
].forEach(([network, prefix]) => nonPublic.addSubnet(String(network), Number(prefix), "ipv4"))
;[
	["::", 128],
	["::1", 128],
	["::ffff:0:0", 96],
	["64:ff9b::", 96],
	["100::", 64],
	["2001:db8::", 32],
	["fc00::", 7],
	["fe80::", 10],
	["ff00::", 8],
].forEach(([network, prefix]) => nonPublic.addSubnet(String(network), Number(prefix), "ipv6"))

// --- [ERRORS]

class DestinationNotAllowed extends Schema.TaggedError<DestinationNotAllowed>()("DestinationNotAllowed", {
	message: Schema.String,
	host: Schema.String,
}) {}

// --- [FUNCTIONS]

const isPublicAddress = (address: string) =>
	isIP(address) !== 0 && !nonPublic.check(address, isIP(address) === 6 ? "ipv6" : "ipv4")

const refuse = (host: string, why: string) =>
	new DestinationNotAllowed({ message: `destination ${host} is not allowed: ${why}`, host })

// Resolves the URL's host (an IP literal resolves to itself) and requires every address to be public.
const check = (url: URL, allowedHosts: ReadonlyArray<string>) =>
	Effect.gen(function* () {
		const host = url.hostname.replace(/^\[|\]$/g, "").toLowerCase()
		const allowed = allowedHosts.includes(host) || allowedHosts.includes(url.host.toLowerCase())
		const addresses = allowed
			? []
			: yield* Effect.tryPromise({
					try: () => lookup(host, { all: true, verbatim: true }),
					catch: () => refuse(host, "its name does not resolve"),
				})
		yield* Effect.forEach(addresses, ({ address }) =>
			isPublicAddress(address) ? Effect.void : Effect.fail(refuse(host, `${address} is not a public address`)),
		)
		return allowed ? "allowed-host" : "public"
	})

const checkUrl = (url: string, allowedHosts: ReadonlyArray<string>) =>
	Effect.try({ try: () => new URL(url), catch: () => refuse(url, "not a URL") }).pipe(
		Effect.filterOrFail(
			(parsed) => parsed.protocol === "http:" || parsed.protocol === "https:",
			(parsed) => refuse(parsed.host, "only http and https are allowed"),
		),
		Effect.flatMap((parsed) => check(parsed, allowedHosts)),
	)

// --- [EXPORT]

const Destination = { checkUrl, isPublicAddress, config: DestinationConfig } as const

export { Destination, DestinationNotAllowed }
