// The client's address as the gateway should believe it: the TCP peer, unless the peer is one of the proxies named in
// GATEWAY_TRUSTED_PROXIES; then the nearest address in X-Forwarded-For that is not itself a trusted proxy. With no
// trusted proxies configured, X-Forwarded-For is ignored (anyone could write it).
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

// --- [EXPORT]

export { clientAddress }
