import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Issue 14 (the operator console, src/console/): the people who may sign in to `/console`, their
 * sessions (only the token's SHA-256 is kept) and the one tenant whose passwordless flow signs them in.
 * An operator's email is unique among those not removed; a removed operator keeps their row so the
 * audit log's references stay readable.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE console_operators (
      id text PRIMARY KEY,
      email text NOT NULL,
      role text NOT NULL CHECK (role IN ('owner', 'admin', 'viewer')),
      created_at timestamptz NOT NULL,
      removed_at timestamptz
    )`
  yield* sql`CREATE UNIQUE INDEX console_operators_email ON console_operators (email) WHERE removed_at IS NULL`
  yield* sql`
    CREATE TABLE console_sessions (
      id text PRIMARY KEY,
      operator_id text NOT NULL REFERENCES console_operators (id),
      token_hash bytea NOT NULL UNIQUE,
      ip text,
      user_agent text,
      created_at timestamptz NOT NULL,
      last_seen_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz
    )`
  yield* sql`CREATE INDEX console_sessions_operator ON console_sessions (operator_id)`
  // A single row: the tenant that signs operators in (created by the first `sesame operator add`).
  yield* sql`
    CREATE TABLE console_system (
      singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
      tenant_id text NOT NULL REFERENCES tenants (id)
    )`
})
