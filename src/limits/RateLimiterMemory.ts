import { Effect, Layer } from "effect"
import { decide, RateLimiter, slide } from "./RateLimiter.ts"

/** The in-memory limiter: the same sliding log, for tests on TestClock. */
export const make = Effect.sync(() => {
  const logs = new Map<string, ReadonlyArray<number>>()
  return RateLimiter.of({
    take: (tenantId, checks, nowMs) =>
      Effect.sync(() =>
        decide(checks, checks.map((check) => {
          const key = `${tenantId}\u0000${check.bucket}`
          const outcome = slide(logs.get(key) ?? [], nowMs, check)
          if (outcome.allowed) logs.set(key, outcome.hits)
          return outcome
        }), nowMs))
  })
})

export const layer = Layer.effect(RateLimiter)(make)
