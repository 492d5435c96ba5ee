import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Schema } from "effect"
import { TenantId } from "../../src/domain/Ids.ts"
import { type Check, RateLimiter } from "../../src/limits/RateLimiter.ts"
import * as RateLimiterMemory from "../../src/limits/RateLimiterMemory.ts"
import * as RateLimiterPg from "../../src/limits/RateLimiterPg.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"

const tenant = TenantId.make("ten_0000000000000000limits")

describe("RateLimiter (GCRA)", () => {
  it.effect.prop(
    "never admits more than `limit` in any window of `period`; admits again exactly when it said; remaining is what it admits next",
    {
      limit: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 12 })),
      gaps: Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 30_000 }))).check(Schema.isMaxLength(60))
    },
    ({ limit, gaps }) =>
      Effect.gen(function* () {
        const limiter = yield* RateLimiter
        const period = 60_000
        const check: Check = { name: "test", bucket: "b", limit, periodMs: period }
        const admitted: Array<number> = []
        const inWindow = (t: number) => admitted.filter((a) => a > t - period && a <= t).length
        let now = 1_000_000
        for (const gap of gaps) {
          now += gap
          const d = yield* limiter.take(tenant, [check], now)
          if (d.allowed) {
            admitted.push(now)
            assert.isAtMost(inWindow(now), limit)
            assert.strictEqual(d.tightest.remaining, limit - inWindow(now))
          } else {
            assert.strictEqual(inWindow(now), limit)
            assert.isAbove(d.retryAfterMs, 0)
            assert.isFalse((yield* limiter.take(tenant, [check], now + d.retryAfterMs - 1)).allowed)
            assert.isTrue((yield* limiter.take(tenant, [check], now + d.retryAfterMs)).allowed)
            now += d.retryAfterMs
            admitted.push(now)
            assert.isAtMost(inWindow(now), limit)
          }
        }
      }).pipe(Effect.provide(RateLimiterMemory.layer))
  )

  const contract = <E>(name: string, layer: Layer.Layer<RateLimiter, E>) =>
    it.effect(`${name}: admits the limit, refuses the next with the refused limit's name, refills over time`, () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimiter
        const minute: Check = { name: "per_minute", bucket: `m-${name}`, limit: 3, periodMs: 60_000 }
        const hour: Check = { name: "per_hour", bucket: `h-${name}`, limit: 100, periodMs: 3_600_000 }
        const t0 = 5_000_000
        for (let i = 0; i < 3; i++) {
          const d = yield* limiter.take(tenant, [minute, hour], t0)
          assert.isTrue(d.allowed)
          assert.deepStrictEqual([d.tightest.name, d.tightest.remaining], ["per_minute", 2 - i])
        }
        const refused = yield* limiter.take(tenant, [minute, hour], t0)
        assert.deepStrictEqual([refused.allowed, refused.tightest.name, refused.retryAfterMs], [false, "per_minute", 60_000])
        assert.isFalse((yield* limiter.take(tenant, [minute], t0 + 59_999)).allowed)
        const again = yield* limiter.take(tenant, [minute, hour], t0 + 60_000)
        assert.isTrue(again.allowed)
        // the three hits at t0 have left the minute window; the refused request was not counted anywhere
        assert.deepStrictEqual([again.tightest.name, again.tightest.remaining], ["per_minute", 2])
        const hourOnly = yield* limiter.take(tenant, [hour], t0 + 60_001)
        assert.strictEqual(hourOnly.tightest.remaining, 100 - 5) // 3 at t0, 1 at +60 000, this one
      }).pipe(Effect.provide(layer)))

  const concurrent = <E>(name: string, layer: Layer.Layer<RateLimiter, E>) =>
    it.effect(`${name}: 40 concurrent requests against a limit of 10 → exactly 10 admitted`, () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimiter
        const check: Check = { name: "burst", bucket: `burst-${name}`, limit: 10, periodMs: 60_000 }
        const results = yield* Effect.forEach(Array.from({ length: 40 }), (_, i) =>
          limiter.take(tenant, [check], 9_000_000 + i), { concurrency: "unbounded" })
        assert.strictEqual(results.filter((d) => d.allowed).length, 10)
      }).pipe(Effect.provide(layer)))

  contract("memory", RateLimiterMemory.layer)
  concurrent("memory", RateLimiterMemory.layer)
  if (hasPostgres) concurrent("PostgreSQL", RateLimiterPg.layer.pipe(Layer.provide(postgresLayer)))
  contract("PGlite", RateLimiterPg.layer.pipe(Layer.provide(pgliteLayer)))
  if (hasPostgres) contract("PostgreSQL", RateLimiterPg.layer.pipe(Layer.provide(postgresLayer)))
})
