import type { PgClient } from "@effect/sql-pg"
import { Effect } from "effect"
import type { SqlError } from "effect/sql/SqlError"
import type { Fragment } from "effect/sql/Statement"
import type { TenantId } from "../domain/Ids.ts"
import { algorithmOf, type Check, type Decision, decide, slide, SLOTS, tally, type Window } from "./RateLimiter.ts"

/**
 * The rate limiter as SQL pieces, so that a request's limits are counted in the same statement as the
 * write they guard (a send's auth request and outbox row, a verify's consume): no round trip and no
 * commit of their own. `RateLimiterPg.take` runs them alone.
 *
 * `ctes` is a list of CTEs (no leading WITH, ending without a comma) that counts the request against
 * every check iff every bucket has room; `admitted` is a scalar SQL expression, true when every check
 * admitted it; `rows` selects what each admitted bucket holds now (for X-RateLimit-*); `partial` is a
 * scalar expression that aborts the whole statement (SQLSTATE SE429) when some buckets admitted and a
 * racing statement filled another one meanwhile — so a refused request is counted nowhere, and what the
 * statement guards is written only with every bucket counted. Each upsert's ON CONFLICT … WHERE
 * re-checks its bucket on the locked, latest row, so racing statements from many processes never push
 * a bucket past its limit.
 */
export interface LimitSql {
  readonly ctes: Fragment
  readonly admitted: Fragment
  readonly rows: Fragment
  readonly partial: Fragment
}

/** A bucket as the statement returns it. */
export interface LimitRow {
  readonly bucket: string
  readonly hits: ReadonlyArray<number> | null
  readonly head: number | null
  readonly counts: ReadonlyArray<number> | null
  readonly granted: number | null
}

/** The SQLSTATE `sesame_refuse` raises (migration 0009): the statement changed nothing. */
export const REFUSED = "SE429"

export const isRefusal = (error: SqlError): boolean => {
  const cause: unknown = error.reason.cause
  return typeof cause === "object" && cause !== null && "code" in cause && cause.code === REFUSED
}

export const limitSql = (sql: PgClient.PgClient, tenantId: TenantId, checks: ReadonlyArray<Check>, nowMs: number): LimitSql => {
  const logs = checks.filter((c) => algorithmOf(c) === "log")
  const wins = checks.filter((c) => algorithmOf(c) === "window")
  const hasLogs = logs.length > 0
  const hasWins = wins.length > 0
  const logInput = sql`lim_li AS (
      SELECT * FROM unnest(${logs.map((c) => c.bucket)}::text[], ${logs.map((c) => c.periodMs)}::float8[],
                           ${logs.map((c) => c.limit)}::int[]) AS i(bucket, period_ms, lim)
    )`
  const winInput = sql`lim_wi AS (
      SELECT * FROM unnest(${wins.map((c) => c.bucket)}::text[], ${wins.map((c) => c.periodMs / SLOTS)}::float8[],
                           ${wins.map((c) => c.limit)}::int[], ${wins.map((c) => Math.max(1, c.reserve ?? 1))}::int[])
        AS w(bucket, slot_ms, lim, want)
    )`
  // LATERAL … LIMIT 1 (which the planner cannot flatten): one primary-key look-up per bucket, whatever
  // the plan. A plain join let the generic plan hash-join every bucket row of the tenant: a scan that
  // grew with every address ever seen (2 ms a send after a few thousand sends).
  const logsFull = sql`EXISTS (
          SELECT 1 FROM lim_li j, LATERAL (SELECT c.hits FROM rate_limits c WHERE c.tenant_id = ${tenantId} AND c.bucket = j.bucket LIMIT 1) c
          WHERE (SELECT count(*) FROM unnest(c.hits) AS h WHERE h > ${nowMs}::float8 - j.period_ms) >= j.lim)`
  const winsFull = sql`EXISTS (
          SELECT 1 FROM lim_wi j, LATERAL (SELECT c.counts, c.head FROM rate_windows c WHERE c.tenant_id = ${tenantId} AND c.bucket = j.bucket LIMIT 1) c
          WHERE sesame_window_used(c.counts, c.head, floor(${nowMs}::float8 / j.slot_ms)::bigint) >= j.lim)`
  const full = hasLogs && hasWins ? sql`${logsFull} OR ${winsFull}` : hasLogs ? logsFull : winsFull
  const logUpsert = sql`lim_l AS (
      INSERT INTO rate_limits AS r (tenant_id, bucket, hits, period_ms, lim)
      SELECT ${tenantId}, i.bucket, ARRAY[${nowMs}::float8], i.period_ms, i.lim FROM lim_li i WHERE (SELECT open FROM lim_gate)
      ON CONFLICT (tenant_id, bucket) DO UPDATE
        SET hits = ARRAY(SELECT h FROM unnest(r.hits) AS h WHERE h > ${nowMs}::float8 - EXCLUDED.period_ms ORDER BY h)
                   || ${nowMs}::float8,
            period_ms = EXCLUDED.period_ms, lim = EXCLUDED.lim
        WHERE (SELECT count(*) FROM unnest(r.hits) AS h WHERE h > ${nowMs}::float8 - EXCLUDED.period_ms) < EXCLUDED.lim
      RETURNING r.bucket, r.hits
    )`
  const winUpsert = sql`lim_w AS (
      INSERT INTO rate_windows AS r (tenant_id, bucket, slot_ms, lim, head, counts, granted)
      SELECT ${tenantId}, i.bucket, i.slot_ms, i.lim, floor(${nowMs}::float8 / i.slot_ms)::bigint,
             array_fill(0, ARRAY[${SLOTS}::int]) || LEAST(i.want, i.lim), LEAST(i.want, i.lim)
      FROM lim_wi i WHERE (SELECT open FROM lim_gate)
      ON CONFLICT (tenant_id, bucket) DO UPDATE
        -- EXCLUDED.granted is what this request asks for; it gets what is left, at least one
        SET counts = sesame_window_advance(r.counts, r.head, EXCLUDED.head,
                       LEAST(EXCLUDED.granted, EXCLUDED.lim - sesame_window_used(r.counts, r.head, EXCLUDED.head))),
            granted = LEAST(EXCLUDED.granted, EXCLUDED.lim - sesame_window_used(r.counts, r.head, EXCLUDED.head)),
            head = GREATEST(r.head, EXCLUDED.head), slot_ms = EXCLUDED.slot_ms, lim = EXCLUDED.lim
        WHERE sesame_window_used(r.counts, r.head, EXCLUDED.head) < EXCLUDED.lim
      RETURNING r.bucket, r.head, r.counts, r.granted
    )`
  const fromLogs = sql`SELECT bucket, hits, NULL::float8 AS head, NULL::int[] AS counts, NULL::int AS granted FROM lim_l`
  const fromWins = sql`SELECT bucket, NULL::float8[] AS hits, head::float8 AS head, counts, granted FROM lim_w`
  if (checks.length === 0) {
    return {
      ctes: sql`lim_none AS (SELECT 1)`,
      admitted: sql`TRUE`,
      rows: sql`SELECT NULL::text AS bucket, NULL::float8[] AS hits, NULL::float8 AS head, NULL::int[] AS counts, NULL::int AS granted WHERE FALSE`,
      partial: sql`0`
    }
  }
  const count = hasLogs && hasWins
    ? sql`((SELECT count(*) FROM lim_l) + (SELECT count(*) FROM lim_w))`
    : hasLogs ? sql`(SELECT count(*) FROM lim_l)` : sql`(SELECT count(*) FROM lim_w)`
  const ctes = [
    ...(hasLogs ? [logInput] : []),
    ...(hasWins ? [winInput] : []),
    sql`lim_gate AS (SELECT NOT (${full}) AS open)`,
    ...(hasLogs ? [logUpsert] : []),
    ...(hasWins ? [winUpsert] : [])
  ]
  return {
    ctes: sql.csv(ctes),
    admitted: sql`(${count} = ${checks.length})`,
    rows: hasLogs && hasWins ? sql`${fromLogs} UNION ALL ${fromWins}` : hasLogs ? fromLogs : fromWins,
    partial: sql`(SELECT CASE WHEN c > 0 AND c < ${checks.length} THEN sesame_refuse('rate limit taken by a racing request') ELSE 0 END
      FROM (SELECT ${count} AS c) AS lim_count)`
  }
}

/**
 * The decision from what the statement returned: `admitted` rows (buckets that counted this request)
 * and, only to explain a refusal (remaining, retry time), the buckets' current rows — read after the
 * fact; they decide nothing.
 */
export const decisionOf = (
  checks: ReadonlyArray<Check>,
  admitted: ReadonlyArray<LimitRow>,
  current: ReadonlyMap<string, LimitRow>,
  nowMs: number
): Decision => {
  const byBucket = new Map(admitted.map((r) => [r.bucket, r]))
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
}

/**
 * The decision for a request the statement did not admit, explained from the buckets' current rows.
 * If time (or a racing request that has since left the window) freed room meanwhile, the rows would
 * say "allowed" — but nothing was counted, so it stays refused: retry in a second.
 */
export const refusalOf = (checks: ReadonlyArray<Check>, current: ReadonlyMap<string, LimitRow>, nowMs: number): Decision => {
  const decision = decisionOf(checks, [], current, nowMs)
  return decision.allowed ? { ...decision, allowed: false, retryAfterMs: 1000, granted: checks.map(() => 0) } : decision
}

const windowOf = (row: LimitRow | undefined): Window | undefined =>
  row?.head === null || row?.head === undefined || row.counts === null ? undefined : { head: Number(row.head), counts: row.counts }

/** Reads the refused buckets' rows (keyed `l:` / `w:` + bucket) to explain a refusal. */
export const currentRows = (
  sql: PgClient.PgClient,
  tenantId: TenantId,
  checks: ReadonlyArray<Check>,
  admitted: ReadonlyArray<LimitRow>
): Effect.Effect<ReadonlyMap<string, LimitRow>, SqlError> =>
  Effect.gen(function* () {
    const taken = new Set(admitted.map((r) => r.bucket))
    const refusedLogs = checks.filter((c) => algorithmOf(c) === "log" && !taken.has(c.bucket)).map((c) => c.bucket)
    const refusedWins = checks.filter((c) => algorithmOf(c) === "window" && !taken.has(c.bucket)).map((c) => c.bucket)
    const current = new Map<string, LimitRow>()
    if (refusedLogs.length > 0) {
      for (const r of yield* sql<LimitRow>`SELECT bucket, hits, NULL::float8 AS head, NULL::int[] AS counts, NULL::int AS granted
        FROM rate_limits WHERE tenant_id = ${tenantId} AND bucket = ANY(${refusedLogs}::text[])`) current.set(`l:${r.bucket}`, r)
    }
    if (refusedWins.length > 0) {
      for (const r of yield* sql<LimitRow>`SELECT bucket, NULL::float8[] AS hits, head::float8 AS head, counts, NULL::int AS granted
        FROM rate_windows WHERE tenant_id = ${tenantId} AND bucket = ANY(${refusedWins}::text[])`) current.set(`w:${r.bucket}`, r)
    }
    return current
  })
