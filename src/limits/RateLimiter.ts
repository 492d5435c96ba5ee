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
  /** How the bucket is counted; by default `log` up to LOG_MAX, `window` above (see `algorithmOf`). */
  readonly algorithm?: "log" | "window"
  /**
   * `window` only: take up to this many slots at once (at least one, else refused); the caller keeps
   * the spare ones for later requests of the same slot (Leases.ts). Default 1.
   */
  readonly reserve?: number
}

/** Limits up to this are counted exactly in a sliding log (at most this many timestamps per row). */
export const LOG_MAX = 100
/** A `window` bucket splits its period into this many slots. */
export const SLOTS = 60

export const algorithmOf = (check: Check): "log" | "window" => check.algorithm ?? (check.limit <= LOG_MAX ? "log" : "window")

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
  /** Per check: how many slots were taken (1 for a log; up to `reserve` for a window; 0 when refused). */
  readonly granted?: ReadonlyArray<number>
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

/** A slotted window: `counts[j]` holds the hits of slot `head - SLOTS + j` (slot = floor(ms / slotMs)). */
export interface Window {
  readonly head: number
  readonly counts: ReadonlyArray<number>
}

/**
 * Slotted sliding window, for large limits (per API key 6000/minute), where a log would hold
 * thousands of timestamps per hot row. The period is cut into SLOTS slots of `period / SLOTS`; a
 * request is admitted iff the SLOTS + 1 newest slots (every slot that can still hold a request of
 * the last period, the partly elapsed oldest one included) hold fewer than `limit`. So, like the log,
 * no window of `period` ever holds more than `limit`; unlike it, room frees up only at slot
 * boundaries: at most `period / SLOTS` (1 s for a minute) after the exact log would free it.
 * `retryAfterMs` is the exact boundary at which this algorithm admits again. The row holds
 * SLOTS + 1 integers whatever the limit. A process whose clock lags counts into the newest slot.
 */
export const tally = (state: Window | undefined, nowMs: number, check: Check) => {
  const slotMs = check.periodMs / SLOTS
  const cur = Math.floor(nowMs / slotMs)
  const base = state ?? { head: cur, counts: [] }
  const head = Math.max(cur, base.head)
  const shift = head - base.head
  const shifted = Array.from({ length: SLOTS + 1 }, (_, j) => (j + shift <= SLOTS ? base.counts[j + shift] ?? 0 : 0))
  const used = shifted.reduce((a, b) => a + b, 0)
  const allowed = used < check.limit
  const granted = allowed ? Math.min(Math.max(1, check.reserve ?? 1), check.limit - used) : 0
  const counts = allowed ? shifted.map((c, j) => (j === SLOTS ? c + granted : c)) : shifted
  const total = used + granted
  // slot head - SLOTS + j leaves the window when the clock reaches slot head + j + 1
  const oldest = counts.findIndex((c) => c > 0)
  let retryAfterMs = 0
  if (!allowed) {
    let left = total
    for (let k = 1; k <= SLOTS + 1; k++) {
      left -= counts[k - 1] ?? 0
      if (left < check.limit) {
        retryAfterMs = (head + k) * slotMs - nowMs
        break
      }
    }
  }
  return {
    allowed,
    granted,
    window: { head, counts } satisfies Window,
    remaining: Math.max(0, check.limit - total),
    resetAtMs: oldest < 0 ? nowMs : (head + oldest + 1) * slotMs,
    retryAfterMs
  }
}

export interface Outcome {
  readonly allowed: boolean
  readonly granted?: number
  readonly remaining: number
  readonly resetAtMs: number
  readonly retryAfterMs: number
}

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
  const granted = outcomes.map((o) => (refused !== undefined ? 0 : o.granted ?? 1))
  return refused !== undefined
    ? { allowed: false, tightest: refused.state, retryAfterMs: refused.retryAfterMs, granted }
    : { allowed: true, tightest: tightest ?? none, retryAfterMs: 0, granted }
}
