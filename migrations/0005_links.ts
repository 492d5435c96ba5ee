import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Hosted link page (issue #7). Pressing "Continue" on `/l/{linkToken}` consumes the link and leaves a
 * one-time exchange code (60 s) that the customer's backend trades for the verify response. Only the
 * SHA-256 of the code is stored; the response it stands for is sealed (AES-256-GCM under the server
 * secret) and wiped when the code is used. The page finds a link without knowing its tenant, hence the
 * index on the hash alone.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE INDEX auth_requests_link_hash ON auth_requests (link_hash) WHERE link_hash IS NOT NULL`
  yield* sql`
    CREATE TABLE exchange_codes (
      code_hash bytea PRIMARY KEY,
      tenant_id text NOT NULL,
      mode text NOT NULL CHECK (mode IN ('live', 'test')),
      auth_request_id text NOT NULL,
      code_challenge text,
      sealed_response bytea,
      created_at timestamptz NOT NULL,
      expires_at timestamptz NOT NULL,
      used_at timestamptz
    )`
  yield* sql`CREATE INDEX exchange_codes_expires ON exchange_codes (expires_at)`
})
