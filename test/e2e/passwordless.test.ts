import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { pgliteLayer } from "../support/Db.ts"
import { AuthRequestId } from "../../src/domain/Ids.ts"
import { baseUrl, clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"

const fixture = Effect.gen(function* () {
  const { tenant, keys } = yield* tenantFixture()
  return { tenant, test: yield* clientFor(keys.test), live: yield* clientFor(keys.live), keys }
})

layer(serverLayer(pgliteLayer), { timeout: 60_000, excludeTestServices: true })("passwordless over HTTP (PGlite)", (it) => {
  it.effect("OTP: send in test mode returns the code, verify signs in, a second verify is ALREADY_USED", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const sent = yield* test.passwordless.send({ payload: { email: "Ada@Example.com", state: "s1", metadata: { plan: "pro" } } })
      assert.match(sent.authRequestId, /^ar_/)
      assert.strictEqual(sent.type, "OTP")
      assert.match(sent.code ?? "", /^\d{6}$/)
      const verified = yield* test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })
      assert.strictEqual(verified.user.email, "ada@example.com")
      assert.isTrue(verified.isNewUser)
      assert.strictEqual(verified.authRequest.state, "s1")
      assert.deepStrictEqual(verified.authRequest.metadata, { plan: "pro" })
      assert.strictEqual(verified.session.tokenType, "Bearer")
      assert.match(verified.session.refreshToken, /^rt_/)
      const again = yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } }))
      assert.strictEqual(errorCode(again), "ALREADY_USED")
      const second = yield* test.passwordless.send({ payload: { email: "ada@example.com" } })
      const relogin = yield* test.passwordless.verify({ payload: { email: "ADA@example.com", code: second.code ?? "" } })
      assert.isFalse(relogin.isNewUser)
      assert.strictEqual(relogin.user.id, verified.user.id)
    }))

  it.effect("LINK and LINK_OTP: the link token verifies, the code of LINK_OTP verifies", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const link = yield* test.passwordless.send({ payload: { email: "l@example.com", type: "LINK", redirectUrl: "https://app.example.com/cb" } })
      assert.isUndefined(link.code)
      const byLink = yield* test.passwordless.verify({ payload: { linkToken: link.linkToken ?? "" } })
      assert.strictEqual(byLink.user.email, "l@example.com")
      const both = yield* test.passwordless.send({ payload: { email: "lo@example.com", type: "LINK_OTP", redirectUrl: "http://localhost:3000/x" } })
      assert.isDefined(both.code)
      assert.isDefined(both.linkToken)
      const byCode = yield* test.passwordless.verify({ payload: { authRequestId: both.authRequestId, code: both.code ?? "" } })
      assert.strictEqual(byCode.authRequest.type, "LINK_OTP")
      const linkAfter = yield* Effect.flip(test.passwordless.verify({ payload: { linkToken: both.linkToken ?? "" } }))
      assert.strictEqual(errorCode(linkAfter), "ALREADY_USED")
    }))

  it.effect("PKCE: a link sent with a codeChallenge needs the matching codeVerifier", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const verifier = "v".repeat(43)
      const { createHash } = yield* Effect.promise(() => import("node:crypto"))
      const challenge = createHash("sha256").update(verifier).digest("base64url")
      const sent = yield* test.passwordless.send({
        payload: { email: "p@example.com", type: "LINK", redirectUrl: "https://app.example.com/cb", codeChallenge: challenge, codeChallengeMethod: "S256" }
      })
      const wrong = yield* Effect.flip(test.passwordless.verify({ payload: { linkToken: sent.linkToken ?? "", codeVerifier: "w".repeat(43) } }))
      assert.strictEqual(errorCode(wrong), "CODE_INVALID")
      const ok = yield* test.passwordless.verify({ payload: { linkToken: sent.linkToken ?? "", codeVerifier: verifier } })
      assert.strictEqual(ok.user.email, "p@example.com")
    }))

  it.effect("errors: wrong code counts down, then TOO_MANY_ATTEMPTS; bad email; redirect not allowed; unknown id", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const sent = yield* test.passwordless.send({ payload: { email: "w@example.com" } })
      const wrong = sent.code === "000000" ? "111111" : "000000"
      const remaining: Array<number> = []
      for (let i = 0; i < 5; i++) {
        const e = yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: wrong } }))
        if (e._tag === "CodeInvalid") remaining.push(e.attemptsRemaining)
      }
      assert.deepStrictEqual(remaining, [4, 3, 2, 1, 0])
      const locked = yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } }))
      assert.strictEqual(errorCode(locked), "TOO_MANY_ATTEMPTS")
      const badEmail = yield* Effect.flip(test.passwordless.send({ payload: { email: "not-an-email" } }))
      assert.strictEqual(errorCode(badEmail), "INVALID_EMAIL")
      for (const url of ["https://app.example.com.evil.io/cb", "https://app.example.com/cbx", "https://app.example.com@evil.io/cb"]) {
        const e = yield* Effect.flip(test.passwordless.send({ payload: { email: "r@example.com", type: "LINK", redirectUrl: url } }))
        assert.strictEqual(errorCode(e), "REDIRECT_NOT_ALLOWED", url)
      }
      const missing = yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: AuthRequestId.make("ar_0000000000000000000000"), code: "123456" } }))
      assert.strictEqual(errorCode(missing), "NOT_FOUND")
    }))

  it.effect("a test key cannot see or verify live auth requests", () =>
    Effect.gen(function* () {
      const { test, live } = yield* fixture
      const sent = yield* live.passwordless.send({ payload: { email: "iso@example.com" } })
      assert.isUndefined(sent.code)
      const seen = yield* Effect.flip(test.passwordless.status({ params: { authRequestId: sent.authRequestId } }))
      assert.strictEqual(errorCode(seen), "NOT_FOUND")
      const status = yield* live.passwordless.status({ params: { authRequestId: sent.authRequestId } })
      assert.strictEqual(status.status, "pending")
    }))

  it.effect("50 concurrent verifies of one right code: exactly one success", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const sent = yield* test.passwordless.send({ payload: { email: "race@example.com" } })
      const results = yield* Effect.forEach(Array.from({ length: 50 }), () =>
        Effect.result(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })),
        { concurrency: "unbounded" })
      assert.strictEqual(results.filter((r) => r._tag === "Success").length, 1)
    }))

  it.effect("50 concurrent wrong guesses: exactly maxAttempts CODE_INVALID", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const sent = yield* test.passwordless.send({ payload: { email: "guess@example.com" } })
      const wrong = sent.code === "000000" ? "111111" : "000000"
      const results = yield* Effect.forEach(Array.from({ length: 50 }), () =>
        Effect.flip(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: wrong } })),
        { concurrency: "unbounded" })
      assert.strictEqual(results.filter((e) => errorCode(e) === "CODE_INVALID").length, 5)
      assert.strictEqual(results.filter((e) => errorCode(e) === "TOO_MANY_ATTEMPTS").length, 45)
    }))

  it.effect("wire: missing key 401, bad key 401, 413 and 415, VALIDATION_FAILED body names the field", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const { keys } = yield* fixture
      const post = (body: string, headers: Record<string, string>) =>
        Effect.promise(() => fetch(`${url}/v1/passwordless/send`, { method: "POST", body, headers }).then(async (r) => ({ status: r.status, body: await r.json() as { code: string; field?: string } })))
      const none = yield* post("{}", { "content-type": "application/json" })
      assert.deepStrictEqual([none.status, none.body.code], [401, "API_KEY_MISSING"])
      const bad = yield* post("{}", { "content-type": "application/json", authorization: "Bearer sk_test_nope" })
      assert.deepStrictEqual([bad.status, bad.body.code], [401, "API_KEY_INVALID"])
      const viaHeader = yield* post(JSON.stringify({ email: "h@example.com" }), { "content-type": "application/json", "x-api-key": keys.test })
      assert.strictEqual(viaHeader.status, 202)
      const big = yield* post(JSON.stringify({ email: "a@example.com", state: "x".repeat(70_000) }), { "content-type": "application/json", "x-api-key": keys.test })
      assert.deepStrictEqual([big.status, big.body.code], [413, "PAYLOAD_TOO_LARGE"])
      const text = yield* post("email=a@example.com", { "content-type": "text/plain", "x-api-key": keys.test })
      assert.deepStrictEqual([text.status, text.body.code], [415, "UNSUPPORTED_MEDIA_TYPE"])
      const crlf = yield* post(JSON.stringify({ email: "a@example.com", emailContent: { subject: "Hi\r\nBcc: x@evil.io" } }), { "content-type": "application/json", "x-api-key": keys.test })
      assert.deepStrictEqual([crlf.status, crlf.body.code, crlf.body.field], [400, "VALIDATION_FAILED", "emailContent.subject"])
      const length = yield* post(JSON.stringify({ email: "a@example.com", codeLength: 5 }), { "content-type": "application/json", "x-api-key": keys.test })
      assert.deepStrictEqual([length.status, length.body.code, length.body.field], [400, "VALIDATION_FAILED", "codeLength"])
    }))

  it.effect("rate limits: the 11th send to one email in a minute is 429 RATE_LIMITED with Retry-After; X-RateLimit-* on 202", () =>
    Effect.gen(function* () {
      const url = yield* baseUrl
      const { keys } = yield* fixture
      const send = () =>
        Effect.promise(() => fetch(`${url}/v1/passwordless/send`, {
          method: "POST", body: JSON.stringify({ email: "limited@example.com" }),
          headers: { "content-type": "application/json", authorization: `Bearer ${keys.test}` }
        }).then(async (r) => ({ status: r.status, headers: r.headers, body: await r.json() as { code?: string; limit?: string; retryAfter?: number } })))
      const first = yield* send()
      assert.strictEqual(first.status, 202)
      assert.strictEqual(first.headers.get("x-ratelimit-limit"), "10")
      assert.strictEqual(first.headers.get("x-ratelimit-remaining"), "9")
      const reset = Number(first.headers.get("x-ratelimit-reset"))
      assert.isTrue(reset >= Date.now() / 1000 + 59 && reset <= Date.now() / 1000 + 61, `reset ${reset}`)
      for (let i = 0; i < 9; i++) assert.strictEqual((yield* send()).status, 202)
      const refused = yield* send()
      assert.strictEqual(refused.status, 429)
      assert.strictEqual(refused.body.code, "RATE_LIMITED")
      assert.strictEqual(refused.body.limit, "send_per_identifier_minute")
      assert.isAtLeast(refused.body.retryAfter ?? 0, 1)
      assert.strictEqual(refused.headers.get("retry-after"), String(refused.body.retryAfter))
      // another address is not affected
      const other = yield* Effect.promise(() => fetch(`${url}/v1/passwordless/send`, {
        method: "POST", body: JSON.stringify({ email: "other@example.com" }),
        headers: { "content-type": "application/json", authorization: `Bearer ${keys.test}` }
      }))
      assert.strictEqual(other.status, 202)
    }))
})
