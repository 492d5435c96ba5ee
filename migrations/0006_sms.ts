import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * SMS risk (issue #4): the score in [0,1] and the signals that produced it, stored on the auth request
 * an SMS send created, so a later review sees why a send was flagged. Null for email requests.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE auth_requests ADD COLUMN risk_score real`
  yield* sql`ALTER TABLE auth_requests ADD COLUMN risk_signals jsonb`
})
