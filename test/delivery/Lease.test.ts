/**
 * Crash recovery in seconds (issue 13, item 6): an outbox claim holds 10 s unrenewed and is renewed
 * while its send runs. A renewed claim is not claimable by another worker however long the send takes;
 * once renewals stop (the process died) the row is claimable when the short lease runs out.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { layerCapture, Mailer } from "../../src/delivery/Mailer.ts"
import { Outbox } from "../../src/delivery/Outbox.ts"
import { defaults, runOnce } from "../../src/delivery/Worker.ts"
import { whileRenewing } from "../../src/platform/Lease.ts"
import { backends, clockNow, eventually, newMessage, reset, row, withOutbox } from "./fixtures.ts"

const LEASE = defaults.leaseMs

/** The row's lease, once a renewal has moved it past `after` (the renewal runs on the database, not on the TestClock). */
const renewedPast = (id: string, after: number) =>
  Effect.gen(function* () {
    yield* TestClock.withLive(eventually(Effect.map(row(id), (r) => (r?.lockedUntil?.getTime() ?? 0) > after)))
    return (yield* row(id))?.lockedUntil?.getTime() ?? 0
  })

for (const [name, db] of backends) {
  describe(`outbox leases on ${name}`, () => {
    it.layer(withOutbox(db), { excludeTestServices: true, timeout: "120 seconds" })((it) => {
      const test = <E>(title: string, body: Effect.Effect<void, E, Outbox | Mailer | SqlClient.SqlClient>) =>
        it.effect(title, () => Effect.andThen(reset, body).pipe(Effect.provide(Layer.merge(layerCapture, TestClock.layer())), Effect.orDie))

      test("renewed, a claim is not claimable past its first lease; unrenewed, it is when the lease runs out", Effect.gen(function* () {
        const outbox = yield* Outbox
        const t0 = (yield* clockNow).getTime()
        yield* outbox.enqueue(newMessage(), new Date(t0))
        const [held] = yield* outbox.claim({ now: new Date(t0), leaseMs: LEASE, limit: 1 })
        assert(held?._tag === "Deliver")
        const key = { tenantId: held.tenantId, id: held.id }
        assert.strictEqual((yield* row(held.id))?.lockedUntil?.getTime(), t0 + LEASE)

        const sender = yield* Effect.forkChild(whileRenewing(Effect.never, {
          leaseMs: LEASE, maxMs: 60_000, renew: (until) => outbox.renew(key, held.attempts, until)
        }))
        let lockedUntil = t0 + LEASE
        for (let i = 0; i < 6; i++) {
          yield* TestClock.adjust("4 seconds")
          lockedUntil = yield* renewedPast(held.id, lockedUntil)
          const now = (yield* clockNow).getTime()
          assert.isAtLeast(lockedUntil, now + LEASE - 4000)
          // another worker, now: nothing to claim
          assert.deepStrictEqual(yield* outbox.claim({ now: new Date(now), leaseMs: LEASE, limit: 10 }), [])
        }
        assert.isAbove((yield* clockNow).getTime(), t0 + 2 * LEASE)

        // the holder dies: no more renewals, no hand-back
        yield* Fiber.interrupt(sender)
        assert.deepStrictEqual(yield* outbox.claim({ now: new Date(lockedUntil - 1), leaseMs: LEASE, limit: 10 }), [])
        const [again] = yield* outbox.claim({ now: new Date(lockedUntil), leaseMs: LEASE, limit: 10 })
        assert.strictEqual(again?._tag === "Deliver" && again.attempts, 2)
        // the old holder's claim is fenced off: it can no longer renew
        assert.isFalse(yield* outbox.renew(key, held.attempts, new Date(lockedUntil + 60_000)))
        assert.strictEqual((yield* row(held.id))?.lockedUntil?.getTime(), lockedUntil + LEASE)
      }))

      test("the worker renews while its send runs, up to the send timeout", Effect.gen(function* () {
        const outbox = yield* Outbox
        const t0 = (yield* clockNow).getTime()
        const id = yield* outbox.enqueue(newMessage(), new Date(t0))
        const hanging = Layer.succeed(Mailer)({ send: () => Effect.never })
        const worker = yield* Effect.forkChild(runOnce(defaults).pipe(Effect.provide(hanging)))
        yield* TestClock.withLive(eventually(Effect.map(row(id), (r) => r?.status === "sending")))
        let lockedUntil = t0 + LEASE
        while ((yield* clockNow).getTime() < t0 + 25_000) {
          yield* TestClock.adjust("4 seconds")
          lockedUntil = yield* renewedPast(id, lockedUntil)
          assert.deepStrictEqual(yield* outbox.claim({ now: yield* clockNow, leaseMs: LEASE, limit: 10 }), [])
        }
        // at the send timeout (30 s) the send is abandoned and the message handed back for a retry
        yield* TestClock.adjust("6 seconds")
        yield* TestClock.withLive(eventually(Effect.map(row(id), (r) => r?.status === "queued")))
        assert.strictEqual((yield* row(id))?.lastError, "timed out")
        yield* Fiber.join(worker)
      }))
    })
  })
}
