import { Effect } from "effect"
import { SqlClient } from "effect/sql"

/**
 * Issue 11: sends and verifies are one statement each.
 * - `sesame_refuse(reason)` aborts a statement with SQLSTATE SE429 (limits/LimitSql.ts): a request
 *   whose limits a racing request filled between the gate and the upserts changes nothing at all.
 * - The identifier index leads with the identifier, not the mode: without statistics the planner took
 *   the old (tenant_id, mode, …) index for the consume `WHERE tenant_id AND mode AND id` and filtered
 *   every row of the tenant (bench/RESULTS.md, 9.95 ms against 0.056 ms at 20k rows). The new order
 *   still serves `latestFor` (tenant, identifier, mode, newest first).
 */
export default Effect.gen(function* () {
  const sql = yield* SqlClient.SqlClient
  yield* sql`CREATE FUNCTION sesame_refuse(reason text) RETURNS int LANGUAGE plpgsql AS $$
    BEGIN
      RAISE EXCEPTION USING ERRCODE = 'SE429', MESSAGE = reason;
    END $$`
  yield* sql`DROP INDEX auth_requests_identifier`
  yield* sql`CREATE INDEX auth_requests_identifier ON auth_requests (tenant_id, identifier, mode, created_at DESC)`
})
