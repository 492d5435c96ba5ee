import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Refresh rotation and session management (issue #3). `replaced_by` names the successor of a rotated
 * refresh token: the rotation writes it with COALESCE, so the one request whose successor it holds is
 * the one that rotated (RFC 9700 §4.14.2), whatever the number of concurrent refreshes.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE refresh_tokens ADD COLUMN replaced_by bytea`
  yield* sql`CREATE INDEX refresh_tokens_session ON refresh_tokens (tenant_id, session_id)`
  yield* sql`CREATE INDEX events_user ON events (tenant_id, (payload->>'userId'))`
})
