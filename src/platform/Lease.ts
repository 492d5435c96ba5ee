import { Clock, Effect, Fiber } from "effect"

export interface Renewal<R> {
  /** How long a claim holds unrenewed: how soon a crashed process's work is taken up again. */
  readonly leaseMs: number
  /** Renewals stop this long after the start: the work's own timeout bounds how long a live holder keeps a row. */
  readonly maxMs: number
  /** Extends the lease to `until` if this holder still has it (false: it was lost, stop renewing). */
  readonly renew: (until: Date) => Effect.Effect<boolean, unknown, R>
}

/**
 * Runs `effect` while renewing the lease it works under, every third of the lease: a live holder
 * keeps its rows however long the work takes (up to `maxMs`), and a crashed one loses them within
 * `leaseMs`. A renewal that fails (the database is briefly away) is tried again at the next beat.
 */
export const whileRenewing = <A, E, R, R2>(effect: Effect.Effect<A, E, R>, renewal: Renewal<R2>): Effect.Effect<A, E, R | R2> =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    const beat = Math.max(1, Math.floor(renewal.leaseMs / 3))
    const heartbeat = Effect.gen(function* () {
      while (true) {
        yield* Effect.sleep(beat)
        const now = yield* Clock.currentTimeMillis
        if (now - start >= renewal.maxMs) return
        const held = yield* Effect.orElseSucceed(renewal.renew(new Date(now + renewal.leaseMs)), () => true)
        if (!held) return
      }
    })
    const fiber = yield* Effect.forkChild(heartbeat)
    return yield* Effect.ensuring(effect, Fiber.interrupt(fiber))
  })
