import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Webhooks (issue #6). Events stay the transactional outbox: whatever caused an event writes it in
 * its own transaction; `dispatched_at` marks the events a worker has already fanned out into one
 * `webhook_deliveries` row per subscribed endpoint. The unique (endpoint, event) pair makes the
 * fan-out idempotent, and each delivery's attempts are kept for the delivery log.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE events ADD COLUMN dispatched_at timestamptz`
  // Events from before webhooks existed have no endpoint to go to.
  yield* sql`UPDATE events SET dispatched_at = created_at`
  yield* sql`CREATE INDEX events_undispatched ON events (created_at) WHERE dispatched_at IS NULL`
  yield* sql`
    CREATE TABLE webhook_endpoints (
      tenant_id text NOT NULL,
      id text NOT NULL,
      mode text NOT NULL CHECK (mode IN ('live', 'test')),
      url text NOT NULL,
      description text,
      events jsonb NOT NULL,
      auth1_signature boolean NOT NULL,
      secret_enc bytea NOT NULL,
      previous_secret_enc bytea,
      previous_secret_expires_at timestamptz,
      status text NOT NULL CHECK (status IN ('enabled', 'disabled')),
      disabled_at timestamptz,
      disabled_reason text,
      failing_since timestamptz,
      created_at timestamptz NOT NULL,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, id)
    )`
  yield* sql`
    CREATE TABLE webhook_deliveries (
      tenant_id text NOT NULL,
      id text NOT NULL,
      endpoint_id text NOT NULL,
      event_id text NOT NULL,
      event_type text NOT NULL,
      status text NOT NULL CHECK (status IN ('pending', 'sending', 'succeeded', 'failed')),
      attempts integer NOT NULL,
      next_attempt_at timestamptz NOT NULL,
      locked_until timestamptz,
      last_status_code integer,
      last_error text,
      created_at timestamptz NOT NULL,
      completed_at timestamptz,
      PRIMARY KEY (tenant_id, id),
      UNIQUE (tenant_id, endpoint_id, event_id),
      FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
    )`
  yield* sql`CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status IN ('pending', 'sending')`
  yield* sql`CREATE INDEX webhook_deliveries_log ON webhook_deliveries (tenant_id, endpoint_id, created_at DESC, id DESC)`
  yield* sql`
    CREATE TABLE webhook_attempts (
      tenant_id text NOT NULL,
      delivery_id text NOT NULL,
      attempt integer NOT NULL,
      started_at timestamptz NOT NULL,
      status_code integer,
      latency_ms integer NOT NULL,
      error text,
      PRIMARY KEY (tenant_id, delivery_id, attempt),
      FOREIGN KEY (tenant_id, delivery_id) REFERENCES webhook_deliveries (tenant_id, id) ON DELETE CASCADE
    )`
})
