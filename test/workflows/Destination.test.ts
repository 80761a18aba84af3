// The destination policy of `http.call` (SSRF): which addresses are public (both families, IPv6 transition ranges,
// numeric host forms), the outbound agent's guarded lookup (every resolved address checked, the socket handed only a
// checked one, so a rebinding answer cannot slip through), and the outbound client against loopback receivers
// (the body cap, no redirect following, a name resolving to loopback refused at connect time).
import { ConfigProvider, Effect, Either, Layer } from "effect"
import { HttpClientRequest } from "@effect/platform"
import {
	createServer,
	type IncomingMessage,
	request as httpRequest,
	Agent,
	type Server,
	type ServerResponse,
} from "node:http"
import type { LookupAddress } from "node:dns"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Destination, DestinationRefused } from "../../workflows/Destination.ts"
import { MaxResponseBytes, OutboundHttp } from "../../workflows/OutboundHttp.ts"

// --- [CONSTANTS]

const MiB = 1024 * 1024

// address → public?
const addresses: ReadonlyArray<readonly [string, boolean]> = [
	["8.8.8.8", true],
	["93.184.216.34", true],
	["0.0.0.0", false],
	["10.1.2.3", false],
	["100.64.0.1", false],
	["127.0.0.1", false],
	["127.255.255.254", false],
	["169.254.169.254", false],
	["172.16.0.1", false],
	["172.31.255.255", false],
	["192.0.0.8", false],
	["192.0.2.1", false],
	["192.88.99.1", false],
	["192.168.1.1", false],
	["198.18.0.1", false],
	["198.51.100.1", false],
	["203.0.113.1", false],
	["224.0.0.1", false],
	["240.0.0.1", false],
	["255.255.255.255", false],
	["2606:4700:4700::1111", true],
	["2a00:1450:4001:81b::200e", true],
	["::", false],
	["::1", false],
	["::7f00:1", false], // IPv4-compatible ::127.0.0.1
	["::127.0.0.1", false],
	["::808:808", false], // IPv4-compatible, even of a public address
	["::ffff:127.0.0.1", false],
	["::ffff:7f00:1", false],
	["::ffff:8.8.8.8", false],
	["::ffff:0:a00:1", false], // IPv4-translated 10.0.0.1
	["64:ff9b::7f00:1", false], // NAT64 of 127.0.0.1
	["64:ff9b::808:808", false],
	["64:ff9b:1::a00:1", false], // local-use NAT64
	["100::1", false],
	["2001::1", false], // Teredo
	["2001:0:4136:e378:8000:63bf:3fff:fdd2", false], // Teredo
	["2001:10::1", false], // ORCHID
	["2001:db8::1", false],
	["3fff::1", false],
	["2002:7f00:1::1", false], // 6to4 of 127.0.0.1
	["2002:a00:1::1", false], // 6to4 of 10.0.0.1
	["2002:c0a8:101::", false], // 6to4 of 192.168.1.1
	["2002:808:808::1", true], // 6to4 of 8.8.8.8
	["5f00::1", false],
	["fc00::1", false],
	["fd12:3456::1", false],
	["fe80::1", false],
	["fe80::1%lo", false],
	["fec0::1", false],
	["ff02::1", false],
	["not-an-address", false],
]

// URLs whose host is a numeric or bracketed form of a non-public address: refused before any connection.
const numericUrls = [
	"http://2130706433/",
	"http://0x7f000001/",
	"http://0x7f.1/",
	"http://0177.0.0.1/",
	"http://127.1/",
	"http://017700000001/",
	"http://0/",
	"http://[::ffff:127.0.0.1]/",
	"http://[::ffff:7f00:1]/",
	"http://[::127.0.0.1]/",
	"http://[0:0:0:0:0:0:0:1]/",
	"http://[2002:7f00:1::1]/",
	"http://[2001::7f00:1]/",
	"http://[64:ff9b::127.0.0.1]/",
	"http://[fe80::1%25lo]/",
	"http://169.254.169.254/latest/meta-data/",
]

// --- [STATE]

let receiver: Server
let port = 0
const seen: Array<{ readonly path: string; readonly remote: string | undefined }> = []
const closed: Array<string> = []

// --- [FUNCTIONS]

const handle = (request: IncomingMessage, response: ServerResponse) => {
	const url = new URL(request.url ?? "/", "http://receiver")
	seen.push({ path: url.pathname, remote: request.socket.remoteAddress })
	request.resume()
	response.on("close", () => closed.push(url.pathname))
	const chunk = Buffer.alloc(64 * 1024, 120)
	// `/huge`: 5 MiB as fast as the socket takes it. `/endless`: 64 KiB every 5 ms until the client goes away (at most
	// 256 MiB, so a client that reads everything still ends). `/redirect`: 302 to `/target` on this receiver.
	const stream = (remaining: number, pause: number): void =>
		remaining <= 0 || response.destroyed
			? void response.end()
			: response.write(chunk)
				? void setTimeout(() => stream(remaining - chunk.length, pause), pause)
				: void response.once("drain", () => stream(remaining - chunk.length, pause))
	return url.pathname === "/huge"
		? (response.writeHead(200, { "content-type": "application/octet-stream" }), stream(5 * MiB, 0))
		: url.pathname === "/endless"
			? (response.writeHead(200, { "content-type": "application/octet-stream" }), stream(256 * MiB, 5))
			: url.pathname === "/redirect"
				? response.writeHead(302, { location: `http://127.0.0.1:${port}/target` }).end()
				: response.writeHead(200).end("ok")
}

const allowLoopback = Layer.setConfigProvider(
	ConfigProvider.fromMap(new Map([["JOBS_HTTP_ALLOWED_HOSTS", "127.0.0.1"]])),
)
const allowNothing = Layer.setConfigProvider(ConfigProvider.fromMap(new Map()))

const send = (url: string, config: Layer.Layer<never>) =>
	Effect.runPromise(
		Effect.flatMap(OutboundHttp, (outbound) => outbound.send(HttpClientRequest.get(url))).pipe(
			Effect.either,
			Effect.provide(OutboundHttp.Default),
			Effect.provide(config),
			Effect.timeout("20 seconds"),
		),
	)

// Calls a lookup the way a node socket does and gives back what it answered.
const callLookup = (
	lookup: ReturnType<typeof Destination.guardedLookup>,
	host: string,
	options: { readonly all?: boolean; readonly family?: number } = {},
) =>
	new Promise<{ readonly error: Error | null; readonly address: string | ReadonlyArray<LookupAddress> }>((resolve) =>
		lookup(host, { ...options } as never, (error, address) => resolve({ error, address })),
	)

const resolverOf = (answers: Record<string, ReadonlyArray<string>>) => {
	const calls: Array<string> = []
	const resolve = async (host: string) => {
		calls.push(host)
		return (answers[host] ?? []).map((address) => ({ address, family: address.includes(":") ? 6 : 4 }))
	}
	return { calls, resolve }
}

// A GET through a plain node Agent whose lookup is the guarded one: the real socket path, no DNS needed.
const getThrough = (agent: Agent, url: string) =>
	new Promise<{ readonly status: number; readonly remote: string | undefined } | { readonly error: Error }>(
		(resolve) => {
			const request = httpRequest(url, { agent }, (response) => {
				response.resume()
				response.on("end", () =>
					resolve({ status: response.statusCode ?? 0, remote: request.socket?.remoteAddress }),
				)
			})
			request.on("error", (error) => resolve({ error }))
			request.end()
		},
	)

// --- [SUITE]

beforeAll(async () => {
	receiver = createServer(handle)
	await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", () => resolve()))
	const address = receiver.address()
	port = typeof address === "object" && address !== null ? address.port : 0
})

afterAll(async () => {
	receiver?.closeAllConnections()
	await new Promise<void>((resolve) => (receiver === undefined ? resolve() : receiver.close(() => resolve())))
})

describe("which addresses are public", () => {
	it.each(addresses)("%s → public: %s", (address, expected) => {
		expect(Destination.isPublicAddress(address)).toBe(expected)
	})

	it.each(numericUrls)("%s → DestinationNotAllowed before any connection", async (url) => {
		const result = await Effect.runPromise(Effect.either(Destination.checkUrl(url, [])))
		expect(Either.isLeft(result)).toBe(true)
		expect(Either.isLeft(result) ? result.left._tag : "").toBe("DestinationNotAllowed")
	})

	it("a listed host passes even though it is loopback; unlisted hosts and other ports of it do not", async () => {
		const allowed = await Effect.runPromise(
			Effect.either(Destination.checkUrl("http://127.0.0.1:9/x", ["127.0.0.1"])),
		)
		expect(allowed).toEqual(Either.right("allowed-host"))
		const other = await Effect.runPromise(Effect.either(Destination.checkUrl("http://127.0.0.2/", ["127.0.0.1"])))
		expect(Either.isLeft(other)).toBe(true)
		const wrongPort = await Effect.runPromise(
			Effect.either(Destination.checkUrl("http://127.0.0.1:81/", ["127.0.0.1:80"])),
		)
		expect(Either.isLeft(wrongPort)).toBe(true)
	})
})

describe("the agent's guarded lookup (DNS rebinding)", () => {
	it("a name answering [public, 127.0.0.1] is refused: no address is handed to the socket", async () => {
		const { resolve } = resolverOf({ "rebind.test": ["93.184.216.34", "127.0.0.1"] })
		const lookup = Destination.guardedLookup({ allowedHosts: [], resolve })
		for (const options of [{}, { all: true }, { family: 4 }]) {
			const answer = await callLookup(lookup, "rebind.test", options)
			expect(answer.error).toBeInstanceOf(DestinationRefused)
			expect(answer.error?.message).toContain("127.0.0.1")
			expect(answer.address).toBe("")
		}
	})

	it("any non-public address among the answers refuses, in either family", async () => {
		const { resolve } = resolverOf({
			"v6.test": ["2606:4700:4700::1111", "::ffff:10.0.0.1"],
			"teredo.test": ["2001::1"],
			"nat64.test": ["64:ff9b::a9fe:a9fe"],
			"none.test": [],
		})
		const lookup = Destination.guardedLookup({ allowedHosts: [], resolve })
		for (const host of ["v6.test", "teredo.test", "nat64.test", "none.test"]) {
			expect((await callLookup(lookup, host, { all: true })).error, host).toBeInstanceOf(DestinationRefused)
		}
	})

	it("a public answer is handed over as checked: the same addresses, resolved once", async () => {
		const { calls, resolve } = resolverOf({ "public.test": ["93.184.216.34", "2606:4700:4700::1111"] })
		const lookup = Destination.guardedLookup({ allowedHosts: [], resolve })
		expect(await callLookup(lookup, "public.test")).toEqual({ error: null, address: "93.184.216.34" })
		expect(await callLookup(lookup, "public.test", { all: true })).toEqual({
			error: null,
			address: [
				{ address: "93.184.216.34", family: 4 },
				{ address: "2606:4700:4700::1111", family: 6 },
			],
		})
		expect(await callLookup(lookup, "public.test", { family: 6 })).toEqual({
			error: null,
			address: "2606:4700:4700::1111",
		})
		expect(calls).toEqual(["public.test", "public.test", "public.test"])
	})

	it("through a real node Agent: the socket connects to the checked address, and a refused name reaches nobody", async () => {
		const { calls, resolve } = resolverOf({
			"receiver.test": ["127.0.0.1"],
			"evil.test": ["93.184.216.34", "127.0.0.1"],
		})
		const agent = new Agent({ lookup: Destination.guardedLookup({ allowedHosts: ["receiver.test"], resolve }) })
		const before = seen.length
		const allowed = await getThrough(agent, `http://receiver.test:${port}/checked`)
		expect(allowed).toEqual({ status: 200, remote: "127.0.0.1" })
		expect(calls).toEqual(["receiver.test"])
		const refused = await getThrough(agent, `http://evil.test:${port}/evil`)
		expect("error" in refused ? refused.error : null).toBeInstanceOf(DestinationRefused)
		expect(seen.slice(before).map((request) => request.path)).toEqual(["/checked"])
		agent.destroy()
	})
})

describe("the outbound client of http.call", () => {
	it("a name that resolves to loopback is refused at connect time when the pre-check is skipped", async () => {
		const before = seen.length
		const result = await send(`http://localhost:${port}/sneaky`, allowNothing)
		expect(Either.isLeft(result)).toBe(true)
		expect(Either.isLeft(result) ? result.left : null).toBeInstanceOf(DestinationRefused)
		expect(seen.slice(before)).toEqual([])
	})

	it("a 5 MiB body: the status is kept and at most 1 MiB of the body is read", async () => {
		const result = await send(`http://127.0.0.1:${port}/huge`, allowLoopback)
		expect(Either.isRight(result)).toBe(true)
		const answer = Either.getOrThrow(result)
		expect(answer.status).toBe(200)
		expect(answer.body.length).toBe(MaxResponseBytes)
		expect(MaxResponseBytes).toBe(MiB)
	})

	it("a body that never ends: the attempt returns with 1 MiB and closes the connection", async () => {
		const result = await send(`http://127.0.0.1:${port}/endless`, allowLoopback)
		expect(Either.isRight(result) ? Either.getOrThrow(result).body.length : -1).toBe(MiB)
		const gone = await new Promise<boolean>((resolve) => {
			const poll = (left: number): void =>
				closed.includes("/endless")
					? resolve(true)
					: left <= 0
						? resolve(false)
						: void setTimeout(() => poll(left - 1), 50)
			poll(100)
		})
		expect(gone).toBe(true)
	})

	it("a redirect is an answer, not followed", async () => {
		const before = seen.length
		const result = await send(`http://127.0.0.1:${port}/redirect`, allowLoopback)
		expect(Either.isRight(result) ? Either.getOrThrow(result).status : 0).toBe(302)
		expect(seen.slice(before).map((request) => request.path)).toEqual(["/redirect"])
	})
})
