import { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Layer, Schedule } from "effect"
import { unavailable } from "../platform/Sql.ts"
import { leased } from "./Leases.ts"
import { algorithmOf, type Check, decide, RateLimiter, slide, SLOTS, tally, type Window } from "./RateLimiter.ts"

interface Row {
  readonly bucket: string
  readonly hits: ReadonlyArray<number> | null
  readonly head: number | null
  readonly counts: ReadonlyArray<number> | null
  readonly granted: number | null
}

const windowOf = (row: Row | undefined): Window | undefined =>
  row?.head === null || row?.head === undefined || row.counts === null ? undefined : { head: Number(row.head), counts: row.counts }

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
        const logs = checks.filter((c) => algorithmOf(c) === "log")
        const wins = checks.filter((c) => algorithmOf(c) === "window")
        // ONE statement for every bucket of the request, logs and windows alike. The gate admits the
        // request only if every bucket has room (a refused request is counted nowhere); each upsert's
        // ON CONFLICT … WHERE re-checks its bucket on the locked, latest row, so even racing statements
        // from many processes can never push a bucket past its limit.
        // Only the parts this request needs: a send has logs only, a key check a window only.
        const hasLogs = logs.length > 0
        const hasWins = wins.length > 0
        const logInput = sql`li AS (
            SELECT * FROM unnest(${logs.map((c) => c.bucket)}::text[], ${logs.map((c) => c.periodMs)}::float8[],
                                 ${logs.map((c) => c.limit)}::int[]) AS i(bucket, period_ms, lim)
          ),`
        const winInput = sql`wi AS (
            SELECT * FROM unnest(${wins.map((c) => c.bucket)}::text[], ${wins.map((c) => c.periodMs / SLOTS)}::float8[],
                                 ${wins.map((c) => c.limit)}::int[], ${wins.map((c) => Math.max(1, c.reserve ?? 1))}::int[])
              AS w(bucket, slot_ms, lim, want)
          ),`
        const logsFull = sql`EXISTS (
                SELECT 1 FROM li j JOIN rate_limits c ON c.tenant_id = ${tenantId} AND c.bucket = j.bucket
                WHERE (SELECT count(*) FROM unnest(c.hits) AS h WHERE h > ${nowMs}::float8 - j.period_ms) >= j.lim)`
        const winsFull = sql`EXISTS (
                SELECT 1 FROM wi j JOIN rate_windows c ON c.tenant_id = ${tenantId} AND c.bucket = j.bucket
                WHERE sesame_window_used(c.counts, c.head, floor(${nowMs}::float8 / j.slot_ms)::bigint) >= j.lim)`
        const full = hasLogs && hasWins ? sql`${logsFull} OR ${winsFull}` : hasLogs ? logsFull : winsFull
        const logUpsert = sql`, l AS (
            INSERT INTO rate_limits AS r (tenant_id, bucket, hits, period_ms, lim)
            SELECT ${tenantId}, i.bucket, ARRAY[${nowMs}::float8], i.period_ms, i.lim FROM li i WHERE (SELECT open FROM gate)
            ON CONFLICT (tenant_id, bucket) DO UPDATE
              SET hits = ARRAY(SELECT h FROM unnest(r.hits) AS h WHERE h > ${nowMs}::float8 - EXCLUDED.period_ms ORDER BY h)
                         || ${nowMs}::float8,
                  period_ms = EXCLUDED.period_ms, lim = EXCLUDED.lim
              WHERE (SELECT count(*) FROM unnest(r.hits) AS h WHERE h > ${nowMs}::float8 - EXCLUDED.period_ms) < EXCLUDED.lim
            RETURNING r.bucket, r.hits
          )`
        const winUpsert = sql`, w AS (
            INSERT INTO rate_windows AS r (tenant_id, bucket, slot_ms, lim, head, counts, granted)
            SELECT ${tenantId}, i.bucket, i.slot_ms, i.lim, floor(${nowMs}::float8 / i.slot_ms)::bigint,
                   array_fill(0, ARRAY[${SLOTS}::int]) || LEAST(i.want, i.lim), LEAST(i.want, i.lim)
            FROM wi i WHERE (SELECT open FROM gate)
            ON CONFLICT (tenant_id, bucket) DO UPDATE
              -- EXCLUDED.granted is what this request asks for; it gets what is left, at least one
              SET counts = sesame_window_advance(r.counts, r.head, EXCLUDED.head,
                             LEAST(EXCLUDED.granted, EXCLUDED.lim - sesame_window_used(r.counts, r.head, EXCLUDED.head))),
                  granted = LEAST(EXCLUDED.granted, EXCLUDED.lim - sesame_window_used(r.counts, r.head, EXCLUDED.head)),
                  head = GREATEST(r.head, EXCLUDED.head), slot_ms = EXCLUDED.slot_ms, lim = EXCLUDED.lim
              WHERE sesame_window_used(r.counts, r.head, EXCLUDED.head) < EXCLUDED.lim
            RETURNING r.bucket, r.head, r.counts, r.granted
          )`
        const fromLogs = sql`SELECT bucket, hits, NULL::float8 AS head, NULL::int[] AS counts, NULL::int AS granted FROM l`
        const fromWins = sql`SELECT bucket, NULL::float8[] AS hits, head::float8 AS head, counts, granted FROM w`
        const admitted = yield* sql<Row>`
          WITH ${hasLogs ? logInput : sql``} ${hasWins ? winInput : sql``}
          gate AS (SELECT NOT (${full}) AS open)
          ${hasLogs ? logUpsert : sql``} ${hasWins ? winUpsert : sql``}
          ${hasLogs && hasWins ? sql`${fromLogs} UNION ALL ${fromWins}` : hasLogs ? fromLogs : fromWins}`
        const byBucket = new Map(admitted.map((r) => [r.bucket, r]))
        const refused = (list: ReadonlyArray<Check>) => list.filter((c) => !byBucket.has(c.bucket)).map((c) => c.bucket)
        const refusedLogs = refused(logs)
        const refusedWins = refused(wins)
        // Only to explain a refusal (remaining, retry time): reads, decides nothing.
        const current = new Map<string, Row>()
        if (refusedLogs.length > 0) {
          for (const r of yield* sql<Row>`SELECT bucket, hits, NULL::float8 AS head, NULL::int[] AS counts, NULL::int AS granted FROM rate_limits
            WHERE tenant_id = ${tenantId} AND bucket = ANY(${refusedLogs}::text[])`) current.set(`l:${r.bucket}`, r)
        }
        if (refusedWins.length > 0) {
          for (const r of yield* sql<Row>`SELECT bucket, NULL::float8[] AS hits, head::float8 AS head, counts, NULL::int AS granted FROM rate_windows
            WHERE tenant_id = ${tenantId} AND bucket = ANY(${refusedWins}::text[])`) current.set(`w:${r.bucket}`, r)
        }
        return decide(checks, checks.map((c) => {
          const after = byBucket.get(c.bucket)
          if (algorithmOf(c) === "log") {
            // admitted: `after` already holds now, so replaying it without now reproduces the outcome
            return after?.hits != null
              ? slide(after.hits.slice(0, -1), nowMs, c)
              : slide(current.get(`l:${c.bucket}`)?.hits ?? [], nowMs, c)
          }
          const win = windowOf(after)
          const granted = after?.granted ?? 1
          return win !== undefined
            ? tally({ head: win.head, counts: win.counts.map((n, j) => (j === SLOTS ? n - granted : n)) }, nowMs, c)
            : tally(windowOf(current.get(`w:${c.bucket}`)), nowMs, c)
        }), nowMs)
      }))
  })
})

/** Without per-process leases: every request is one statement (the contract tests, the reference). */
export const layerUnleased = Layer.effect(RateLimiter)(make)

/** What the server uses: busy window buckets take their slots from PostgreSQL in batches (Leases.ts). */
export const layer = Layer.effect(RateLimiter)(Effect.map(make, leased))
