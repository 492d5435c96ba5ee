/**
 * The console overview's numbers (#14): read-only SQL over what sends, verifies, the risk checks and
 * the delivery worker already record, for every tenant at once, one statement per kind of row. Each
 * statement is bounded by the window through an index on a time column (messages_created,
 * auth_requests_expires, audit_log_created, events_created) or reads the outbox's partial index
 * (messages_due); the window's bounds come from Effect's Clock, never the database's now().
 */
import { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Schema } from "effect"
import type { Mode } from "../domain/Ids.ts"
import { unavailable } from "../platform/Sql.ts"

export type Range = "24h" | "7d"

const HOUR_MS = 3_600_000
const DAY_MS = 24 * HOUR_MS

/**
 * The last 24 hours in whole UTC hours (the current one so far), or the last 7 days in whole UTC
 * days: bars of equal width that line up with the clock.
 */
export interface Window {
  readonly range: Range
  readonly since: Date
  readonly until: Date
  readonly bucketMs: number
  readonly buckets: number
}

export const windowOf = (range: Range, nowMs: number): Window => {
  const bucketMs = range === "24h" ? HOUR_MS : DAY_MS
  const buckets = range === "24h" ? 24 : 7
  const since = Math.floor(nowMs / bucketMs) * bucketMs - (buckets - 1) * bucketMs
  return { range, since: new Date(since), until: new Date(nowMs), bucketMs, buckets }
}

/**
 * What went wrong, by the API's error code: wrong guesses, requests locked by them, identifiers
 * locked, requests that expired unused, rate-limit refusals (the audit log samples these: at most one
 * per limit a minute in each process), sends refused by the SMS risk checks, messages that failed.
 */
export const FAILURE_CODES = [
  "CODE_INVALID", "TOO_MANY_ATTEMPTS", "CODE_EXPIRED", "IDENTIFIER_LOCKED", "RATE_LIMITED", "RISK_BLOCKED",
  "VOIP_NOT_ALLOWED", "DELIVERY_FAILED"
] as const
export type FailureCode = typeof FAILURE_CODES[number]

const AUDIT_CODES: Readonly<Record<string, FailureCode>> = {
  "login.failed": "CODE_INVALID",
  "auth_request.locked": "TOO_MANY_ATTEMPTS",
  "identifier.locked": "IDENTIFIER_LOCKED",
  "rate_limited": "RATE_LIMITED"
}

export interface ChannelCounts {
  readonly email: number
  readonly sms: number
}

export interface TenantStats {
  /** Messages written (sends and resends), by channel; a decoy's suppressed message is not a send. */
  readonly sends: ChannelCounts
  /** `sends` in each of the window's buckets, oldest first. */
  readonly perBucket: ReadonlyArray<ChannelCounts>
  /** Decoys' messages (sign-up off, unknown address): nothing was sent. */
  readonly suppressed: number
  /** Auth requests created in the window, and how many of those were verified. */
  readonly created: number
  readonly createdVerified: number
  /** Auth requests verified in the window (whenever they were created). */
  readonly verified: number
  readonly failures: Readonly<Record<FailureCode, number>>
  /** SMS sends the risk checks refused, by reason (premium_rate, voip_blocked, risk_score…). */
  readonly riskBlocks: Readonly<Record<string, number>>
  /** Messages of the window that the worker gave up on, and those that expired before delivery. */
  readonly deliveryFailed: number
  readonly skipped: number
  /** Messages not yet sent (any age) and the oldest one's creation. */
  readonly queue: { readonly depth: number; readonly oldest: Date | null }
}

export interface Overview {
  readonly mode: Mode
  readonly window: Window
  /** Tenants with something to show, by id; the others have `emptyStats`. */
  readonly tenants: ReadonlyMap<string, TenantStats>
}


export const riskBlockTotal = (stats: TenantStats): number => Object.values(stats.riskBlocks).reduce((a, b) => a + b, 0)
export const failureTotal = (stats: TenantStats): number => FAILURE_CODES.reduce((sum, code) => sum + stats.failures[code], 0)
export const hasActivity = (stats: TenantStats): boolean =>
  stats.sends.email + stats.sends.sms + stats.suppressed + stats.created + stats.verified + failureTotal(stats) + stats.queue.depth > 0

const MessageRow = Schema.Struct({
  tenantId: Schema.String, channel: Schema.String, bucket: Schema.Number,
  sent: Schema.Number, suppressed: Schema.Number, failed: Schema.Number, skipped: Schema.Number
})
const RequestRow = Schema.Struct({
  tenantId: Schema.String, created: Schema.Number, createdVerified: Schema.Number, verified: Schema.Number, expired: Schema.Number
})
const CountRow = Schema.Struct({ tenantId: Schema.String, key: Schema.String, n: Schema.Number })
const QueueRow = Schema.Struct({ tenantId: Schema.String, depth: Schema.Number, oldest: Schema.NullOr(Schema.Date) })
const TenantRow = Schema.Struct({ id: Schema.String, name: Schema.String })

/** A tenant's numbers while the rows are added up. */
interface Acc {
  sends: { email: number; sms: number }
  perBucket: Array<{ email: number; sms: number }>
  suppressed: number
  created: number
  createdVerified: number
  verified: number
  failures: Record<FailureCode, number>
  riskBlocks: Record<string, number>
  deliveryFailed: number
  skipped: number
  queue: { readonly depth: number; readonly oldest: Date | null }
}

const zeros = (): Record<FailureCode, number> => ({
  CODE_INVALID: 0, TOO_MANY_ATTEMPTS: 0, CODE_EXPIRED: 0, IDENTIFIER_LOCKED: 0, RATE_LIMITED: 0, RISK_BLOCKED: 0,
  VOIP_NOT_ALLOWED: 0, DELIVERY_FAILED: 0
})

const accumulator = (window: Window): Acc => ({
  sends: { email: 0, sms: 0 },
  perBucket: Array.from({ length: window.buckets }, () => ({ email: 0, sms: 0 })),
  suppressed: 0, created: 0, createdVerified: 0, verified: 0, failures: zeros(),
  riskBlocks: {}, deliveryFailed: 0, skipped: 0, queue: { depth: 0, oldest: null }
})

export const emptyStats = (window: Window): TenantStats => accumulator(window)

/** Rows we wrote ourselves that do not decode are a bug (a defect), not a failure to show. */
const decoded = <S extends Schema.Top & { readonly DecodingServices: never }>(schema: S) => {
  const decode = Schema.decodeUnknownEffect(Schema.Array(schema))
  return <E, R>(query: Effect.Effect<ReadonlyArray<unknown>, E, R>) => Effect.flatMap(query, (rows) => Effect.orDie(decode(rows)))
}

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient

  /** Every tenant, oldest first. */
  const tenants = unavailable(decoded(TenantRow)(sql`SELECT id, name FROM tenants ORDER BY created_at, id`))

  const overview = Effect.fn("ConsoleStats.overview")(function* (mode: Mode, range: Range) {
    const window = windowOf(range, yield* Clock.currentTimeMillis)
    const { since, until } = window
    const bucket = sql`floor((extract(epoch FROM created_at)::float8 * 1000 - ${since.getTime()}::float8) / ${window.bucketMs}::float8)::int`
    const [messages, requests, audits, risks, queues] = yield* unavailable(Effect.all([
      decoded(MessageRow)(sql`
        SELECT tenant_id, channel, ${bucket} AS bucket,
          count(*) FILTER (WHERE status <> 'suppressed')::int AS sent,
          count(*) FILTER (WHERE status = 'suppressed')::int AS suppressed,
          count(*) FILTER (WHERE status = 'failed')::int AS failed,
          count(*) FILTER (WHERE status = 'skipped')::int AS skipped
        FROM messages WHERE mode = ${mode} AND created_at >= ${since} AND created_at <= ${until}
        GROUP BY 1, 2, 3`),
      // A request created or verified in the window expires after the window began (verified_at and
      // created_at both precede expires_at): the expiry index bounds the read.
      decoded(RequestRow)(sql`
        SELECT tenant_id,
          count(*) FILTER (WHERE created_at >= ${since})::int AS created,
          count(*) FILTER (WHERE created_at >= ${since} AND verified_at IS NOT NULL)::int AS created_verified,
          count(*) FILTER (WHERE verified_at >= ${since} AND verified_at <= ${until})::int AS verified,
          count(*) FILTER (WHERE verified_at IS NULL AND expires_at <= ${until} AND attempts < max_attempts)::int AS expired
        FROM auth_requests WHERE mode = ${mode} AND expires_at > ${since} AND created_at <= ${until}
        GROUP BY 1`),
      decoded(CountRow)(sql`
        SELECT tenant_id, type AS key, count(*)::int AS n FROM audit_log
        WHERE created_at >= ${since} AND created_at <= ${until} AND mode = ${mode}
          AND type IN ('login.failed', 'auth_request.locked', 'identifier.locked', 'rate_limited')
        GROUP BY 1, 2`),
      decoded(CountRow)(sql`
        SELECT tenant_id, COALESCE(payload->>'reason', 'unknown') AS key, count(*)::int AS n FROM events
        WHERE created_at >= ${since} AND created_at <= ${until} AND mode = ${mode} AND type = 'fraud.detected'
        GROUP BY 1, 2`),
      decoded(QueueRow)(sql`
        SELECT tenant_id, count(*)::int AS depth, min(created_at) AS oldest FROM messages
        WHERE status IN ('queued', 'sending') AND mode = ${mode}
        GROUP BY 1`)
    ], { concurrency: "unbounded" }))

    const byTenant = new Map<string, Acc>()
    const of = (tenantId: string): Acc => {
      let stats = byTenant.get(tenantId)
      if (stats === undefined) {
        stats = accumulator(window)
        byTenant.set(tenantId, stats)
      }
      return stats
    }
    for (const row of messages) {
      const stats = of(row.tenantId)
      const channel = row.channel === "sms" ? "sms" : "email"
      stats.sends[channel] += row.sent
      const slot = stats.perBucket[Math.min(window.buckets - 1, Math.max(0, row.bucket))]
      if (slot !== undefined) slot[channel] += row.sent
      stats.suppressed += row.suppressed
      stats.deliveryFailed += row.failed
      stats.failures.DELIVERY_FAILED += row.failed
      stats.skipped += row.skipped
    }
    for (const row of requests) {
      const stats = of(row.tenantId)
      stats.created = row.created
      stats.createdVerified = row.createdVerified
      stats.verified = row.verified
      stats.failures.CODE_EXPIRED = row.expired
    }
    for (const row of audits) {
      const code = AUDIT_CODES[row.key]
      if (code !== undefined) of(row.tenantId).failures[code] += row.n
    }
    for (const row of risks) {
      const stats = of(row.tenantId)
      stats.riskBlocks[row.key] = (stats.riskBlocks[row.key] ?? 0) + row.n
      stats.failures[row.key.startsWith("voip") ? "VOIP_NOT_ALLOWED" : "RISK_BLOCKED"] += row.n
    }
    for (const row of queues) of(row.tenantId).queue = { depth: row.depth, oldest: row.oldest }
    const result: Overview = { mode, window, tenants: byTenant }
    return result
  })

  return { tenants, overview }
})

export type Stats = Effect.Success<typeof make>
