import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Issue 10: test and live keep separate tenant settings, so a test key (handed to front-end
 * developers and CI) can never change what live sign-ins use. `settings` stays the live document;
 * `test_settings` starts as a copy of it, so every existing tenant behaves as before in both modes.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE tenants ADD COLUMN test_settings jsonb`
  yield* sql`UPDATE tenants SET test_settings = settings`
  yield* sql`ALTER TABLE tenants ALTER COLUMN test_settings SET NOT NULL`
})
