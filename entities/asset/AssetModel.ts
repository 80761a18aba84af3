// The `assets` table. `hash` is nullable (an upload in progress has none yet): the column, the CHECK and the model
// agree on that by construction (seed C1).
import { Model } from "@effect/sql"
import { Schema } from "effect"
import { TenantId } from "../Tenancy.ts"

// --- [CONSTANTS]

const AssetHashPattern = "^[0-9a-f]{64}$"

// --- [SCHEMA]

class Asset extends Model.Class<Asset>("Asset")({
	id: Model.GeneratedByApp(Schema.UUID),
	appId: TenantId,
	key: Schema.String,
	contentType: Schema.String,
	size: Schema.NonNegativeInt,
	hash: Schema.NullOr(Schema.String.pipe(Schema.pattern(new RegExp(AssetHashPattern)))),
	createdAt: Model.DateTimeInsertFromDate,
	updatedAt: Model.DateTimeUpdateFromDate,
}) {}

// --- [EXPORT]

export { Asset, AssetHashPattern }
