import { assert, describe, it } from "@effect/vitest"
import { Effect, Schema } from "effect"
import { TestClock } from "effect/testing"
import { Passwordless } from "../../src/passwordless/Passwordless.ts"
import { PasswordlessTest, testCaller } from "../support/TestLayers.ts"

const Op = Schema.Union([
  Schema.Struct({ _tag: Schema.Literal("advance"), ms: Schema.Int.check(Schema.isBetween({ minimum: 0, maximum: 400_000 })) }),
  Schema.Struct({ _tag: Schema.Literal("guess"), right: Schema.Boolean })
])

const wrongCode = (code: string) => (code === "000000" ? "111111" : "000000")

describe("Passwordless (test layers, TestClock)", () => {
  it.effect.prop(
    "a verify succeeds iff the code is right, unexpired at that instant, unused, and under the attempt cap",
    {
      expiresIn: Schema.Int.check(Schema.isBetween({ minimum: 60, maximum: 900 })),
      ops: Schema.Array(Op).check(Schema.isMaxLength(14))
    },
    ({ expiresIn, ops }) =>
      Effect.gen(function* () {
        const pw = yield* Passwordless
        const sent = yield* pw.send(testCaller, { email: "prop@example.com", expiresIn })
        const code = sent.code ?? ""
        let elapsed = 0
        let wrong = 0
        let used = false
        for (const op of ops) {
          if (op._tag === "advance") {
            yield* TestClock.adjust(op.ms)
            elapsed += op.ms
            continue
          }
          const result = yield* Effect.result(pw.verify(testCaller, {
            authRequestId: sent.authRequestId, code: op.right ? code : wrongCode(code)
          }))
          const expected = op.right && elapsed < expiresIn * 1000 && !used && wrong < 5
          assert.strictEqual(result._tag === "Success", expected)
          if (result._tag === "Success") used = true
          else if (!used && elapsed < expiresIn * 1000 && wrong < 5) {
            assert.strictEqual(result.failure._tag, "CodeInvalid")
            wrong++
          }
          const status = yield* pw.status(testCaller, sent.authRequestId)
          assert.isAtMost(status.attempts, status.maxAttempts)
        }
      }).pipe(Effect.provide(PasswordlessTest))
  )

  it.effect("expiry is exact: valid 1 ms before expiresAt, CODE_EXPIRED at it", () =>
    Effect.gen(function* () {
      const pw = yield* Passwordless
      const a = yield* pw.send(testCaller, { email: "edge@example.com", expiresIn: 60 })
      const b = yield* pw.send(testCaller, { email: "edge2@example.com", expiresIn: 60 })
      yield* TestClock.adjust(59_999)
      const ok = yield* pw.verify(testCaller, { authRequestId: a.authRequestId, code: a.code ?? "" })
      assert.strictEqual(ok.authRequest.id, a.authRequestId)
      yield* TestClock.adjust(1)
      const expired = yield* Effect.flip(pw.verify(testCaller, { authRequestId: b.authRequestId, code: b.code ?? "" }))
      assert.strictEqual(expired._tag, "CodeExpired")
    }).pipe(Effect.provide(PasswordlessTest)))

  it.effect("a resend (rotate) voids the old code, keeps the attempt count, and respects the cooldown", () =>
    Effect.gen(function* () {
      const pw = yield* Passwordless
      const sent = yield* pw.send(testCaller, { email: "resend@example.com" })
      yield* Effect.flip(pw.verify(testCaller, { authRequestId: sent.authRequestId, code: wrongCode(sent.code ?? "") }))
      const early = yield* Effect.flip(pw.resend(testCaller, sent.authRequestId))
      assert.strictEqual(early._tag, "ResendTooSoon")
      yield* TestClock.adjust("30 seconds")
      const again = yield* pw.resend(testCaller, sent.authRequestId)
      assert.notStrictEqual(again.code, undefined)
      if (again.code !== sent.code) {
        const old = yield* Effect.flip(pw.verify(testCaller, { authRequestId: sent.authRequestId, code: sent.code ?? "" }))
        assert.strictEqual(old._tag, "CodeInvalid")
        assert.strictEqual(old._tag === "CodeInvalid" ? old.attemptsRemaining : -1, 3)
      }
      const status = yield* pw.status(testCaller, sent.authRequestId)
      assert.strictEqual(status.resends, 1)
      const ok = yield* pw.verify(testCaller, { authRequestId: sent.authRequestId, code: again.code ?? "" })
      assert.strictEqual(ok.authRequest.id, sent.authRequestId)
    }).pipe(Effect.provide(PasswordlessTest)))

  it.effect("wrong codes count per identifier across requests: a resend or a new request does not reset them", () =>
    Effect.gen(function* () {
      const pw = yield* Passwordless
      // 20 consecutive failures (default maxFailuresPerIdentifier) over four requests of five guesses each
      for (let i = 0; i < 4; i++) {
        const sent = yield* pw.send(testCaller, { email: "victim@example.com" })
        for (let j = 0; j < 5; j++) {
          yield* Effect.flip(pw.verify(testCaller, { authRequestId: sent.authRequestId, code: wrongCode(sent.code ?? "") }))
        }
      }
      const fresh = yield* pw.send(testCaller, { email: "victim@example.com" })
      const locked = yield* Effect.flip(pw.verify(testCaller, { authRequestId: fresh.authRequestId, code: fresh.code ?? "" }))
      assert.strictEqual(locked._tag, "TooManyAttempts")
      yield* TestClock.adjust("15 minutes")
      const later = yield* pw.send(testCaller, { email: "victim@example.com" })
      const ok = yield* pw.verify(testCaller, { authRequestId: later.authRequestId, code: later.code ?? "" })
      assert.strictEqual(ok.authRequest.id, later.authRequestId)
    }).pipe(Effect.provide(PasswordlessTest)))
})
