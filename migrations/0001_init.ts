import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * The initial schema. Every tenant table leads its primary key with tenant_id (DESIGN.md "Storage").
 * Times are timestamptz values that the application passes in from Effect's Clock; no default or
 * condition here calls now().
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`
    CREATE TABLE tenants (
      id text PRIMARY KEY,
      name text NOT NULL,
      settings jsonb NOT NULL,
      created_at timestamptz NOT NULL
    )`
  yield* sql`
    CREATE TABLE api_keys (
      tenant_id text NOT NULL REFERENCES tenants (id),
      id text NOT NULL,
      name text NOT NULL,
      mode text NOT NULL CHECK (mode IN ('live', 'test')),
      prefix text NOT NULL,
      secret_hash bytea NOT NULL,
      scopes jsonb NOT NULL,
      ip_allowlist jsonb NOT NULL,
      expires_at timestamptz,
      created_at timestamptz NOT NULL,
      revoked_at timestamptz,
      last_used_at timestamptz,
      PRIMARY KEY (tenant_id, id)
    )`
  yield* sql`CREATE UNIQUE INDEX api_keys_secret_hash ON api_keys (secret_hash)`
  yield* sql`
    CREATE TABLE auth_requests (
      tenant_id text NOT NULL,
      id text NOT NULL,
      mode text NOT NULL,
      channel text NOT NULL,
      type text NOT NULL,
      identifier text NOT NULL,
      email text,
      phone text,
      code_hash bytea,
      code_length integer NOT NULL,
      link_hash bytea,
      code_challenge text,
      redirect_url text,
      state text,
      template text NOT NULL,
      locale text,
      metadata jsonb,
      approval jsonb,
      render_options jsonb,
      client_ip text,
      user_agent text,
      attempts integer NOT NULL,
      max_attempts integer NOT NULL,
      resends integer NOT NULL,
      last_sent_at timestamptz NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      verified_at timestamptz,
      user_id text,
      PRIMARY KEY (tenant_id, id)
    )`
  yield* sql`CREATE UNIQUE INDEX auth_requests_link ON auth_requests (tenant_id, link_hash) WHERE link_hash IS NOT NULL`
  yield* sql`CREATE INDEX auth_requests_identifier ON auth_requests (tenant_id, mode, identifier, created_at DESC)`
  yield* sql`
    CREATE TABLE identifier_failures (
      tenant_id text NOT NULL,
      mode text NOT NULL,
      identifier text NOT NULL,
      failures integer NOT NULL,
      locked_until timestamptz,
      updated_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, mode, identifier)
    )`
  yield* sql`
    CREATE TABLE users (
      tenant_id text NOT NULL,
      id text NOT NULL,
      mode text NOT NULL,
      email text,
      phone text,
      email_verified_at timestamptz,
      phone_verified_at timestamptz,
      created_at timestamptz NOT NULL,
      last_login_at timestamptz,
      PRIMARY KEY (tenant_id, id)
    )`
  yield* sql`CREATE UNIQUE INDEX users_email ON users (tenant_id, mode, email) WHERE email IS NOT NULL`
  yield* sql`CREATE UNIQUE INDEX users_phone ON users (tenant_id, mode, phone) WHERE phone IS NOT NULL`
  yield* sql`
    CREATE TABLE sessions (
      tenant_id text NOT NULL,
      id text NOT NULL,
      mode text NOT NULL,
      user_id text NOT NULL,
      amr jsonb NOT NULL,
      client_ip text,
      user_agent text,
      created_at timestamptz NOT NULL,
      last_used_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      revoked_at timestamptz,
      PRIMARY KEY (tenant_id, id)
    )`
  yield* sql`CREATE INDEX sessions_user ON sessions (tenant_id, user_id)`
  yield* sql`
    CREATE TABLE refresh_tokens (
      tenant_id text NOT NULL,
      token_hash bytea NOT NULL,
      session_id text NOT NULL,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      rotated_at timestamptz,
      PRIMARY KEY (tenant_id, token_hash)
    )`
  yield* sql`CREATE UNIQUE INDEX refresh_tokens_hash ON refresh_tokens (token_hash)`
  yield* sql`
    CREATE TABLE signing_keys (
      kid text PRIMARY KEY,
      alg text NOT NULL,
      public_jwk jsonb NOT NULL,
      private_enc bytea NOT NULL,
      created_at timestamptz NOT NULL,
      retired_at timestamptz
    )`
  yield* sql`
    CREATE TABLE messages (
      tenant_id text NOT NULL,
      id text NOT NULL,
      mode text NOT NULL,
      auth_request_id text,
      channel text NOT NULL,
      recipient text NOT NULL,
      payload_enc bytea,
      status text NOT NULL,
      provider text,
      attempts integer NOT NULL,
      last_error text,
      next_attempt_at timestamptz NOT NULL,
      locked_until timestamptz,
      expires_at timestamptz,
      created_at timestamptz NOT NULL,
      sent_at timestamptz,
      PRIMARY KEY (tenant_id, id)
    )`
  yield* sql`CREATE INDEX messages_due ON messages (next_attempt_at) WHERE status IN ('queued', 'sending')`
  yield* sql`CREATE INDEX messages_auth_request ON messages (tenant_id, auth_request_id)`
  yield* sql`CREATE INDEX messages_test_outbox ON messages (tenant_id, mode, recipient, created_at DESC)`
  yield* sql`
    CREATE TABLE events (
      tenant_id text NOT NULL,
      id text NOT NULL,
      mode text NOT NULL,
      type text NOT NULL,
      payload jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, id)
    )`
  // Sliding-log rate limits: one row per (tenant, bucket) holding the epoch-ms times of the requests
  // admitted in the current window (at most `lim` of them).
  yield* sql`
    CREATE TABLE rate_limits (
      tenant_id text NOT NULL,
      bucket text NOT NULL,
      hits double precision[] NOT NULL,
      period_ms double precision NOT NULL,
      lim integer NOT NULL,
      PRIMARY KEY (tenant_id, bucket)
    )`
  yield* sql`
    CREATE TABLE sesame_meta (
      key text PRIMARY KEY,
      value text NOT NULL
    )`
})
