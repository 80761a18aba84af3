// Where a sign-in or link may send the browser back to (`redirect_to`): a path on the gateway's origin, or an absolute
// http(s) URL of an origin the tenant allows. Anything else is 400 RedirectNotAllowed, before any state is written.
import { Effect, Option } from "effect"
import type { TenantView } from "../../entities/tenant/TenantProtocol.ts"
import { RedirectNotAllowed } from "./AuthApi.ts"

// --- [CONSTANTS]

// Control characters and backslashes: URL parsers drop or reinterpret them (`/\t/evil.com` and `/\evil.com` both
// become `//evil.com`), so a target holding one, at any layer of percent-decoding, is refused; so is raw whitespace
// (an encoded space, `%20`, is fine).
const UnsafeRedirectCharacters = /[\u0000-\u001f\u007f\\]/
const UnsafeRawRedirectCharacters = /[\u0000-\u0020\u007f\\]/

// --- [FUNCTIONS]

// The value and each percent-decoding of it (as far as decoding changes it), so `/%2F%2Fevil.com`, which some
// frameworks decode before they redirect again, is judged as `//evil.com` too.
const decodings = (value: string, depth = 3): ReadonlyArray<string> =>
	Option.match(
		Option.filter(Option.liftThrowable(decodeURIComponent)(value), (decoded) => decoded !== value && depth > 0),
		{ onNone: () => [value], onSome: (decoded) => [value, ...decodings(decoded, depth - 1)] },
	)

// Every decoding of the value is parsed with the WHATWG URL parser against the gateway's origin (that of
// `callbackBaseUrl`) and must land on an allowed origin, without userinfo; what is returned is the parsed, normalised
// form, so the Location header is exactly what was checked. Null when there is no `redirect_to`.
const redirectTarget = (callbackBaseUrl: string, tenant: TenantView, redirectTo: string | undefined) =>
	Option.match(Option.fromNullable(redirectTo), {
		onNone: () => Effect.succeed(null),
		onSome: (target) =>
			Effect.suspend(() => {
				const gateway = new URL(callbackBaseUrl).origin
				const isPath = target.startsWith("/")
				const permitted = isPath ? [gateway] : (tenant.settings.allowedRedirectOrigins ?? [])
				const parse = (value: string, layer: number) =>
					Option.filter(
						Option.liftThrowable(() => (isPath ? new URL(value, `${gateway}/`) : new URL(value)))(),
						(url) =>
							!(layer === 0 ? UnsafeRawRedirectCharacters : UnsafeRedirectCharacters).test(value) &&
							(url.protocol === "https:" || url.protocol === "http:") &&
							url.username === "" &&
							url.password === "" &&
							permitted.includes(url.origin) &&
							!url.pathname.startsWith("//"),
					)
				const layers = decodings(target).map(parse)
				return Option.match(Option.all(layers), {
					onNone: () =>
						Effect.fail(
							new RedirectNotAllowed({
								message: "redirect_to must be a path or an origin the tenant allows",
							}),
						),
					onSome: ([url]) =>
						Effect.succeed(
							url === undefined ? null : isPath ? `${url.pathname}${url.search}${url.hash}` : url.href,
						),
				})
			}),
	})

// --- [EXPORT]

export { redirectTarget }
