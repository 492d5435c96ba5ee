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
        // One statement for every bucket. The gate admits the request only if every bucket has room
        // (a refused request is counted nowhere); ON CONFLICT's WHERE re-checks each bucket on its locked,
        // latest row, so even two racing statements can never push a bucket past its limit.
        const admitted = yield* sql<{ bucket: string; hits: ReadonlyArray<number> }>`
          WITH input AS (
            SELECT * FROM unnest(${checks.map((c) => c.bucket)}::text[], ${checks.map((c) => c.periodMs)}::float8[],
                                 ${checks.map((c) => c.limit)}::int[]) AS i(bucket, period_ms, lim)
          )
          INSERT INTO rate_limits AS r (tenant_id, bucket, hits, period_ms, lim)
          SELECT ${tenantId}, i.bucket, ARRAY[${nowMs}::float8], i.period_ms, i.lim FROM input i
          WHERE NOT EXISTS (
            SELECT 1 FROM input j JOIN rate_limits c ON c.tenant_id = ${tenantId} AND c.bucket = j.bucket
            WHERE (SELECT count(*) FROM unnest(c.hits) AS h WHERE h > ${nowMs}::float8 - j.period_ms) >= j.lim)
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
