/**
 * The drain of a worker loop (platform/Lifecycle.ts `forkDraining`): at shutdown the loop is asked
 * to stop and given until the deadline to finish the work it holds; only then is it interrupted. A
 * scope closed without a shutdown (tests, a failed start) interrupts it at once.
 */
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Layer, Scope } from "effect"
import { TestClock } from "effect/testing"
import * as Lifecycle from "../../src/platform/Lifecycle.ts"

/** A loop whose one pass takes `passMs` and records how it ended. */
const loopWith = (passMs: number, ended: Deferred.Deferred<"finished" | "interrupted">) =>
  Effect.gen(function* () {
    const lifecycle = yield* Lifecycle.Lifecycle
    while (!lifecycle.isDraining()) {
      yield* Effect.sleep(passMs).pipe(Effect.onInterrupt(() => Deferred.succeed(ended, "interrupted")))
      yield* Effect.race(Effect.sleep(1000), lifecycle.draining)
    }
    yield* Deferred.succeed(ended, "finished")
  })

/** Runs the loop in a scope, begins the drain (if asked) mid-pass, closes the scope; returns how the pass ended. */
const drainAt = (options: { readonly passMs: number; readonly timeoutMs: number; readonly drain: boolean }) =>
  Effect.gen(function* () {
    const controller = Lifecycle.make()
    yield* controller.serving(options.timeoutMs)
    const ended = yield* Deferred.make<"finished" | "interrupted">()
    const scope = yield* Scope.make()
    yield* Lifecycle.forkDraining(loopWith(options.passMs, ended)).pipe(
      Scope.provide(scope),
      Effect.provide(Layer.succeed(Lifecycle.Lifecycle)(controller.lifecycle))
    )
    yield* TestClock.adjust(100)
    if (options.drain) yield* controller.begin
    const closing = yield* Effect.forkChild(Scope.close(scope, Exit.void))
    yield* TestClock.adjust(options.passMs + options.timeoutMs)
    yield* Fiber.join(closing)
    return { how: yield* Deferred.await(ended) }
  })

describe("forkDraining", () => {
  it.effect("at shutdown, the pass in flight finishes before the deadline; no new pass starts", () =>
    Effect.gen(function* () {
      const { how } = yield* drainAt({ passMs: 5000, timeoutMs: 10_000, drain: true })
      assert.strictEqual(how, "finished")
    }))

  it.effect("a pass still running at the deadline is interrupted (its handlers hand leases back)", () =>
    Effect.gen(function* () {
      const { how } = yield* drainAt({ passMs: 30_000, timeoutMs: 10_000, drain: true })
      assert.strictEqual(how, "interrupted")
    }))

  it.effect("a scope closed without a shutdown interrupts the loop at once", () =>
    Effect.gen(function* () {
      const { how } = yield* drainAt({ passMs: 5000, timeoutMs: 10_000, drain: false })
      assert.strictEqual(how, "interrupted")
    }))

  it.effect("the drain's time is SHUTDOWN_TIMEOUT_MS once serving, STARTUP_STOP_MS before", () =>
    Effect.gen(function* () {
      const starting = Lifecycle.make()
      assert.deepStrictEqual(yield* starting.begin, { at: 0, allowed: Lifecycle.STARTUP_STOP_MS, serving: false })
      assert.isUndefined(yield* starting.begin)
      const serving = Lifecycle.make()
      yield* serving.serving(7000)
      assert.isFalse(serving.lifecycle.isDraining())
      assert.strictEqual(yield* serving.lifecycle.remainingMs, 0)
      assert.deepStrictEqual(yield* serving.begin, { at: 0, allowed: 7000, serving: true })
      assert.isTrue(serving.lifecycle.isDraining())
      yield* TestClock.adjust(2000)
      assert.strictEqual(yield* serving.lifecycle.remainingMs, 5000)
      assert.strictEqual(yield* serving.elapsedMs, 2000)
    }))
})
