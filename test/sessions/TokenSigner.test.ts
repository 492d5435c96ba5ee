import { assert, it } from "@effect/vitest"
import { Context, Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { createLocalJWKSet, decodeProtectedHeader, generateKeyPair, jwtVerify, SignJWT } from "jose"
import { type Mode, SessionId, UserId } from "../../src/domain/Ids.ts"
import { randomId } from "../../src/platform/Crypto.ts"
import { type AccessClaims, TokenSigner } from "../../src/sessions/TokenSigner.ts"
import { configLayer, ISSUER, newTenant, nowDate } from "./Fixtures.ts"

const claims = (mode: Mode = "live"): AccessClaims => {
  const tenant = newTenant()
  return {
    mode,
    sub: UserId.make(randomId("usr")),
    aud: tenant,
    tid: tenant,
    sid: SessionId.make(randomId("ses")),
    amr: ["otp", "email"],
    email: "ada@example.com",
    phone_number: null
  }
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
const part = (token: string, i: number) => token.split(".")[i] ?? ""
const promise = <A>(f: () => Promise<A>) => Effect.promise(f)

const rejects = (token: string, tag: "TokenInvalid" | "TokenExpired" = "TokenInvalid") =>
  Effect.gen(function*() {
    const signer = yield* TokenSigner
    const error = yield* Effect.flip(signer.verifyAccess(token, yield* nowDate))
    assert.strictEqual(error._tag, tag)
  })

it.layer(TokenSigner.layerTest.pipe(Layer.provide(configLayer)))("TokenSigner (in memory)", (it) => {
  it.effect("access token: a standard library verifies it through the JWKS (RFC 9068)", () =>
    Effect.gen(function*() {
      const signer = yield* TokenSigner
      const c = claims()
      const now = yield* nowDate
      const { token, expiresAt } = yield* signer.signAccess(c, 3600, now)
      const jwks = yield* signer.jwks("live")
      const { payload, protectedHeader } = yield* promise(() =>
        jwtVerify(token, createLocalJWKSet({ keys: [...jwks.keys] }), {
          issuer: ISSUER, audience: c.tid, typ: "at+jwt", algorithms: ["ES256"], currentDate: now
        }))
      assert.strictEqual(protectedHeader.alg, "ES256")
      assert.strictEqual(protectedHeader.typ, "at+jwt")
      assert.strictEqual(protectedHeader.kid, jwks.keys[0]?.kid)
      assert.strictEqual(expiresAt, Math.floor(now.getTime() / 1000) + 3600)
      assert.deepStrictEqual(
        { ...payload, jti: undefined },
        { iss: ISSUER, mode: "live", sub: c.sub, aud: c.tid, tid: c.tid, sid: c.sid, amr: ["otp", "email"], email: "ada@example.com",
          iat: Math.floor(now.getTime() / 1000), exp: expiresAt, jti: undefined }
      )
      assert.isString(payload.jti)
      assert.notProperty(payload, "phone_number")
      const verified = yield* signer.verifyAccess(token, now, c.tid)
      assert.strictEqual(verified.sub, c.sub)
      assert.strictEqual(verified.mode, "live")
      assert.strictEqual(verified.phone_number, null)
      assert.deepStrictEqual(verified.amr, ["otp", "email"])
    }))

  it.effect("JWKS: public members only", () =>
    Effect.gen(function*() {
      const { keys } = yield* (yield* TokenSigner).jwks("live")
      assert.strictEqual(keys.length, 1)
      assert.deepStrictEqual(Object.keys(keys[0] ?? {}).sort(), ["alg", "crv", "kid", "kty", "use", "x", "y"])
      assert.include(keys[0], { kty: "EC", crv: "P-256", alg: "ES256", use: "sig" })
    }))

  it.effect("id token: OpenID claims, typ JWT", () =>
    Effect.gen(function*() {
      const signer = yield* TokenSigner
      const c = claims()
      const now = yield* nowDate
      const { token } = yield* signer.signId({
        mode: "live", sub: c.sub, aud: c.tid, sid: c.sid, email: "ada@example.com", email_verified: true, phone_number: null,
        phone_number_verified: false
      }, 3600, now)
      const jwks = createLocalJWKSet({ keys: [...(yield* signer.jwks("live")).keys] })
      const { payload, protectedHeader } = yield* promise(() =>
        jwtVerify(token, jwks, { issuer: ISSUER, audience: c.tid, currentDate: now }))
      assert.strictEqual(protectedHeader.typ, "JWT")
      assert.include(payload, { mode: "live", sub: c.sub, sid: c.sid, email: "ada@example.com", email_verified: true })
      assert.strictEqual(payload.auth_time, Math.floor(now.getTime() / 1000))
      assert.notProperty(payload, "phone_number")
      assert.notProperty(payload, "phone_number_verified")
      // RFC 8725 §3.11: an id token is never accepted as an access token.
      yield* rejects(token)
    }))

  it.effect("rejects another audience, unless none is asked for", () =>
    Effect.gen(function*() {
      const signer = yield* TokenSigner
      const c = claims()
      const { token } = yield* signer.signAccess(c, 3600, yield* nowDate)
      const error = yield* Effect.flip(signer.verifyAccess(token, yield* nowDate, newTenant()))
      assert.strictEqual(error._tag, "TokenInvalid")
      assert.strictEqual((yield* signer.verifyAccess(token, yield* nowDate)).tid, c.tid)
    }))

  it.effect("rejects alg none, HS256 keyed with the public key, a modified payload, garbage", () =>
    Effect.gen(function*() {
      const signer = yield* TokenSigner
      const c = claims()
      const now = yield* nowDate
      const { token } = yield* signer.signAccess(c, 3600, now)
      const header = decodeProtectedHeader(token)
      const payload = JSON.parse(Buffer.from(part(token, 1), "base64url").toString()) as Record<string, unknown>

      yield* rejects(`${b64({ alg: "none", typ: "at+jwt", kid: header.kid })}.${part(token, 1)}.`)
      const jwk = (yield* signer.jwks("live")).keys[0]
      const hmacKey = new TextEncoder().encode(JSON.stringify(jwk))
      yield* rejects(yield* promise(() =>
        new SignJWT(payload).setProtectedHeader({ alg: "HS256", typ: "at+jwt", kid: header.kid ?? "" }).sign(hmacKey)))
      yield* rejects(`${part(token, 0)}.${b64({ ...payload, sub: UserId.make(randomId("usr")) })}.${part(token, 2)}`)
      yield* rejects(`${part(token, 0)}.${part(token, 1)}.${part(token, 2).slice(0, -4)}AAAA`)
      for (const garbage of ["", "garbage", "a.b.c", `${part(token, 0)}..`, "e30.e30.e30"]) yield* rejects(garbage)
    }))

  it.effect("rejects a key that is not ours, even under our kid", () =>
    Effect.gen(function*() {
      const signer = yield* TokenSigner
      const c = claims()
      const now = yield* nowDate
      const ours = decodeProtectedHeader((yield* signer.signAccess(c, 3600, now)).token).kid ?? ""
      const { privateKey } = yield* promise(() => generateKeyPair("ES256"))
      const forge = (kid: string) =>
        promise(() =>
          new SignJWT({ ...c, amr: [...c.amr], iss: ISSUER, jti: "x" }).setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid })
            .setIssuedAt(Math.floor(now.getTime() / 1000)).setExpirationTime(Math.floor(now.getTime() / 1000) + 60)
            .sign(privateKey))
      yield* rejects(yield* forge("unknown-kid"))
      yield* rejects(yield* forge(ours))
    }))

  it.effect("expiry: 60 s of leeway, then TokenExpired", () =>
    Effect.gen(function*() {
      const signer = yield* TokenSigner
      const { token } = yield* signer.signAccess(claims(), 600, yield* nowDate)
      yield* TestClock.adjust("10 minutes")
      yield* TestClock.adjust("59 seconds")
      yield* signer.verifyAccess(token, yield* nowDate)
      yield* TestClock.adjust("2 seconds")
      yield* rejects(token, "TokenExpired")
    }))

  it.effect("rejects another deployment's token", () =>
    Effect.gen(function*() {
      const signer = yield* TokenSigner
      const c = claims()
      const { token } = yield* signer.signAccess(c, 3600, yield* nowDate)
      const verified = yield* signer.verifyAccess(token, yield* nowDate)
      assert.strictEqual(verified.iss, ISSUER)
      const other = yield* Layer.build(Layer.fresh(TokenSigner.layerTest).pipe(Layer.provide(configLayer)))
      const foreign = yield* Context.get(other, TokenSigner).signAccess(c, 3600, yield* nowDate)
      yield* rejects(foreign.token)
    }))
})
