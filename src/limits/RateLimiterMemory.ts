import { Effect, Layer } from "effect"
import { algorithmOf, decide, RateLimiter, slide, tally, type Window } from "./RateLimiter.ts"

/** The in-memory limiter: the same sliding log and slotted window, for tests on TestClock. */
export const make = Effect.sync(() => {
  const logs = new Map<string, ReadonlyArray<number>>()
  const windows = new Map<string, Window>()
  return RateLimiter.of({
    take: (tenantId, checks, nowMs) =>
      Effect.sync(() => {
        const key = (bucket: string) => `${tenantId}\u0000${bucket}`
        const outcomes = checks.map((check) =>
          algorithmOf(check) === "log"
            ? { ...slide(logs.get(key(check.bucket)) ?? [], nowMs, check), window: undefined }
            : { ...tally(windows.get(key(check.bucket)), nowMs, check), hits: undefined })
        // all or nothing: a refused request is counted against no limit
        if (outcomes.every((o) => o.allowed)) {
          checks.forEach((c, i) => {
            const o = outcomes[i]
            if (o?.hits !== undefined) logs.set(key(c.bucket), o.hits)
            if (o?.window !== undefined) windows.set(key(c.bucket), o.window)
          })
        }
        return decide(checks, outcomes, nowMs)
      })
  })
})

export const layer = Layer.effect(RateLimiter)(make)
