// Every table of ours that holds a tenant's rows, and what `tenant.delete` does with them. A tenant's rows carry its
// id in `app_id`. test/workflows/TenantTables.test.ts reads the migrated schema and fails when a table with that column
// (or with any column referencing `apps`) is listed in neither list below, so a migration that adds a tenant table
// must say here whether a deletion removes its rows or keeps them.

// --- [CONSTANTS]

const TenantColumn = "app_id"

// Emptied by a deletion, in this order: each table before the tables its foreign keys reference (sessions, identities
// and API keys reference users; DLQ entries reference jobs). `spare` names the column that holds the deletion's own
// job id in that table: the delete job's row and DLQ entry stay, they record the deletion.
const DeletedTenantTables = [
	{ table: "webhook_attempts", spare: null },
	{ table: "webhook_cursors", spare: null },
	{ table: "webhook_endpoints", spare: null },
	{ table: "job_dlq", spare: "job_id" },
	{ table: "jobs", spare: "id" },
	{ table: "assets", spare: null },
	{ table: "api_keys", spare: null },
	{ table: "recovery_codes", spare: null },
	{ table: "passkeys", spare: null },
	{ table: "sessions", spare: null },
	{ table: "identities", spare: null },
	{ table: "users", spare: null },
	{ table: "oauth_providers", spare: null },
	{ table: "webauthn_relying_parties", spare: null },
	{ table: "events", spare: null },
	{ table: "event_sequences", spare: null },
] as const

// Kept past the tenant's deletion, each with the reason.
const KeptTenantTables = {
	audit_logs: "audit rows outlive the tenant (README: tenant deletion keeps them)",
} as const

// --- [EXPORT]

export { DeletedTenantTables, KeptTenantTables, TenantColumn }
