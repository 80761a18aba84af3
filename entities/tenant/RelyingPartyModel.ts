// A tenant's WebAuthn relying party: the RP ID passkeys are scoped to, the name authenticators show, the origins whose
// pages may run a ceremony, the MFA policy and whether user verification is required. Its lists are the single
// source of the Schema literals and the SQL CHECKs. The origins must be https (or http on localhost / a loopback
// address, for development) and each must be the RP ID or one of its subdomains, as browsers enforce.
import { Schema } from "effect"
import { isIP } from "node:net"
import { WebOrigin } from "./TenantModel.ts"

// --- [CONSTANTS]

const MfaPolicies = ["off", "optional", "required"] as const
const UserVerificationPolicies = ["required", "preferred"] as const

// --- [SCHEMA]

const MfaPolicy = Schema.Literal(...MfaPolicies)
const UserVerificationPolicy = Schema.Literal(...UserVerificationPolicies)

// A domain name (lowercase labels) or `localhost`; never an IP address, a port, a scheme or a path.
const RpId = Schema.String.pipe(
	Schema.maxLength(253),
	Schema.filter(
		(value) =>
			isIP(value) === 0 &&
			(value === "localhost" || /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/.test(value)),
		{ message: () => "rpId must be a domain name such as example.com (no scheme, port or path) or localhost" },
	),
)

// Loopback names and addresses: browsers treat them as secure contexts over http (`*.localhost` resolves to loopback,
// RFC 6761).
const isLoopback = (host: string) =>
	host === "localhost" ||
	host.endsWith(".localhost") ||
	host === "[::1]" ||
	(isIP(host) === 4 && host.startsWith("127."))

const RelyingPartyFields = Schema.Struct({
	rpId: RpId,
	rpName: Schema.Trim.pipe(
		Schema.minLength(1, { message: () => "rpName must not be empty" }),
		Schema.maxLength(200, { message: () => "rpName must be at most 200 characters" }),
	),
	origins: Schema.Array(WebOrigin).pipe(
		Schema.minItems(1, { message: () => "origins must list at least one origin" }),
		Schema.maxItems(20),
	),
	mfa: MfaPolicy,
	userVerification: UserVerificationPolicy,
})

const RelyingParty = RelyingPartyFields.pipe(
	Schema.filter((party) => {
		const wrong = party.origins.find((origin) => {
			const url = new URL(origin)
			const host = url.hostname
			const secure = url.protocol === "https:" || isLoopback(host)
			return !secure || !(host === party.rpId || host.endsWith(`.${party.rpId}`))
		})
		return wrong === undefined
			? true
			: `origin ${wrong} is not allowed: origins must be https (http only on localhost) and on rpId or a subdomain of it`
	}),
)
type RelyingParty = typeof RelyingParty.Type

const RelyingPartyView = Schema.Struct({
	...RelyingPartyFields.fields,
	updatedAt: Schema.DateTimeUtc,
})

// --- [EXPORT]

export { MfaPolicies, MfaPolicy, RelyingParty, RelyingPartyView, UserVerificationPolicies, UserVerificationPolicy }
