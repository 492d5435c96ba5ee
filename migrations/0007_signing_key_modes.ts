import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Issue 10: live and test are separate token issuers with separate signing keys. Every key until now
 * signed live sign-ins (and test ones with them): those keys stay live; test mode gets its own keys
 * at the next start. No default afterwards, so every insert names its mode.
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`ALTER TABLE signing_keys ADD COLUMN mode text NOT NULL DEFAULT 'live' CHECK (mode IN ('live', 'test'))`
  yield* sql`ALTER TABLE signing_keys ALTER COLUMN mode DROP DEFAULT`
})
