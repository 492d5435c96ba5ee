import { assert, describe, it } from "@effect/vitest"
import { Effect, Exit, Layer, Scope } from "effect"
import { CapturedMail, layerCapture, Mailer } from "../../src/delivery/Mailer.ts"
import { Outbox } from "../../src/delivery/Outbox.ts"
import { DeliveryWorker, layerWith } from "../../src/delivery/Worker.ts"
import { backends, clockNow, eventually, newMessage, reset, row, TENANT, withOutbox } from "./fixtures.ts"

// The loop on the live clock. A long poll interval means only `wake` (or the lease running out) can
// explain a delivery within the test's few seconds.
const idle = { pollMs: 60_000 }
const statusOf = (id: string) => Effect.map(row(id), (r) => r?.status)

for (const [name, db] of backends) {
  describe(`DeliveryWorker on ${name}`, () => {
    it.layer(withOutbox(db), { excludeTestServices: true, timeout: "120 seconds" })((it) => {
      it.effect("wake: a message enqueued after start is delivered at once, not at the next poll", () =>
        Effect.gen(function* () {
          yield* reset
          const worker = yield* DeliveryWorker
          yield* Effect.sleep(200) // the loop's first pass is over; it now waits for a minute
          const id = yield* (yield* Outbox).enqueue(newMessage(), yield* clockNow)
          yield* worker.wake
          yield* eventually(Effect.map(statusOf(id), (s) => s === "sent"))
          assert.strictEqual((yield* (yield* CapturedMail).sent).length, 1)
        }).pipe(Effect.provide(layerWith(idle).pipe(Layer.provideMerge(layerCapture)))))

      it.effect("deliverNow sends inline and reports the provider", () =>
        Effect.gen(function* () {
          yield* reset
          const worker = yield* DeliveryWorker
          const id = yield* (yield* Outbox).enqueue(newMessage(), yield* clockNow)
          assert.deepStrictEqual(yield* worker.deliverNow(TENANT, id), { provider: "capture" })
          assert.strictEqual((yield* (yield* CapturedMail).sent).length, 1)
          assert.strictEqual(yield* statusOf(id), "sent")
        }).pipe(Effect.provide(layerWith(idle).pipe(Layer.provideMerge(layerCapture)))))

      it.effect("deliverNow on failure answers DeliveryFailed and leaves the message queued for retries", () =>
        Effect.gen(function* () {
          yield* reset
          const worker = yield* DeliveryWorker
          yield* (yield* CapturedMail).setFailure("ECONNECTION: connect ECONNREFUSED")
          const id = yield* (yield* Outbox).enqueue(newMessage(), yield* clockNow)
          const error = yield* Effect.flip(worker.deliverNow(TENANT, id))
          assert.strictEqual(error._tag, "DeliveryFailed")
          const queued = yield* row(id)
          assert.strictEqual(queued?.status, "queued")
          assert.strictEqual(queued?.attempts, 1)
          assert.strictEqual(queued?.lastError, "ECONNECTION: connect ECONNREFUSED")
        }).pipe(Effect.provide(layerWith(idle).pipe(Layer.provideMerge(layerCapture)))))

      it.effect("deliverNow of a test-mode message hands nothing to the Mailer", () =>
        Effect.gen(function* () {
          yield* reset
          const id = yield* (yield* Outbox).enqueue(newMessage({ mode: "test" }), yield* clockNow)
          assert.deepStrictEqual(yield* (yield* DeliveryWorker).deliverNow(TENANT, id), { provider: "test-outbox" })
          assert.strictEqual((yield* (yield* CapturedMail).sent).length, 0)
        }).pipe(Effect.provide(layerWith(idle).pipe(Layer.provideMerge(layerCapture)))))

      it.effect("after a shutdown mid-send and a restart, each message is delivered exactly once", () =>
        Effect.gen(function* () {
          yield* reset
          const outbox = yield* Outbox
          const lease = { pollMs: 50, leaseMs: 500 }
          // Process 1 claims the message, then shuts down while its SMTP server hangs. (A hard crash, where
          // no finalizer runs and the lease must run out, is covered by Outbox.test.ts and e2e/restart.pg.test.ts.)
          const hanging = Layer.succeed(Mailer)({ send: () => Effect.never })
          const first = yield* Scope.make()
          const crashed = yield* outbox.enqueue(newMessage({ recipient: "crash@example.com" }), yield* clockNow)
          yield* Layer.buildWithScope(layerWith(lease).pipe(Layer.provide(hanging)), first)
          yield* eventually(Effect.map(statusOf(crashed), (s) => s === "sending"))
          yield* Scope.close(first, Exit.void)
          // Enqueued while no worker runs at all.
          const waiting = yield* outbox.enqueue(newMessage({ recipient: "later@example.com" }), yield* clockNow)
          // the shutdown handed the message back instead of leaving it leased
          assert.strictEqual(yield* statusOf(crashed), "queued")

          // Process 2 starts on the same database: the dead lease runs out and both go out once.
          yield* Effect.gen(function* () {
            const captured = yield* CapturedMail
            yield* eventually(Effect.map(captured.sent, (sent) => sent.length === 2))
            yield* Effect.sleep(800) // longer than a lease: nothing is sent twice
            assert.deepStrictEqual((yield* captured.sent).map((m) => m.to).sort(), ["crash@example.com", "later@example.com"])
          }).pipe(Effect.provide(layerWith(lease).pipe(Layer.provideMerge(layerCapture))))
          assert.strictEqual((yield* row(crashed))?.attempts, 2)
          assert.strictEqual((yield* row(waiting))?.attempts, 1)
          assert.strictEqual(yield* statusOf(waiting), "sent")
        }))
    })
  })
}
