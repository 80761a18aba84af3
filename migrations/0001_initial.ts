// Base schema. Applied migrations are frozen, so CHECK lists are literal; a test reads them back from pg_constraint
// and compares them with the Schema literals' arrays (seed C1–C3, G9), so a new value needs a new migration. Every
// tenant-scoped table carries `app_id` and is indexed by it.
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"

// --- [FUNCTIONS]

const initial = Effect.gen(function* () {
	const sql = yield* SqlClient.SqlClient
	yield* sql.unsafe(`
		CREATE TABLE apps (
			id uuid PRIMARY KEY,
			slug text NOT NULL UNIQUE CHECK (slug ~ '^[a-z0-9-]{3,63}$'),
			name text NOT NULL,
			status text NOT NULL CONSTRAINT apps_status_check CHECK (status IN ('provisioning', 'active', 'suspended', 'deleting', 'deleted')),
			settings jsonb NOT NULL DEFAULT '{}'::jsonb,
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now()
		);

		CREATE TABLE users (
			id uuid PRIMARY KEY,
			app_id uuid NOT NULL REFERENCES apps (id),
			email text,
			display_name text,
			status text NOT NULL CONSTRAINT users_status_check CHECK (status IN ('active', 'deactivated')),
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE UNIQUE INDEX users_app_email ON users (app_id, lower(email)) WHERE email IS NOT NULL;

		CREATE TABLE audit_logs (
			id bigserial PRIMARY KEY,
			app_id uuid,
			actor text NOT NULL,
			operation text NOT NULL CONSTRAINT audit_logs_operation_check CHECK (operation IN ('create', 'update', 'delete', 'sign', 'upload', 'enroll', 'disable', 'suspend', 'activate', 'login', 'logout', 'revoke', 'rotate', 'evict', 'link', 'unlink', 'deactivate', 'retry', 'drop', 'cancel', 'reencrypt', 'purge')),
			subject_type text NOT NULL,
			subject_id text NOT NULL,
			request_id text,
			ip_address text,
			user_agent text,
			details jsonb NOT NULL DEFAULT '{}'::jsonb,
			created_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX audit_logs_app_created ON audit_logs (app_id, created_at);
		CREATE INDEX audit_logs_request ON audit_logs (request_id);

		CREATE TABLE jobs (
			id uuid PRIMARY KEY,
			app_id uuid NOT NULL REFERENCES apps (id),
			type text NOT NULL,
			status text NOT NULL CONSTRAINT jobs_status_check CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead_lettered', 'cancelled')),
			payload jsonb NOT NULL,
			dedupe_key text,
			execution_id text,
			attempts integer NOT NULL DEFAULT 0,
			request_id text,
			ip_address text,
			user_agent text,
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now(),
			finished_at timestamptz
		);
		CREATE UNIQUE INDEX jobs_app_dedupe ON jobs (app_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
		CREATE INDEX jobs_app_status ON jobs (app_id, status, created_at);

		CREATE TABLE job_dlq (
			id uuid PRIMARY KEY,
			app_id uuid NOT NULL REFERENCES apps (id),
			job_id uuid NOT NULL REFERENCES jobs (id),
			type text NOT NULL,
			error_reason text NOT NULL CONSTRAINT job_dlq_error_reason_check CHECK (error_reason IN ('ValidationFailed', 'MaxAttemptsExceeded', 'Timeout', 'NonRetryable', 'Cancelled', 'WorkerLost')),
			last_error text,
			attempts jsonb NOT NULL DEFAULT '[]'::jsonb,
			request_id text,
			ip_address text,
			user_agent text,
			created_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX job_dlq_app_created ON job_dlq (app_id, created_at);

		CREATE TABLE assets (
			id uuid PRIMARY KEY,
			app_id uuid NOT NULL REFERENCES apps (id),
			key text NOT NULL,
			content_type text NOT NULL,
			size bigint NOT NULL CHECK (size >= 0),
			hash text CONSTRAINT assets_hash_check CHECK (hash IS NULL OR hash ~ '^[0-9a-f]{64}$'),
			created_at timestamptz NOT NULL DEFAULT now(),
			updated_at timestamptz NOT NULL DEFAULT now(),
			UNIQUE (app_id, key)
		);

		CREATE TABLE events (
			id bigserial PRIMARY KEY,
			app_id uuid,
			type text NOT NULL,
			correlation_id text,
			payload jsonb NOT NULL DEFAULT '{}'::jsonb,
			created_at timestamptz NOT NULL DEFAULT now()
		);
		CREATE INDEX events_app_id ON events (app_id, id);
	`)
})

// --- [EXPORT]

export { initial }
