// A tenant as an operator names it (CONTRACT: wherever an admin path, `?tenant=` or CLI argument names a tenant, its
// id (any letter case) or its slug is accepted). Both forms are resolved through the tenant cache (one directory
// lookup per cache lifetime), so a tenant that does not exist is 404 TenantNotFound before any entity of it is
// addressed, and never an empty list.
import { Effect, Schema } from "effect"
import type { TenantId } from "../../entities/Tenancy.ts"
import { TenantSlug } from "../../entities/tenant/TenantModel.ts"
import { TenantNotFound } from "../../entities/tenant/TenantProtocol.ts"
import { callEntity } from "../EntityCall.ts"
import type { ServiceUnavailable } from "../HttpErrors.ts"
import type { TenantCache } from "./TenantCache.ts"

// --- [SCHEMA]

// The shape of a `?tenant=` filter: anything else is a 400 before any lookup.
const TenantRefParam = Schema.Union(Schema.UUID, TenantSlug).annotations({
	description: "a tenant's id or slug",
})

// --- [FUNCTIONS]

const notFound = () => new TenantNotFound({ message: "tenant not found" })

const tenantIdOf =
	(cache: TenantCache) =>
	(ref: string): Effect.Effect<TenantId, TenantNotFound | ServiceUnavailable> =>
		Schema.is(TenantRefParam)(ref)
			? callEntity(cache.resolveAuthenticated(Schema.is(Schema.UUID)(ref) ? ref.toLowerCase() : ref)).pipe(
					Effect.map((tenant) => tenant.id),
				)
			: Effect.fail(notFound())

// An optional filter: absent stays null; present must name an existing tenant (an unknown id is 404 too, never an
// empty list).
const tenantFilterOf =
	(cache: TenantCache) =>
	(ref: string | undefined): Effect.Effect<TenantId | null, TenantNotFound | ServiceUnavailable> =>
		ref === undefined ? Effect.succeed(null) : tenantIdOf(cache)(ref)

// --- [EXPORT]

export { tenantFilterOf, tenantIdOf, TenantRefParam }
