import { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Layer, Schedule } from "effect"
import { unavailable } from "../platform/Sql.ts"
import { leased } from "./Leases.ts"
import { isSqlError } from "effect/sql/SqlError"
import { currentRows, decisionOf, isRefusal, limitSql, type LimitRow, refusalOf } from "./LimitSql.ts"
import { decide, RateLimiter } from "./RateLimiter.ts"

/**
 * Buckets with nothing left in their window (a log whose newest hit, or a window whose newest slot, has
 * left the period) are deleted in the background, a bounded batch at a time, so one row per email or
 * address ever seen does not pile up. Deleting an empty bucket changes no decision: a missing row and
 * a row with no live hits admit alike, and a racing upsert simply inserts the row again.
 */
export const sweep = (sql: PgClient.PgClient) =>
  Effect.gen(function* () {
    const now = yield* Clock.currentTimeMillis
    yield* sql`DELETE FROM rate_limits WHERE (tenant_id, bucket) IN (
      SELECT tenant_id, bucket FROM rate_limits WHERE hits[cardinality(hits)] <= ${now}::float8 - period_ms LIMIT 5000)`
    yield* sql`DELETE FROM rate_windows WHERE (tenant_id, bucket) IN (
      SELECT tenant_id, bucket FROM rate_windows WHERE (head + cardinality(counts)) * slot_ms <= ${now}::float8 LIMIT 5000)`
  }).pipe(Effect.catch((error) => Effect.logWarning("rate-limit sweep failed", error)))

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  yield* Effect.forkScoped(Effect.repeat(Effect.delay(sweep(sql), "1 minute"), Schedule.forever))
  return RateLimiter.of({
    take: (tenantId, checks, nowMs) =>
      unavailable(Effect.gen(function* () {
        if (checks.length === 0) return decide([], [], nowMs)
        // ONE statement for every bucket of the request (LimitSql.ts); a statement a racing request
        // made partial is aborted as a whole and counts as refused.
        const limits = limitSql(sql, tenantId, checks, nowMs)
        const admitted = yield* sql<LimitRow>`WITH ${limits.ctes}
          SELECT * FROM (${limits.rows}) AS lim_rows WHERE ${limits.partial} = 0`.pipe(
          Effect.catchIf(isSqlError, (error) => isRefusal(error) ? Effect.succeed([]) : Effect.fail(error))
        )
        if (admitted.length === checks.length) return decisionOf(checks, admitted, new Map(), nowMs)
        return refusalOf(checks, yield* currentRows(sql, tenantId, checks, []), nowMs)
      }))
  })
})

/** Without per-process leases: every request is one statement (the contract tests, the reference). */
export const layerUnleased = Layer.effect(RateLimiter)(make)

/** What the server uses: busy window buckets take their slots from PostgreSQL in batches (Leases.ts). */
export const layer = Layer.effect(RateLimiter)(Effect.map(make, leased))
