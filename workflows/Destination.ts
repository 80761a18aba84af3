// Which hosts an `http.call` job may reach: public addresses only, unless the host is listed exactly in
// JOBS_HTTP_ALLOWED_HOSTS. Decided from the URL and a DNS lookup before any connection is made, at submit time by the
// gateway and again by the activity right before it connects; and once more at connect time by `guardedLookup`, the
// lookup of the outbound agent, which checks every address a name resolves to and hands the socket only a checked one
// (a name may resolve differently between the check and the connection: DNS rebinding).
import { Config, Data, Effect, Schema } from "effect"
import { lookup } from "node:dns/promises"
import { BlockList, isIP, type LookupFunction } from "node:net"

// --- [CONSTANTS]

const DestinationConfig = Config.array(Config.string(), "JOBS_HTTP_ALLOWED_HOSTS").pipe(
	Config.map((hosts) => hosts.map((host) => host.trim().toLowerCase()).filter((host) => host.length > 0)),
	Config.withDefault([] as Array<string>),
	Config.withDescription("Hosts (exact, comma-separated) an http.call job may reach even when not public"),
)

// What an operator can do about a host that is not public: list it.
const AllowListHint = "only public addresses, or hosts the operator lists in JOBS_HTTP_ALLOWED_HOSTS, can be reached"

// Not public: loopback, private, link-local, CGNAT, benchmarking, documentation, multicast, reserved, unspecified,
// the 6to4 relay anycast.
const nonPublicV4 = new BlockList()
;[
	["0.0.0.0", 8],
	["10.0.0.0", 8],
	["100.64.0.0", 10],
	["127.0.0.0", 8],
	["169.254.0.0", 16],
	["172.16.0.0", 12],
	["192.0.0.0", 24],
	["192.0.2.0", 24],
	["192.88.99.0", 24],
	["192.168.0.0", 16],
	["198.18.0.0", 15],
	["198.51.100.0", 24],
	["203.0.113.0", 24],
	["224.0.0.0", 4],
	["240.0.0.0", 4],
].forEach(([network, prefix]) => nonPublicV4.addSubnet(String(network), Number(prefix), "ipv4"))

// IPv6 is public only inside global unicast 2000::/3 (which already leaves out ::/128, ::1, IPv4-compatible ::/96,
// IPv4-mapped ::ffff:0:0/96, NAT64 64:ff9b::/96 and 64:ff9b:1::/48, discard 100::/64, ULA fc00::/7, link-local
// fe80::/10, site-local fec0::/10 and multicast ff00::/8; they are listed anyway), and outside these ranges of it:
// IETF protocol assignments 2001::/23 (Teredo 2001::/32 included: its embedded IPv4 cannot be trusted), documentation
// 2001:db8::/32 and 3fff::/20, SRv6 5f00::/16. 6to4 2002::/16 is public only when its embedded IPv4 is.
const nonPublicV6 = new BlockList()
;[
	["::", 128],
	["::1", 128],
	["::", 96],
	["::ffff:0:0", 96],
	["::ffff:0:0:0", 96],
	["64:ff9b::", 96],
	["64:ff9b:1::", 48],
	["100::", 64],
	["2001::", 23],
	["2001::", 32],
	["2001:db8::", 32],
	["3fff::", 20],
	["5f00::", 16],
	["fc00::", 7],
	["fe80::", 10],
	["fec0::", 10],
	["ff00::", 8],
].forEach(([network, prefix]) => nonPublicV6.addSubnet(String(network), Number(prefix), "ipv6"))

// --- [ERRORS]

class DestinationNotAllowed extends Schema.TaggedError<DestinationNotAllowed>()("DestinationNotAllowed", {
	message: Schema.String,
	host: Schema.String,
}) {}

// The agent's lookup refused to hand a socket this name's addresses (it lives inside a node socket error).
class DestinationRefused extends Data.TaggedError("DestinationRefused")<{
	readonly message: string
	readonly host: string
	readonly code: string
}> {}

// --- [FUNCTIONS]

// The eight 16-bit groups of an IPv6 address (zone removed, `::` expanded, a dotted IPv4 tail split in two).
const hextets = (address: string): ReadonlyArray<number> => {
	const groups = (part: string) =>
		part === ""
			? []
			: part
					.split(":")
					.flatMap((group) =>
						group.includes(".")
							? ((octets) => [octets[0]! * 256 + octets[1]!, octets[2]! * 256 + octets[3]!])(
									group.split(".").map(Number),
								)
							: [Number.parseInt(group, 16)],
					)
	const [head = "", tail] = address.split("%")[0]!.split("::")
	const left = groups(head)
	const right = tail === undefined ? [] : groups(tail)
	return [...left, ...Array.from({ length: 8 - left.length - right.length }, () => 0), ...right]
}

const isPublicV4 = (address: string) => !nonPublicV4.check(address, "ipv4")

const isPublicV6 = (address: string) => {
	const groups = hextets(address)
	const canonical = groups.map((group) => group.toString(16)).join(":")
	const embedded = [groups[1]! >> 8, groups[1]! & 255, groups[2]! >> 8, groups[2]! & 255].join(".")
	return (
		(groups[0]! & 0xe000) === 0x2000 &&
		!nonPublicV6.check(canonical, "ipv6") &&
		(groups[0] === 0x2002 ? isPublicV4(embedded) : true)
	)
}

const isPublicAddress = (address: string) =>
	isIP(address.split("%")[0]!) === 4
		? isPublicV4(address)
		: isIP(address.split("%")[0]!) === 6
			? isPublicV6(address)
			: false

const refuse = (host: string, why: string) =>
	new DestinationNotAllowed({ message: `destination ${host} is not allowed: ${why}`, host })

const refuseHost = (host: string, why: string) => refuse(host, `${why}; ${AllowListHint}`)

const bare = (host: string) => host.replace(/^\[|\]$/g, "").toLowerCase()

// A listed host lets its own name through (with or without a port in the list).
const isAllowedHost = (host: string, allowedHosts: ReadonlyArray<string>) =>
	allowedHosts.some((allowed) => allowed === bare(host) || allowed.startsWith(`${bare(host)}:`))

// Resolves the URL's host (an IP literal resolves to itself) and requires every address to be public.
const check = (url: URL, allowedHosts: ReadonlyArray<string>) =>
	Effect.gen(function* () {
		const host = bare(url.hostname)
		const allowed = allowedHosts.includes(host) || allowedHosts.includes(url.host.toLowerCase())
		const addresses = allowed
			? []
			: yield* Effect.tryPromise({
					try: () => lookup(host, { all: true, verbatim: true }),
					catch: () => refuseHost(host, "its name does not resolve"),
				})
		yield* Effect.forEach(addresses, ({ address }) =>
			isPublicAddress(address)
				? Effect.void
				: Effect.fail(refuseHost(host, `${address} is not a public address`)),
		)
		return allowed ? "allowed-host" : "public"
	})

// The WHATWG parser already turns numeric forms (`http://2130706433/`, `http://0x7f.1/`, `[::ffff:127.0.0.1]`) into
// the address they name, so those are checked like any other literal.
const checkUrl = (url: string, allowedHosts: ReadonlyArray<string>) =>
	Effect.try({ try: () => new URL(url), catch: () => refuse(url, "not a URL") }).pipe(
		Effect.filterOrFail(
			(parsed) => parsed.protocol === "http:" || parsed.protocol === "https:",
			(parsed) => refuse(parsed.host, "only http and https are allowed"),
		),
		Effect.flatMap((parsed) => check(parsed, allowedHosts)),
	)

const systemResolve = (host: string) => lookup(host, { all: true, verbatim: true })

// A `lookup` for node sockets (http/https Agent option). It resolves the name once, refuses the connection unless
// EVERY address is allowed (public, or the host is listed), and answers with those checked addresses only, so the
// socket connects to an address that was checked. `resolve` is injectable for tests.
const guardedLookup = (options: {
	readonly allowedHosts: ReadonlyArray<string>
	readonly resolve?: typeof systemResolve
}): LookupFunction => {
	const resolve = options.resolve ?? systemResolve
	return (hostname, lookupOptions, callback) =>
		void resolve(hostname).then(
			(resolved) => {
				const allowed = isAllowedHost(hostname, options.allowedHosts)
				const forbidden = allowed ? [] : resolved.filter(({ address }) => !isPublicAddress(address))
				const family = lookupOptions.family === 4 || lookupOptions.family === 6 ? lookupOptions.family : 0
				const usable = resolved.filter((entry) => family === 0 || entry.family === family)
				const refusal =
					forbidden.length > 0
						? `${forbidden[0]!.address} is not a public address`
						: usable.length === 0
							? "its name does not resolve"
							: null
				return refusal === null
					? lookupOptions.all === true
						? callback(
								null,
								usable.map((entry) => ({ address: entry.address, family: entry.family })),
							)
						: callback(null, usable[0]!.address, usable[0]!.family)
					: callback(
							new DestinationRefused({
								message: `destination ${hostname} is not allowed: ${refusal}; ${AllowListHint}`,
								host: hostname,
								code: "EDESTINATIONREFUSED",
							}),
							"",
							0,
						)
			},
			(error: NodeJS.ErrnoException) => callback(error, "", 0),
		)
}

// --- [EXPORT]

const Destination = { checkUrl, guardedLookup, isPublicAddress, config: DestinationConfig } as const

export { Destination, DestinationNotAllowed, DestinationRefused }
