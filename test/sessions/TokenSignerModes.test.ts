/**
 * Issue 10: live and test are two issuers. A test token never passes a verifier set up for live (the
 * live JWKS and `iss` = PUBLIC_URL), every token says its mode, and a mode-less token (signed before
 * modes existed) is accepted only from a live key.
 */
import { assert, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify, SignJWT } from "jose"
import { type Mode, SessionId, UserId } from "../../src/domain/Ids.ts"
import { randomId } from "../../src/platform/Crypto.ts"
import { loadKey, newKeyMaterial, signingKey } from "../../src/sessions/SigningKeys.ts"
import { type AccessClaims, makeSigner, TokenSigner } from "../../src/sessions/TokenSigner.ts"
import { configLayer, ISSUER, newTenant, nowDate } from "./Fixtures.ts"

const TEST_ISSUER = `${ISSUER}/test`

const claims = (mode: Mode): AccessClaims => {
  const tenant = newTenant()
  return {
    mode, sub: UserId.make(randomId("usr")), aud: tenant, tid: tenant, sid: SessionId.make(randomId("ses")),
    amr: ["otp", "email"], email: "ada@example.com", phone_number: null
  }
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid

/** What a resource server does with a JWKS and an issuer (the README's check), as an outcome. */
const verifyWith = (keys: ReadonlyArray<object>, issuer: string, audience: string, typ?: string) => (token: string) =>
  Effect.flatMap(nowDate, (currentDate) =>
    Effect.promise(() =>
      jwtVerify(token, createLocalJWKSet({ keys: [...keys] }), {
        issuer, audience, algorithms: ["ES256"], currentDate, ...(typ === undefined ? {} : { typ })
      }).then(({ payload }) => payload, (error: Error) => error.name)))

const keyOf = (mode: Mode) => Effect.flatMap(newKeyMaterial, (m) => loadKey(m, { mode, createdAt: new Date(0), retiredAt: null }))

it.layer(TokenSigner.layerTest.pipe(Layer.provide(configLayer)))("TokenSigner modes (in memory)", (it) => {
  it.effect("a test token fails the live verification and passes the test issuer's; the JWKS are disjoint", () =>
    Effect.gen(function*() {
      const signer = yield* TokenSigner
      const now = yield* nowDate
      const live = claims("live")
      const test = { ...claims("test"), aud: live.aud, tid: live.tid }
      const liveAccess = (yield* signer.signAccess(live, 3600, now)).token
      const testAccess = (yield* signer.signAccess(test, 3600, now)).token
      const testId = (yield* signer.signId({
        mode: "test", sub: test.sub, aud: test.aud, sid: test.sid, email: "ceo@customer.example", email_verified: true,
        phone_number: null, phone_number_verified: false
      }, 3600, now)).token

      const liveKeys = (yield* signer.jwks("live")).keys
      const testKeys = (yield* signer.jwks("test")).keys
      assert.deepStrictEqual(liveKeys.map((k) => k.kid), [kidOf(liveAccess)])
      assert.deepStrictEqual(testKeys.map((k) => k.kid), [kidOf(testAccess)])
      assert.strictEqual(kidOf(testId), kidOf(testAccess))
      assert.notStrictEqual(kidOf(liveAccess), kidOf(testAccess))

      const liveCheck = verifyWith(liveKeys, ISSUER, live.tid, "at+jwt")
      assert.deepInclude(yield* liveCheck(liveAccess), { iss: ISSUER, mode: "live", sub: live.sub })
      assert.strictEqual(yield* liveCheck(testAccess), "JWKSNoMatchingKey")
      assert.strictEqual(yield* verifyWith(liveKeys, ISSUER, live.tid)(testId), "JWKSNoMatchingKey")
      // Even a verifier that pools both JWKS but pins the live issuer refuses it.
      assert.strictEqual(yield* verifyWith([...liveKeys, ...testKeys], ISSUER, live.tid, "at+jwt")(testAccess), "JWTClaimValidationFailed")

      assert.deepInclude(yield* verifyWith(testKeys, TEST_ISSUER, test.tid, "at+jwt")(testAccess), { iss: TEST_ISSUER, mode: "test" })
      assert.deepInclude(yield* verifyWith(testKeys, TEST_ISSUER, test.tid)(testId), { iss: TEST_ISSUER, mode: "test", email_verified: true })
      assert.strictEqual((yield* signer.verifyAccess(testAccess, now, test.tid)).mode, "test")
      assert.strictEqual((yield* signer.verifyAccess(liveAccess, now, live.tid)).mode, "live")
    }))
})

it.effect("the mode claim must be the signing key's; a token without one is live only from a live key", () =>
  Effect.gen(function*() {
    const liveKey = yield* keyOf("live")
    const testKey = yield* keyOf("test")
    const signer = yield* makeSigner(ISSUER, [liveKey, testKey])
    const now = yield* nowDate
    const c = claims("live")
    const forge = (key: typeof liveKey, payload: Record<string, unknown>) =>
      Effect.promise(() =>
        new SignJWT({ sub: c.sub, aud: c.aud, tid: c.tid, sid: c.sid, amr: ["otp"], jti: "j", ...payload })
          .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: key.kid })
          .setIssuedAt(Math.floor(now.getTime() / 1000)).setExpirationTime(Math.floor(now.getTime() / 1000) + 600)
          .sign(key.privateKey))
    const outcome = (token: string) =>
      Effect.match(signer.verifyAccess(token, now), { onSuccess: (v) => v.mode, onFailure: (e) => e._tag })

    // Issued before this change: no `mode`, signed by what became the live key.
    assert.strictEqual(yield* outcome(yield* forge(liveKey, { iss: ISSUER })), "live")
    assert.strictEqual(yield* outcome(yield* forge(testKey, { iss: TEST_ISSUER, mode: "test" })), "test")
    const refused: Record<string, Effect.Effect<string>> = {
      "no mode, test key, test issuer": forge(testKey, { iss: TEST_ISSUER }),
      "no mode, test key, live issuer": forge(testKey, { iss: ISSUER }),
      "mode live, test key, test issuer": forge(testKey, { iss: TEST_ISSUER, mode: "live" }),
      "mode live, test key, live issuer": forge(testKey, { iss: ISSUER, mode: "live" }),
      "mode test, test key, live issuer": forge(testKey, { iss: ISSUER, mode: "test" }),
      "mode test, live key, live issuer": forge(liveKey, { iss: ISSUER, mode: "test" }),
      "mode live, live key, test issuer": forge(liveKey, { iss: TEST_ISSUER, mode: "live" }),
      "unknown mode, live key": forge(liveKey, { iss: ISSUER, mode: "staging" })
    }
    for (const [label, token] of Object.entries(refused)) {
      assert.strictEqual(yield* outcome(yield* token), "TokenInvalid", label)
    }
    // Signing never borrows the other mode's key.
    assert.strictEqual(signingKey([liveKey], "test", now.getTime()), undefined)
    assert.strictEqual(signingKey([liveKey, testKey], "test", now.getTime())?.kid, testKey.kid)
  }))
