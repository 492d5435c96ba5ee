import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { unavailable } from "../passwordless/CodeStorePg.ts"
import { decide, RateLimiter, slide } from "./RateLimiter.ts"

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  return RateLimiter.of({
    take: (tenantId, checks, nowMs) =>
      unavailable(Effect.gen(function* () {
        if (checks.length === 0) return decide([], [], nowMs)
        // One statement for every bucket: an admitted bucket drops the hits that left its window and
        // appends now; a full one is left untouched by the WHERE of DO UPDATE and is missing from RETURNING.
        const admitted = yield* sql<{ bucket: string; hits: ReadonlyArray<number> }>`
          INSERT INTO rate_limits AS r (tenant_id, bucket, hits, period_ms, lim)
          SELECT ${tenantId}, i.bucket, ARRAY[${nowMs}::float8], i.period_ms, i.lim
          FROM unnest(${checks.map((c) => c.bucket)}::text[], ${checks.map((c) => c.periodMs)}::float8[],
                      ${checks.map((c) => c.limit)}::int[]) AS i(bucket, period_ms, lim)
          ON CONFLICT (tenant_id, bucket) DO UPDATE
            SET hits = ARRAY(SELECT h FROM unnest(r.hits) AS h WHERE h > ${nowMs}::float8 - EXCLUDED.period_ms ORDER BY h)
                       || ${nowMs}::float8,
                period_ms = EXCLUDED.period_ms, lim = EXCLUDED.lim
            WHERE (SELECT count(*) FROM unnest(r.hits) AS h WHERE h > ${nowMs}::float8 - EXCLUDED.period_ms) < EXCLUDED.lim
          RETURNING bucket, hits`
        const hits = new Map(admitted.map((r) => [r.bucket, r.hits]))
        const refused = checks.filter((c) => !hits.has(c.bucket)).map((c) => c.bucket)
        const current = refused.length === 0 ? [] : yield* sql<{ bucket: string; hits: ReadonlyArray<number> }>`
          SELECT bucket, hits FROM rate_limits WHERE tenant_id = ${tenantId} AND bucket = ANY(${refused}::text[])`
        const currentHits = new Map(current.map((r) => [r.bucket, r.hits]))
        return decide(checks, checks.map((c) => {
          const after = hits.get(c.bucket)
          // admitted: `after` already holds now, so replaying it without now reproduces the outcome
          return after !== undefined
            ? slide(after.slice(0, -1), nowMs, c)
            : slide(currentHits.get(c.bucket) ?? [], nowMs, c)
        }), nowMs)
      }))
  })
})

export const layer = Layer.effect(RateLimiter)(make)
