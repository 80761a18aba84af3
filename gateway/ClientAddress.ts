// The client's address as the gateway should believe it: the TCP peer, unless the peer is one of the proxies named in
// GATEWAY_TRUSTED_PROXIES; then the nearest address in X-Forwarded-For that is not itself a trusted proxy. With no
// trusted proxies configured, X-Forwarded-For is ignored (anyone could write it). Limits count per client group: an
// IPv4 address, or the /64 of an IPv6 address (one subscriber usually holds a whole /64 and can pick any address in it).
import { Option } from "effect"

// --- [FUNCTIONS]

// `::ffff:127.0.0.1` and `127.0.0.1` are one address.
const normalize = (address: string) => address.trim().replace(/^::ffff:(\d+\.\d+\.\d+\.\d+)$/, "$1")

const clientAddress = (
	peer: Option.Option<string>,
	forwardedFor: string | undefined,
	trustedProxies: ReadonlyArray<string>,
): Option.Option<string> => {
	const trusted = new Set(trustedProxies.map(normalize))
	return Option.map(peer, normalize).pipe(
		Option.map((address) =>
			trusted.has(address) && forwardedFor !== undefined
				? ([address, ...forwardedFor.split(",").map(normalize)]
						.filter((hop) => hop.length > 0)
						.reverse()
						.find((hop) => !trusted.has(hop)) ?? address)
				: address,
		),
	)
}

// `2001:db8:1:2::5` → `2001:db8:1:2::/64`; an IPv4 address (or anything else) stays as it is.
const clientGroup = (address: string | null): string =>
	Option.fromNullable(address).pipe(
		Option.map((value) => normalize(value).replace(/%.*$/, "").toLowerCase()),
		Option.map((value) => {
			const [head = "", tail = ""] = value.split("::")
			const [left = [], right = []] = [head, tail].map((part) => (part === "" ? [] : part.split(":")))
			// An embedded IPv4 address at the end stands for two groups.
			const width = (parts: ReadonlyArray<string>) =>
				parts.length + (parts.some((part) => part.includes(".")) ? 1 : 0)
			const groups = value.includes("::")
				? [...left, ...Array.from({ length: Math.max(0, 8 - width(left) - width(right)) }, () => "0"), ...right]
				: left
			return value.includes(":")
				? `${groups
						.slice(0, 4)
						.map((group) => Number.parseInt(group, 16).toString(16))
						.join(":")}::/64`
				: value
		}),
		Option.getOrElse(() => "unknown"),
	)

// --- [EXPORT]

export { clientAddress, clientGroup }
