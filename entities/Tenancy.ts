// Tenant identity shared by every wing: the branded TenantId and the one function that builds a tenant-scoped
// entity id (`<tenantId>/<localId>`), so no entity of one tenant can be addressed with another tenant's id. A TenantId
// is always lower case.
import { Schema } from "effect"

// --- [SCHEMA]

// A UUID as ids are spelled everywhere: decoding lower-cases. Postgres compares UUIDs without case, entity ids and
// cache keys do not, so an upper-case spelling must never reach them as a second name for the same thing.
const Uuid = Schema.compose(Schema.Lowercase, Schema.UUID)

const TenantId = Uuid.pipe(Schema.brand("TenantId"))
type TenantId = typeof TenantId.Type

// --- [FUNCTIONS]

const entityId = (tenantId: TenantId, localId: string) => `${tenantId}/${localId}`

// --- [EXPORT]

export { entityId, TenantId, Uuid }
