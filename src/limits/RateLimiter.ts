import { Context, type Effect } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { TenantId } from "../domain/Ids.ts"

/** One limit to count a request against: at most `limit` requests in any `periodMs` window for `bucket`. */
export interface Check {
  /** The limit's public name, e.g. `send_per_identifier_hour` (returned as `limit` on 429). */
  readonly name: string
  /** The bucket: what is counted (an email, an IP, a key id), unique per limit. */
  readonly bucket: string
  readonly limit: number
  readonly periodMs: number
}

export interface LimitState {
  readonly name: string
  readonly limit: number
  readonly remaining: number
  /** Epoch ms at which the next slot frees up (X-RateLimit-Reset). */
  readonly resetAtMs: number
}

export interface Decision {
  readonly allowed: boolean
  /** The limit with the least room left (the refused one when refused); drives X-RateLimit-*. */
  readonly tightest: LimitState
  readonly retryAfterMs: number
}

/**
 * Sliding log: a request is admitted iff fewer than `limit` requests were admitted in
 * `(now - period, now]`, so no window of `period` ever holds more than `limit`, and the next slot
 * opens exactly when the oldest admitted request leaves the window. Decided inside PostgreSQL in one
 * statement, so the limits hold across every process sharing the database.
 */
export const slide = (hits: ReadonlyArray<number>, nowMs: number, check: Check) => {
  const live = hits.filter((h) => h > nowMs - check.periodMs).sort((a, b) => a - b)
  const allowed = live.length < check.limit
  const after = allowed ? [...live, nowMs] : live
  const oldest = after[Math.max(0, after.length - check.limit)] ?? nowMs
  return {
    allowed,
    hits: after,
    remaining: Math.max(0, check.limit - after.length),
    resetAtMs: (after[0] ?? nowMs) + check.periodMs,
    retryAfterMs: allowed ? 0 : oldest + check.periodMs - nowMs
  }
}

export type Outcome = ReturnType<typeof slide>

export class RateLimiter extends Context.Service<RateLimiter, {
  /** Counts one request against every check in one round trip; a refused request is counted against none. */
  readonly take: (tenantId: TenantId, checks: ReadonlyArray<Check>, nowMs: number) => Effect.Effect<Decision, ServiceUnavailable>
}>()("sesame/RateLimiter") {}

export const decide = (checks: ReadonlyArray<Check>, outcomes: ReadonlyArray<Outcome>, nowMs: number): Decision => {
  let tightest: LimitState | undefined
  let refused: { state: LimitState; retryAfterMs: number } | undefined
  checks.forEach((check, i) => {
    const o = outcomes[i]
    if (o === undefined) return
    const state = { name: check.name, limit: check.limit, remaining: o.remaining, resetAtMs: o.resetAtMs }
    if (!o.allowed && (refused === undefined || o.retryAfterMs > refused.retryAfterMs)) refused = { state, retryAfterMs: o.retryAfterMs }
    if (tightest === undefined || state.remaining < tightest.remaining) tightest = state
  })
  const none: LimitState = { name: "none", limit: 0, remaining: 0, resetAtMs: nowMs }
  return refused !== undefined
    ? { allowed: false, tightest: refused.state, retryAfterMs: refused.retryAfterMs }
    : { allowed: true, tightest: tightest ?? none, retryAfterMs: 0 }
}
