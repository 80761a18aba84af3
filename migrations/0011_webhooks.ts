// Webhooks: a tenant's endpoints (URL, the event types they take, the signing secret sealed with the key ring, and
// during a rotation the previous one until its grace ends), the log of every attempt to reach one, and the dispatch
// cursor of each endpoint (the last event `seq` handed to deliveries, and its generation: a replay starts a new one).
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// --- [FUNCTIONS]

const webhooks = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		CREATE TABLE webhook_endpoints (
			app_id uuid NOT NULL REFERENCES apps (id),
			id uuid NOT NULL,
			url text NOT NULL,
			event_types text[] NOT NULL,
			description text,
			status text NOT NULL
				CHECK (status IN ('pending_verification', 'active', 'failing', 'disabled')),
			secret_enc text NOT NULL,
			previous_secret_enc text,
			previous_secret_until timestamptz,
			consecutive_failures integer NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0),
			failing_since timestamptz,
			last_failure_at timestamptz,
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now(),
			PRIMARY KEY (app_id, id)
		);
		CREATE INDEX webhook_endpoints_app_created ON webhook_endpoints (app_id, created_at, id);

		CREATE TABLE webhook_attempts (
			id bigserial PRIMARY KEY,
			app_id uuid NOT NULL REFERENCES apps (id),
			endpoint_id uuid NOT NULL,
			webhook_id text NOT NULL,
			event_type text NOT NULL,
			event_seq bigint,
			attempt integer NOT NULL CHECK (attempt >= 1),
			status_code integer,
			duration_ms integer NOT NULL CHECK (duration_ms >= 0),
			error text,
			created_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX webhook_attempts_endpoint ON webhook_attempts (app_id, endpoint_id, id);

		CREATE TABLE webhook_cursors (
			app_id uuid NOT NULL REFERENCES apps (id),
			endpoint_id uuid NOT NULL,
			last_seq bigint NOT NULL DEFAULT 0 CHECK (last_seq >= 0),
			generation integer NOT NULL DEFAULT 0 CHECK (generation >= 0),
			PRIMARY KEY (app_id, endpoint_id)
		);
	`)
})

// --- [EXPORT]

export { webhooks }
