// The cookies of sign-in: the OAuth transaction's browser binding and the session cookie. Every one is a `__Host-`
// cookie: Secure, Path=/, no Domain (browsers accept Secure cookies from http://localhost and loopback addresses too).
import { HttpApp, HttpServerResponse } from "@effect/platform"
import { Effect } from "effect"

// --- [CONSTANTS]

const CookieOptions = { httpOnly: true, sameSite: "lax", secure: true, path: "/" } as const

// --- [FUNCTIONS]

// Sets a cookie on whatever response this request ends with (typed success, redirect or error).
const setCookie = (name: string, value: string, options: Parameters<typeof HttpServerResponse.unsafeSetCookie>[3]) =>
	HttpApp.appendPreResponseHandler((_request, response) =>
		Effect.succeed(HttpServerResponse.unsafeSetCookie(response, name, value, options)),
	)

// --- [EXPORT]

export { CookieOptions, setCookie }
