import { Deferred, Effect } from "effect"
import { algorithmOf, type Check, type Decision, RateLimiter, SLOTS } from "./RateLimiter.ts"
import type { TenantId } from "../domain/Ids.ts"

interface Lease {
  /** The slot the spare grants belong to; they are only ever used within it. */
  slot: number
  spare: number
  /** What PostgreSQL said was left after the last grant (for X-RateLimit-Remaining). */
  remaining: number
  resetAtMs: number
  /** PostgreSQL refused: nothing is admitted before this instant, on any process (time alone frees room). */
  refusedUntil: number
  refusal: Decision | undefined
  /** The one reservation of this process in flight; other requests wait for it instead of asking too. */
  pending: Deferred.Deferred<void> | undefined
  /** Requests waiting for that reservation: the next one asks for them too. */
  waiting: number
  /** Requests this process saw in `seenSlot` and in the slot before it: the demand estimate. */
  seenSlot: number
  seen: number
  previous: number
}

const MAX_LEASES = 10_000

/**
 * Per-process leases in front of a slotted window, so a hot bucket (a busy API key) costs PostgreSQL
 * about one statement per slot and process instead of one per request. When a request finds no spare
 * grant for the current slot, it asks PostgreSQL for as many slots as this process used in the
 * previous slot, or as many as are waiting (at least 1, at most limit / SLOTS); the spare ones serve the next requests of this
 * process, and only within that same slot. Every admitted request was therefore counted in PostgreSQL,
 * in its own slot or a later one, before it was admitted: the window's guarantee (never more than
 * `limit` in any window of the period, across all processes) is unchanged. A grant left unused when its
 * slot ends stays counted — conservative: after a sudden drop in traffic a key can be refused a few
 * requests before its limit. A quiet bucket asks for 1 at a time, exactly as without leases. A refusal
 * is remembered until its retry time, which is exact: only time frees room in a window.
 * Requests with several checks, or with a log (small limits), go straight to the store.
 */
export const leased = (inner: RateLimiter["Service"]): RateLimiter["Service"] => {
  const leases = new Map<string, Lease>()

  const acquire = (l: Lease, tenantId: TenantId, check: Check, slot: number, nowMs: number): Effect.Effect<Decision, Effect.Error<ReturnType<typeof inner.take>>> =>
    Effect.suspend(() => {
      if (nowMs < l.refusedUntil && l.refusal !== undefined) {
        return Effect.succeed({ ...l.refusal, retryAfterMs: l.refusedUntil - nowMs })
      }
      if (l.slot === slot && l.spare > 0) {
        l.spare--
        return Effect.succeed<Decision>({
          allowed: true,
          tightest: { name: check.name, limit: check.limit, remaining: l.remaining + l.spare, resetAtMs: l.resetAtMs },
          retryAfterMs: 0,
          granted: [1]
        })
      }
      if (l.pending !== undefined) {
        l.waiting++
        return Effect.andThen(
          Deferred.await(l.pending),
          Effect.suspend(() => {
            l.waiting--
            return acquire(l, tenantId, check, slot, nowMs)
          })
        )
      }
      const pending = Deferred.makeUnsafe<void>()
      l.pending = pending
      const reserve = Math.max(1, Math.min(Math.max(l.previous, l.waiting + 1), Math.ceil(check.limit / SLOTS)))
      return inner.take(tenantId, [{ ...check, reserve }], nowMs).pipe(
        Effect.map((d): Decision => {
          const granted = d.granted?.[0] ?? (d.allowed ? 1 : 0)
          if (!d.allowed || granted <= 0) {
            l.refusedUntil = Math.max(l.refusedUntil, nowMs + d.retryAfterMs)
            l.refusal = d
            return d
          }
          // a grant that comes back after this process has moved on to a later slot is left unused
          if (slot < l.slot) return { ...d, granted: [1] }
          if (l.slot !== slot) {
            l.slot = slot
            l.spare = 0
          }
          l.spare += granted - 1
          l.remaining = d.tightest.remaining
          l.resetAtMs = d.tightest.resetAtMs
          return { ...d, tightest: { ...d.tightest, remaining: d.tightest.remaining + l.spare }, granted: [1] }
        }),
        Effect.ensuring(Effect.suspend(() => {
          if (l.pending === pending) l.pending = undefined
          return Deferred.succeed(pending, undefined)
        }))
      )
    })

  return RateLimiter.of({
    take: (tenantId, checks, nowMs) => {
      const check = checks[0]
      if (checks.length !== 1 || check === undefined || algorithmOf(check) !== "window") return inner.take(tenantId, checks, nowMs)
      const slot = Math.floor(nowMs / (check.periodMs / SLOTS))
      const key = `${tenantId}\u0000${check.bucket}\u0000${check.limit}\u0000${check.periodMs}`
      let lease = leases.get(key)
      if (lease === undefined) {
        if (leases.size >= MAX_LEASES) leases.clear()
        lease = {
          slot: -1, spare: 0, remaining: 0, resetAtMs: 0, refusedUntil: 0, refusal: undefined, pending: undefined, waiting: 0,
          seenSlot: slot, seen: 0, previous: 0
        }
        leases.set(key, lease)
      }
      if (lease.seenSlot !== slot) {
        lease.previous = lease.seenSlot === slot - 1 ? lease.seen : 0
        lease.seen = 0
        lease.seenSlot = slot
      }
      lease.seen++
      return acquire(lease, tenantId, check, slot, nowMs)
    }
  })
}
