/**
 * When a failed webhook delivery is tried again: the Standard Webhooks recommendation (SECURITY.md
 * "Webhooks"). Attempt 1 goes out at once; attempts 2…10 are due about 5 s, 5 min, 30 min, 2 h, 5 h,
 * 10 h, 14 h, 20 h and 24 h after it. Each gap gets ±20 % jitter so that a receiver coming back from
 * an outage is not hit by every queued delivery in the same second. `baseMs` is the length of one
 * schedule second: 1000 in production, a few milliseconds in tests (WEBHOOK_RETRY_BASE_MS).
 */
export const SCHEDULE_SECONDS: ReadonlyArray<number> = [5, 300, 1800, 7200, 18_000, 36_000, 50_400, 72_000, 86_400]

export const MAX_ATTEMPTS = SCHEDULE_SECONDS.length + 1

const JITTER = 0.2
/** A receiver's Retry-After is honoured up to this. */
const MAX_RETRY_AFTER_MS = 86_400_000

/** The wait after failed attempt `attempt` (1-based), or undefined when it was the last one. */
export const retryDelayMs = (attempt: number, baseMs: number, random01: number): number | undefined => {
  const next = SCHEDULE_SECONDS[attempt - 1]
  if (next === undefined) return undefined
  const gap = (next - (SCHEDULE_SECONDS[attempt - 2] ?? 0)) * baseMs
  return Math.round(gap * (1 - JITTER + 2 * JITTER * random01))
}

/** `Retry-After` of a 429/503, in ms: delay-seconds or an HTTP date (RFC 9110 §10.2.3). */
export const retryAfterMs = (header: string | undefined, nowMs: number): number | undefined => {
  if (header === undefined) return undefined
  const value = header.trim()
  const ms = /^\d+$/.test(value) ? Number(value) * 1000 : Date.parse(value) - nowMs
  return Number.isFinite(ms) && ms > 0 ? Math.min(ms, MAX_RETRY_AFTER_MS) : undefined
}
