// Tenant identity shared by every wing: the branded TenantId and the one function that builds a tenant-scoped
// entity id (`<tenantId>/<localId>`), so no entity of one tenant can be addressed with another tenant's id.
import { Schema } from "effect"

// --- [SCHEMA]

const TenantId = Schema.UUID.pipe(Schema.brand("TenantId"))
type TenantId = typeof TenantId.Type

// --- [FUNCTIONS]

const entityId = (tenantId: TenantId, localId: string) => `${tenantId}/${localId}`

// --- [EXPORT]

export { entityId, TenantId }
