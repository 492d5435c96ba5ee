import { assert, describe, it } from "@effect/vitest"
import { Effect } from "effect"
import { TestClock } from "effect/testing"
import fc from "fast-check"
import { type RiskSignals, scoreOf } from "../../src/risk/Score.ts"
import { isDisposableDomain, RiskScorer } from "../../src/risk/RiskScorer.ts"
import { PHONE_TYPES } from "../../src/domain/Phone.ts"
import { classifyPhone } from "../../src/domain/Phone.ts"
import type { Mode, TenantId } from "../../src/domain/Ids.ts"

const count = fc.integer({ min: 0, max: 1000 })
const signals: fc.Arbitrary<RiskSignals> = fc.record({
  phoneType: fc.constantFrom(...PHONE_TYPES),
  countryAllowed: fc.boolean(),
  phoneSends: count,
  ipPhones: count,
  prefixSends: count,
  failedVerifications: count,
  disposableEmail: fc.boolean()
})
const numeric = ["phoneSends", "ipPhones", "prefixSends", "failedVerifications"] as const

describe("risk score", () => {
  it("is always in [0, 1] and lists only signals that raised it", () =>
    fc.assert(fc.property(signals, (s) => {
      const { score, signals: names } = scoreOf(s)
      assert.isAtLeast(score, 0)
      assert.isAtMost(score, 1)
      assert.strictEqual(score === 0, names.length === 0)
    })))

  it("never decreases when any one numeric signal grows", () =>
    fc.assert(fc.property(signals, fc.constantFrom(...numeric), fc.integer({ min: 0, max: 1000 }), (s, key, more) => {
      assert.isAtLeast(scoreOf({ ...s, [key]: s[key] + more }).score, scoreOf(s).score)
    })))

  it("never decreases when a boolean signal turns risky", () =>
    fc.assert(fc.property(signals, (s) => {
      assert.isAtLeast(scoreOf({ ...s, countryAllowed: false }).score, scoreOf({ ...s, countryAllowed: true }).score)
      assert.isAtLeast(scoreOf({ ...s, disposableEmail: true }).score, scoreOf({ ...s, disposableEmail: false }).score)
    })))

  it("a riskier line type never lowers the score than a mobile number", () =>
    fc.assert(fc.property(signals, (s) => {
      assert.isAtLeast(scoreOf(s).score, scoreOf({ ...s, phoneType: "mobile" }).score)
    })))

  it.effect("is deterministic for the same inputs at the same TestClock time", () =>
    Effect.gen(function* () {
      const scorer = yield* RiskScorer
      const phone = classifyPhone("+447400123456")
      assert.isDefined(phone)
      if (phone === undefined) return
      yield* TestClock.adjust("3 hours")
      const input = {
        tenantId: "ten_1" as TenantId, mode: "live" as Mode, phone, ip: "203.0.113.9", emailDomain: "mailinator.com",
        allowedCountries: ["FR"], nowMs: 3 * 3_600_000
      }
      const a = yield* scorer.score(input)
      const b = yield* scorer.score(input)
      assert.deepStrictEqual(a, b)
      assert.deepStrictEqual(a.signals, ["country_not_allowed", "disposable_email"])
      fc.assert(fc.property(signals, (s) => assert.deepStrictEqual(scoreOf(s), scoreOf({ ...s }))))
    }).pipe(Effect.provide(RiskScorer.layerTest)))

  it("disposable domains come from the maintained blocklist package, subdomains included", () => {
    for (const d of ["mailinator.com", "yopmail.com", "guerrillamail.com", "sharklasers.com", "10minutemail.com", "Maildrop.CC"]) {
      assert.isTrue(isDisposableDomain(d), d)
    }
    assert.isTrue(isDisposableDomain("inbox.mailinator.com"))
    for (const d of ["gmail.com", "example.com", "outlook.com", "acme.co.uk", "com", ""]) assert.isFalse(isDisposableDomain(d), d)
  })
})
