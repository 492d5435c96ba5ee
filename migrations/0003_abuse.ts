import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Abuse controls (issue #5): slotted rate-limit windows for large limits, what the `reuse` and `keep`
 * resend strategies need on an auth request, and the audit log. Times are still parameters from
 * Effect's Clock; nothing here calls now().
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  // A window of `lim` requests per `period`, counted in equal slots of `slot_ms`: counts[n] holds the
  // hits of slot `head` (the newest), counts[n - 1] of slot head - 1, and so on. One small row per
  // bucket however large the limit (see src/limits/RateLimiter.ts for the exact semantics).
  // Rate-limit state is UNLOGGED: no WAL, so a commit that only counts a request does not wait for a
  // disk flush and the hot row of a busy key is locked for microseconds, not a fsync. The price: after a
  // PostgreSQL crash (not a clean restart) the counters start empty.
  yield* sql`ALTER TABLE rate_limits SET UNLOGGED`
  yield* sql`
    CREATE UNLOGGED TABLE rate_windows (
      tenant_id text NOT NULL,
      bucket text NOT NULL,
      slot_ms double precision NOT NULL,
      lim integer NOT NULL,
      head bigint NOT NULL,
      counts integer[] NOT NULL,
      -- how many slots the last admitted request took (a process may reserve several, Leases.ts)
      granted integer NOT NULL,
      PRIMARY KEY (tenant_id, bucket)
    )`
  // Hits still in the window at slot `cur`: slots head - n + 1 + shift … head, shift = cur - head.
  yield* sql`
    CREATE FUNCTION sesame_window_used(counts integer[], head bigint, cur bigint) RETURNS integer
    LANGUAGE sql IMMUTABLE AS $$
      SELECT COALESCE(sum(counts[j]), 0)::integer
      FROM generate_series(LEAST(GREATEST(cur - head, 0), array_length(counts, 1)) + 1, array_length(counts, 1)) AS j
    $$`
  // The window moved on to slot `cur` (never backwards), with `hits` more in its newest slot.
  yield* sql`
    CREATE FUNCTION sesame_window_advance(counts integer[], head bigint, cur bigint, hits integer) RETURNS integer[]
    LANGUAGE sql IMMUTABLE AS $$
      SELECT ARRAY(
        SELECT CASE WHEN j + s <= n THEN counts[j + s] ELSE 0 END + CASE WHEN j = n THEN hits ELSE 0 END
        FROM generate_series(1, n) AS j ORDER BY j)
      FROM (SELECT array_length(counts, 1) AS n, LEAST(GREATEST(cur - head, 0), array_length(counts, 1)) AS s) AS x
    $$`
  // resendStrategy "reuse": the credentials, AES-256-GCM under SESAME_SECRET with the request id as AAD.
  yield* sql`ALTER TABLE auth_requests ADD COLUMN sealed_credentials bytea`
  // resendStrategy "keep": earlier codes and links of the request stay valid until it expires.
  yield* sql`ALTER TABLE auth_requests ADD COLUMN kept_code_hashes bytea[] NOT NULL DEFAULT '{}'`
  yield* sql`ALTER TABLE auth_requests ADD COLUMN kept_link_hashes bytea[] NOT NULL DEFAULT '{}'`
  yield* sql`CREATE INDEX auth_requests_kept_links ON auth_requests USING gin (kept_link_hashes)`
  // Security events. `mode` is null for tenant-wide events (settings), visible to both key modes.
  yield* sql`
    CREATE TABLE audit_log (
      tenant_id text NOT NULL,
      seq bigint GENERATED ALWAYS AS IDENTITY,
      id text NOT NULL,
      mode text,
      type text NOT NULL,
      actor text,
      ip text,
      request_id text,
      subject text,
      details jsonb NOT NULL,
      created_at timestamptz NOT NULL,
      PRIMARY KEY (tenant_id, seq)
    )`
})
