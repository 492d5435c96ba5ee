import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { AuthRequestId, TenantId } from "../../src/domain/Ids.ts"
import { type AuthRequestRow, CodeStore, type Key } from "../../src/passwordless/CodeStore.ts"
import { randomId, sha256 } from "../../src/platform/Crypto.ts"

const T0 = 1_800_000_000_000
const at = (ms: number) => new Date(T0 + ms)
const hash = (s: string) => sha256(s)

export const rowFor = (key: Key, overrides: Partial<AuthRequestRow> = {}): AuthRequestRow => ({
  tenantId: key.tenantId, id: AuthRequestId.make(randomId("ar")), mode: key.mode, channel: "email", type: "LINK_OTP",
  identifier: "c@example.com", email: "c@example.com", phone: null, codeHash: hash("code"), codeLength: 6,
  linkHash: hash(randomId("link")), codeChallenge: null, redirectUrl: "https://app.example.com/cb", state: null,
  template: "SIGNIN", locale: null, metadata: { a: 1 }, approval: null, renderOptions: null, clientIp: null,
  userAgent: null, attempts: 0, maxAttempts: 3, resends: 0, lastSentAt: at(0), createdAt: at(0), expiresAt: at(60_000),
  verifiedAt: null, userId: null, ...overrides
})

const code = (h: Uint8Array) => ({ _tag: "Code" as const, hash: h })

/** One contract, run against every CodeStore layer, so the in-memory reference cannot drift from PostgreSQL. */
export const codeStoreContract = <E>(name: string, store: Layer.Layer<CodeStore, E>) =>
  describe(`CodeStore contract: ${name}`, () => {
    layer(store, { timeout: 60_000 })((it) => {
      const fresh = Effect.sync((): Key => ({ tenantId: TenantId.make(randomId("ten")), mode: "live" }))

      it.effect("insert/get round-trips; other tenants and modes see nothing", () =>
        Effect.gen(function* () {
          const s = yield* CodeStore
          const key = yield* fresh
          const row = rowFor(key)
          yield* s.insert(row)
          const got = yield* s.get(key, row.id)
          assert.strictEqual(got?.id, row.id)
          assert.deepStrictEqual(got?.metadata, { a: 1 })
          assert.strictEqual(got?.expiresAt.getTime(), row.expiresAt.getTime())
          assert.isUndefined(yield* s.get({ ...key, mode: "test" }, row.id))
          assert.isUndefined(yield* s.get(yield* fresh, row.id))
        }))

      it.effect("consume: wrong proof counts an attempt, right proof verifies once, then ALREADY_USED", () =>
        Effect.gen(function* () {
          const s = yield* CodeStore
          const key = yield* fresh
          const row = rowFor(key)
          yield* s.insert(row)
          const wrong = yield* s.consume(key, { id: row.id, proof: code(hash("nope")) }, at(1))
          assert.deepStrictEqual([wrong._tag, wrong._tag === "Invalid" ? wrong.attemptsRemaining : -1], ["Invalid", 2])
          const ok = yield* s.consume(key, { id: row.id, proof: code(hash("code")) }, at(2))
          assert.strictEqual(ok._tag, "Verified")
          assert.strictEqual((yield* s.consume(key, { id: row.id, proof: code(hash("code")) }, at(3)))._tag, "AlreadyUsed")
        }))

      it.effect("consume: the attempt cap holds and expiry is exact (now >= expiresAt is expired)", () =>
        Effect.gen(function* () {
          const s = yield* CodeStore
          const key = yield* fresh
          const capped = rowFor(key)
          yield* s.insert(capped)
          for (let i = 0; i < 3; i++) yield* s.consume(key, { id: capped.id, proof: code(hash("x")) }, at(1))
          assert.strictEqual((yield* s.consume(key, { id: capped.id, proof: code(hash("code")) }, at(1)))._tag, "Locked")
          assert.strictEqual((yield* s.get(key, capped.id))?.attempts, 3)
          const timed = rowFor(key)
          yield* s.insert(timed)
          assert.strictEqual((yield* s.consume(key, { id: timed.id, proof: code(hash("code")) }, at(60_000)))._tag, "Expired")
          assert.strictEqual((yield* s.consume(key, { id: timed.id, proof: code(hash("code")) }, at(59_999)))._tag, "Verified")
        }))

      it.effect("consume by link hash alone; PKCE challenge must match; unknown link is NotFound", () =>
        Effect.gen(function* () {
          const s = yield* CodeStore
          const key = yield* fresh
          const row = rowFor(key, { codeChallenge: "challenge" })
          yield* s.insert(row)
          const link = row.linkHash ?? new Uint8Array()
          const bad = yield* s.consume(key, { id: null, proof: { _tag: "Link", hash: link, challenge: "other" } }, at(1))
          assert.strictEqual(bad._tag, "Invalid")
          const good = yield* s.consume(key, { id: null, proof: { _tag: "Link", hash: link, challenge: "challenge" } }, at(2))
          assert.strictEqual(good._tag, "Verified")
          const none = yield* s.consume(key, { id: null, proof: { _tag: "Link", hash: hash("zz"), challenge: null } }, at(3))
          assert.strictEqual(none._tag, "NotFound")
          const other = rowFor(key)
          yield* s.insert(other)
          const crossed = yield* s.consume(key, { id: row.id, proof: { _tag: "Link", hash: other.linkHash ?? new Uint8Array(), challenge: null } }, at(4))
          assert.strictEqual(crossed._tag, "OriginMismatch")
          assert.strictEqual((yield* s.get(key, other.id))?.attempts, 0)
        }))

      it.effect("identifier failures lock every request of that identifier; reset clears the count", () =>
        Effect.gen(function* () {
          const s = yield* CodeStore
          const key = yield* fresh
          const row = rowFor(key)
          yield* s.insert(row)
          const policy = { maxFailures: 2, lockMs: 10_000 }
          yield* s.recordFailure(key, row.identifier, policy, at(0))
          yield* s.resetFailures(key, row.identifier, at(0))
          yield* s.recordFailure(key, row.identifier, policy, at(0))
          assert.strictEqual((yield* s.consume(key, { id: row.id, proof: code(hash("code")) }, at(1)))._tag, "Verified")
          const other = rowFor(key)
          yield* s.insert(other)
          yield* s.recordFailure(key, other.identifier, policy, at(2))
          yield* s.recordFailure(key, other.identifier, policy, at(3))
          const locked = yield* s.consume(key, { id: other.id, proof: code(hash("code")) }, at(4))
          assert.deepStrictEqual([locked._tag, locked._tag === "Locked" ? locked.retryAfterMs : 0], ["Locked", 9_998])
          assert.strictEqual((yield* s.consume(key, { id: other.id, proof: code(hash("code")) }, at(10_003)))._tag, "Verified")
        }))

      it.effect("resend: cooldown, cap, new credentials replace the old, attempts unchanged", () =>
        Effect.gen(function* () {
          const s = yield* CodeStore
          const key = yield* fresh
          const row = rowFor(key, { expiresAt: at(600_000) })
          yield* s.insert(row)
          yield* s.consume(key, { id: row.id, proof: code(hash("x")) }, at(1))
          const update = { codeHash: hash("new"), linkHash: null, cooldownMs: 30_000, maxResends: 1 }
          const soon = yield* s.resend(key, row.id, update, at(29_999))
          assert.deepStrictEqual([soon._tag, soon._tag === "TooSoon" ? soon.retryAfterMs : 0], ["TooSoon", 1])
          const ok = yield* s.resend(key, row.id, update, at(30_000))
          assert.deepStrictEqual([ok._tag, ok._tag === "Resent" ? ok.request.attempts : -1], ["Resent", 1])
          assert.strictEqual((yield* s.resend(key, row.id, update, at(60_000)))._tag, "TooMany")
          assert.strictEqual((yield* s.consume(key, { id: row.id, proof: code(hash("code")) }, at(60_001)))._tag, "Invalid")
          assert.strictEqual((yield* s.consume(key, { id: row.id, proof: code(hash("new")) }, at(60_002)))._tag, "Verified")
          assert.strictEqual((yield* s.resend(key, row.id, update, at(60_003)))._tag, "AlreadyUsed")
        }))

      it.effect("concurrent consumes of one right code: exactly one Verified", () =>
        Effect.gen(function* () {
          const s = yield* CodeStore
          const key = yield* fresh
          const row = rowFor(key, { maxAttempts: 100 })
          yield* s.insert(row)
          const results = yield* Effect.forEach(Array.from({ length: 30 }), () =>
            s.consume(key, { id: row.id, proof: code(hash("code")) }, at(1)), { concurrency: "unbounded" })
          assert.strictEqual(results.filter((r) => r._tag === "Verified").length, 1)
        }))
    })
  })
