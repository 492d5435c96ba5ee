import { assert, describe, it, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { TenantId } from "../../src/domain/Ids.ts"
import { algorithmOf, type Check, RateLimiter } from "../../src/limits/RateLimiter.ts"
import { leased } from "../../src/limits/Leases.ts"
import * as RateLimiterMemory from "../../src/limits/RateLimiterMemory.ts"
import * as RateLimiterPg from "../../src/limits/RateLimiterPg.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"

const tenant = TenantId.make("ten_00000000000000windows")
const period = 60_000

/**
 * The limiter's promises, for both algorithms: never more than `limit` admitted in any window of
 * `period`; a refusal's retryAfter is exact (refused 1 ms before, admitted at it); `remaining` is how
 * many more it admits at that instant; with nothing remaining, `reset` is exactly when it admits again.
 */
const property = (algorithm: "log" | "window") =>
  it.effect.prop(
    `${algorithm}: at most limit per window, exact retryAfter, remaining and reset consistent with what it admits next`,
    {
      limit: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 12 })),
      gaps: Schema.Array(Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 20_000 }))).check(Schema.isMaxLength(50))
    },
    ({ limit, gaps }) =>
      Effect.gen(function* () {
        const limiter = yield* RateLimiter
        const check: Check = { name: "p", bucket: "b", limit, periodMs: period, algorithm }
        const admitted: Array<number> = []
        // time only moves forward, on the TestClock; the limiter is given the Clock's time as callers do
        const take = (t: number) =>
          Effect.gen(function* () {
            yield* TestClock.adjust(t - (yield* Clock.currentTimeMillis))
            const d = yield* limiter.take(tenant, [check], yield* Clock.currentTimeMillis)
            if (d.allowed) {
              admitted.push(t)
              assert.isAtMost(admitted.filter((a) => a > t - period && a <= t).length, limit, `window ending ${t}`)
            }
            return d
          })
        let now = 7_000_123
        for (const gap of gaps) {
          now += gap
          const d = yield* take(now)
          if (d.allowed) {
            const { remaining, resetAtMs } = d.tightest
            for (let i = 0; i < remaining; i++) assert.isTrue((yield* take(now)).allowed, `remaining ${remaining}, #${i}`)
            if (remaining > 0) continue
            assert.isAtLeast(resetAtMs, now + 1)
            assert.isFalse((yield* take(resetAtMs - 1)).allowed, "reset - 1 ms")
            assert.isTrue((yield* take(resetAtMs)).allowed, "at reset")
            now = resetAtMs
          } else {
            assert.isAbove(d.retryAfterMs, 0)
            assert.isFalse((yield* take(now + d.retryAfterMs - 1)).allowed, "retryAfter - 1 ms")
            assert.isTrue((yield* take(now + d.retryAfterMs)).allowed, "at retryAfter")
            now += d.retryAfterMs
          }
        }
      }).pipe(Effect.provide(RateLimiterMemory.layer))
  )

describe("RateLimiter algorithms (memory, TestClock)", () => {
  property("log")
  property("window")

  it("limits above LOG_MAX are counted in slotted windows", () => {
    assert.strictEqual(algorithmOf({ name: "k", bucket: "k", limit: 6000, periodMs: period }), "window")
    assert.strictEqual(algorithmOf({ name: "s", bucket: "s", limit: 10, periodMs: period }), "log")
  })

  it.effect("window: frees room at slot boundaries, at most period/60 after the exact log would", () =>
    Effect.gen(function* () {
      const limiter = yield* RateLimiter
      const check: Check = { name: "w", bucket: "w", limit: 3, periodMs: period, algorithm: "window" }
      const t0 = 10_000_500 // half-way through a 1 s slot
      for (let i = 0; i < 3; i++) assert.isTrue((yield* limiter.take(tenant, [check], t0)).allowed)
      const refused = yield* limiter.take(tenant, [check], t0)
      // the exact log would admit at t0 + 60 000; the window at the next slot boundary after that
      assert.strictEqual(refused.retryAfterMs, 60_500)
      assert.strictEqual(refused.tightest.name, "w")
    }).pipe(Effect.provide(RateLimiterMemory.layer)))
})

/** The PostgreSQL statement against the same reference, including a request counted against a log and a window at once. */
const contract = (name: string, db: Layer.Layer<RateLimiter | PgClient.PgClient>) =>
  layer(db, { timeout: 60_000 })(`RateLimiterPg windows (${name})`, (it) => {
    it.effect("a 6000/minute key bucket: admits to the limit, refuses the next, frees at the slot boundary", () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimiter
        const key: Check = { name: "requests_per_key_minute", bucket: `key-${name}`, limit: 150, periodMs: period }
        const t0 = 20_000_250
        const results = yield* Effect.forEach(Array.from({ length: 160 }), (_, i) =>
          limiter.take(tenant, [key], t0 + i), { concurrency: 8 })
        assert.strictEqual(results.filter((d) => d.allowed).length, 150)
        const refused = yield* limiter.take(tenant, [key], t0 + 200)
        assert.isFalse(refused.allowed)
        assert.strictEqual(refused.tightest.name, "requests_per_key_minute")
        // every hit sits in the slot [20 000 000, 20 001 000): it leaves at 20 061 000
        assert.strictEqual(t0 + 200 + refused.retryAfterMs, 20_061_000)
        assert.isFalse((yield* limiter.take(tenant, [key], 20_060_999)).allowed)
        const again = yield* limiter.take(tenant, [key], 20_061_000)
        assert.deepStrictEqual([again.allowed, again.tightest.remaining], [true, 149])
      }))

    it.effect("log and window in one request: all or nothing", () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimiter
        const log: Check = { name: "small", bucket: `small-${name}`, limit: 2, periodMs: period }
        const win: Check = { name: "big", bucket: `big-${name}`, limit: 500, periodMs: period }
        const t = 30_000_000
        assert.isTrue((yield* limiter.take(tenant, [log, win], t)).allowed)
        const second = yield* limiter.take(tenant, [log, win], t + 1)
        assert.deepStrictEqual([second.allowed, second.tightest.name, second.tightest.remaining], [true, "small", 0])
        const third = yield* limiter.take(tenant, [log, win], t + 2)
        assert.deepStrictEqual([third.allowed, third.tightest.name, third.retryAfterMs], [false, "small", 59_998])
        // the refused request was not counted against the window either: 2 of 500 used
        const winOnly = yield* limiter.take(tenant, [win], t + 3)
        assert.strictEqual(winOnly.tightest.remaining, 500 - 3)
      }))

    it.effect("the sweep deletes only buckets with nothing left in their window", () =>
      Effect.gen(function* () {
        const limiter = yield* RateLimiter
        const sql = yield* PgClient.PgClient
        const t = 90_000_000
        const minute: Check = { name: "m", bucket: `sweep-log-${name}`, limit: 5, periodMs: period }
        const win: Check = { name: "w", bucket: `sweep-win-${name}`, limit: 500, periodMs: period }
        const fresh: Check = { name: "f", bucket: `sweep-fresh-${name}`, limit: 5, periodMs: period }
        yield* limiter.take(tenant, [minute, win], t)
        yield* limiter.take(tenant, [fresh], t + 30_000)
        const buckets = Effect.map(
          sql<{ bucket: string }>`SELECT bucket FROM rate_limits WHERE bucket LIKE 'sweep-%' UNION ALL
            SELECT bucket FROM rate_windows WHERE bucket LIKE 'sweep-%' ORDER BY bucket`,
          (rows) => rows.map((r) => r.bucket))
        yield* TestClock.setTime(t + 59_999)
        yield* RateLimiterPg.sweep(sql)
        assert.deepStrictEqual(yield* buckets, [`sweep-fresh-${name}`, `sweep-log-${name}`, `sweep-win-${name}`])
        yield* TestClock.setTime(t + 61_000) // the log's hit left at t + 60 000, the window's slot at t + 61 000
        yield* RateLimiterPg.sweep(sql)
        assert.deepStrictEqual(yield* buckets, [`sweep-fresh-${name}`])
      }))

    it.effect("matches the in-memory reference on a random-ish schedule", () =>
      Effect.gen(function* () {
        const pg = yield* RateLimiter
        const mem = yield* Effect.provide(Effect.gen(function* () { return yield* RateLimiter }), RateLimiterMemory.layer)
        const check: Check = { name: "r", bucket: `ref-${name}`, limit: 4, periodMs: period, algorithm: "window" }
        // Later than any time the sweep test moved the shared clock to: a sweep it woke, still running,
        // must not find these hits old (that raced once under load in CI).
        let t = 400_000_000
        for (let i = 0; i < 60; i++) {
          t += (i * 7919) % 9000
          const [a, b] = [yield* pg.take(tenant, [check], t), yield* mem.take(tenant, [check], t)]
          assert.deepStrictEqual(a, b, `step ${i} at ${t}`)
        }
      }))
  })

contract("PGlite", RateLimiterPg.layer.pipe(Layer.provideMerge(pgliteLayer)))
if (hasPostgres) contract("PostgreSQL", RateLimiterPg.layer.pipe(Layer.provideMerge(postgresLayer)))

describe("Leases (several processes in front of one store)", () => {
  it.effect.prop(
    "never more than the limit in any window across processes, whatever the traffic; a quiet bucket asks one at a time",
    {
      processes: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 4 })),
      limit: Schema.Int.check(Schema.isBetween({ minimum: 61, maximum: 400 })),
      steps: Schema.Array(Schema.Struct({
        who: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 3 })),
        gap: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 700 })),
        burst: Schema.Int.check(Schema.isBetween({ minimum: 1, maximum: 40 }))
      })).check(Schema.isMaxLength(80))
    },
    ({ processes, limit, steps }) =>
      Effect.gen(function* () {
        const store = yield* RateLimiter
        const fronts = Array.from({ length: processes }, () => leased(store))
        const check: Check = { name: "key", bucket: "k", limit, periodMs: period }
        const admitted: Array<number> = []
        let now = 50_000_000
        for (const step of steps) {
          now += step.gap
          const front = fronts[step.who % processes]!
          for (let i = 0; i < step.burst; i++) {
            const d = yield* front.take(tenant, [check], now)
            if (!d.allowed) continue
            admitted.push(now)
            assert.isAtMost(admitted.filter((a) => a > now - period).length, limit, `window ending ${now}`)
          }
        }
      }).pipe(Effect.provide(RateLimiterMemory.layer))
  )

  it.effect("one process under steady load: one store round trip per slot, and nothing refused below the limit", () =>
    Effect.gen(function* () {
      const store = yield* RateLimiter
      let calls = 0
      const counting = RateLimiter.of({ take: (t, c, n) => Effect.suspend(() => { calls++; return store.take(t, c, n) }) })
      const front = leased(counting)
      const check: Check = { name: "key", bucket: "steady", limit: 6000, periodMs: period }
      let refused = 0
      // 50 requests per second for 10 s = 500, far below 6000 a minute
      for (let ms = 0; ms < 10_000; ms += 20) {
        if (!(yield* front.take(tenant, [check], 60_000_000 + ms)).allowed) refused++
      }
      assert.strictEqual(refused, 0)
      // the first second asks one at a time (no history); every later second takes one batch
      assert.isAtMost(calls, 50 + 9 * 2)
    }).pipe(Effect.provide(RateLimiterMemory.layer)))

  it.effect("concurrent requests of one process share a reservation; a refusal is remembered until its exact retry time", () =>
    Effect.gen(function* () {
      const store = yield* RateLimiter
      let calls = 0
      const counting = RateLimiter.of({
        take: (t, c, n) => Effect.andThen(Effect.yieldNow, Effect.suspend(() => { calls++; return store.take(t, c, n) }))
      })
      const front = leased(counting)
      const check: Check = { name: "key", bucket: "shared", limit: 600, periodMs: period }
      const t = 70_000_000
      const burst = yield* Effect.forEach(Array.from({ length: 30 }), () => front.take(tenant, [check], t), { concurrency: "unbounded" })
      assert.isTrue(burst.every((d) => d.allowed))
      assert.isAtMost(calls, 5) // one, then one for everyone who waited (at most 600 / 60 = 10 at a time)
      // drain the window from another process, then this one is refused and stops asking
      const other = leased(store)
      while ((yield* other.take(tenant, [check], t + 1)).allowed) { /* fill */ }
      const before = calls
      const refused = yield* front.take(tenant, [check], t + 2)
      assert.isFalse(refused.allowed)
      const again = yield* front.take(tenant, [check], t + 500)
      assert.deepStrictEqual([again.allowed, again.retryAfterMs], [false, refused.retryAfterMs - 498])
      assert.isAtMost(calls - before, 1)
      assert.isTrue((yield* front.take(tenant, [check], t + 2 + refused.retryAfterMs)).allowed)
    }).pipe(Effect.provide(RateLimiterMemory.layer)))
})
