import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { CapturedMail, layerCapture, Mailer, MailerError } from "../../src/delivery/Mailer.ts"
import { Outbox } from "../../src/delivery/Outbox.ts"
import { defaults, retryDelayMs, runOnce } from "../../src/delivery/Worker.ts"
import { backends, clockNow, events, newMessage, reset, row, withOutbox } from "./fixtures.ts"

const options = { ...defaults, retryBaseMs: 1000 }

describe("retryDelayMs", () => {
  it("is full jitter over base · 2^(attempt-1), capped at one hour", () => {
    assert.strictEqual(retryDelayMs(1, 1000, 0), 0)
    assert.strictEqual(retryDelayMs(1, 1000, 0.999), 999)
    assert.strictEqual(retryDelayMs(4, 1000, 0.5), 4000)
    assert.strictEqual(retryDelayMs(30, 1000, 0.999), 3_596_400)
  })
})

const failingMailer = (error: MailerError) => Layer.succeed(Mailer)({ send: () => Effect.fail(error) })

for (const [name, db] of backends) {
  describe(`runOnce on ${name}`, () => {
    it.layer(withOutbox(db), { excludeTestServices: true, timeout: "120 seconds" })((it) => {
      // Fresh capture and a TestClock per test; the database is shared and emptied by `reset`.
      const test = <E>(title: string, body: Effect.Effect<void, E, Outbox | Mailer | CapturedMail | SqlClient.SqlClient>) =>
        it.effect(title, () =>
          Effect.andThen(reset, body).pipe(Effect.provide(Layer.merge(layerCapture, TestClock.layer())), Effect.orDie))

      test("interrupted mid-send (shutdown): the message is handed back at once, not left leased", Effect.gen(function* () {
        const outbox = yield* Outbox
        const start = yield* clockNow
        const id = yield* outbox.enqueue(newMessage(), start)
        const hanging = Layer.succeed(Mailer)({ send: () => Effect.never })
        const fiber = yield* Effect.forkChild(runOnce(options).pipe(Effect.provide(hanging)))
        yield* TestClock.withLive(Effect.sleep("300 millis"))
        assert.strictEqual((yield* row(id))?.status, "sending")
        yield* Fiber.interrupt(fiber)
        const back = yield* row(id)
        assert.strictEqual(back?.status, "queued")
        assert.strictEqual(back?.lastError, "interrupted by shutdown")
        assert.isAtMost(back?.nextAttemptAt.getTime() ?? Infinity, start.getTime())
        assert.strictEqual(yield* runOnce(options), 1)
      }))

      test("delivers a due message through the Mailer and wipes its payload", Effect.gen(function* () {
        const outbox = yield* Outbox
        const id = yield* outbox.enqueue(newMessage(), yield* clockNow)
        assert.strictEqual(yield* runOnce(options), 1)
        const [mail] = yield* (yield* CapturedMail).sent
        assert.deepStrictEqual(mail, {
          to: "ada@example.com", fromName: "Acme", subject: "Your sign-in code", text: "Your code: 123456",
          html: "<p>Your code: <b>123456</b></p>", replyTo: null, hint: "code 123456"
        })
        const sent = yield* row(id)
        assert.strictEqual(sent?.status, "sent")
        assert.strictEqual(sent?.provider, "capture")
        assert.strictEqual(sent?.payloadEnc, null)
        assert.strictEqual(yield* runOnce(options), 0)
      }))

      test("SMTP down: stays queued with attempts and last error; delivered once SMTP is back", Effect.gen(function* () {
        const outbox = yield* Outbox
        const captured = yield* CapturedMail
        yield* captured.setFailure("ECONNECTION: connect ECONNREFUSED")
        const start = yield* clockNow
        const id = yield* outbox.enqueue(newMessage(), start)
        yield* runOnce(options)
        const queued = yield* row(id)
        assert.strictEqual(queued?.status, "queued")
        assert.strictEqual(queued?.attempts, 1)
        assert.strictEqual(queued?.lastError, "ECONNECTION: connect ECONNREFUSED")
        assert.isAtMost(queued?.nextAttemptAt.getTime() ?? Infinity, start.getTime() + options.retryBaseMs)

        yield* captured.setFailure(null)
        yield* TestClock.adjust("1 hour")
        yield* runOnce(options)
        assert.strictEqual((yield* captured.sent).length, 1)
        assert.strictEqual((yield* row(id))?.status, "sent")
        assert.strictEqual((yield* row(id))?.attempts, 2)
        assert.strictEqual((yield* row(id))?.lastError, null)
      }))

      test("after the last attempt the message fails and delivery.failed is raised", Effect.gen(function* () {
        const outbox = yield* Outbox
        yield* (yield* CapturedMail).setFailure("ETIMEDOUT: greeting never received")
        const id = yield* outbox.enqueue(newMessage(), yield* clockNow)
        for (let attempt = 1; attempt <= options.maxAttempts; attempt++) {
          assert.strictEqual((yield* row(id))?.status, "queued")
          assert.strictEqual(yield* runOnce(options), 1)
          yield* TestClock.adjust("1 hour")
        }
        const failed = yield* row(id)
        assert.strictEqual(failed?.status, "failed")
        assert.strictEqual(failed?.attempts, options.maxAttempts)
        assert.strictEqual(failed?.payloadEnc, null)
        assert.deepStrictEqual((yield* events).map((e) => e.type), ["delivery.failed"])
        assert.strictEqual(yield* runOnce(options), 0)
      }))

      test("an expired request's message is skipped, never sent", Effect.gen(function* () {
        const outbox = yield* Outbox
        const now = yield* clockNow
        const id = yield* outbox.enqueue(newMessage({ expiresAt: new Date(now.getTime() + 300_000) }), now)
        yield* TestClock.adjust("5 minutes")
        yield* runOnce(options)
        assert.strictEqual((yield* (yield* CapturedMail).sent).length, 0)
        assert.strictEqual((yield* row(id))?.status, "skipped")
      }))

      test("test-mode messages are never handed to the Mailer", Effect.gen(function* () {
        const outbox = yield* Outbox
        const id = yield* outbox.enqueue(newMessage({ mode: "test" }), yield* clockNow)
        yield* TestClock.adjust("1 minute")
        assert.strictEqual(yield* runOnce(options), 0)
        assert.strictEqual((yield* (yield* CapturedMail).sent).length, 0)
        assert.strictEqual((yield* row(id))?.provider, "test-outbox")
      }))

      test("a permanent rejection fails at once", Effect.gen(function* () {
        const outbox = yield* Outbox
        const id = yield* outbox.enqueue(newMessage(), yield* clockNow)
        yield* runOnce(options).pipe(
          Effect.provide(failingMailer(new MailerError({ reason: "EENVELOPE 550: no such user", permanent: true })))
        )
        assert.strictEqual((yield* row(id))?.status, "failed")
        assert.strictEqual((yield* row(id))?.attempts, 1)
        assert.strictEqual((yield* events).length, 1)
      }))

      test("a defect in the Mailer is one failed attempt, not the end of the pass", Effect.gen(function* () {
        const outbox = yield* Outbox
        const a = yield* outbox.enqueue(newMessage(), yield* clockNow)
        const b = yield* outbox.enqueue(newMessage(), yield* clockNow)
        yield* runOnce(options).pipe(Effect.provide(Layer.succeed(Mailer)({ send: () => Effect.die("bug") })))
        for (const id of [a, b]) {
          assert.strictEqual((yield* row(id))?.status, "queued")
          assert.strictEqual((yield* row(id))?.lastError, "internal error")
        }
      }))
    })
  })
}
