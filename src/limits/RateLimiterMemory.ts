import { Effect, Layer } from "effect"
import { decide, RateLimiter, slide } from "./RateLimiter.ts"

/** The in-memory limiter: the same sliding log, for tests on TestClock. */
export const make = Effect.sync(() => {
  const logs = new Map<string, ReadonlyArray<number>>()
  return RateLimiter.of({
    take: (tenantId, checks, nowMs) =>
      Effect.sync(() => {
        const key = (bucket: string) => `${tenantId}\u0000${bucket}`
        const outcomes = checks.map((check) => slide(logs.get(key(check.bucket)) ?? [], nowMs, check))
        // all or nothing: a refused request is counted against no limit
        if (outcomes.every((o) => o.allowed)) checks.forEach((c, i) => logs.set(key(c.bucket), outcomes[i]?.hits ?? []))
        return decide(checks, outcomes, nowMs)
      })
  })
})

export const layer = Layer.effect(RateLimiter)(make)
