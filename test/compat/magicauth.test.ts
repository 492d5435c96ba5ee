/**
 * MagicAuth compatibility (COMPAT.md §4, seed 003) over real HTTP, on PGlite and PostgreSQL: the seed's
 * documented examples replayed, a whole sign-in (send-link → the link from the test outbox → verify-token
 * → the token used), the documented errors in MagicAuth's body and status, and the requests no handler
 * sees (bad JSON, 413, 415, unknown route) in MagicAuth's shape.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { HttpClient } from "effect/http"
import { TestClock } from "effect/testing"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"
import { jsonOf, wire, type WireResponse } from "../support/Wire.ts"
import * as F from "./magicauth.fixtures.ts"

const JSON_TYPE = { "content-type": "application/json" }
const APP_KEY_REQUIRED = "app_key is required"

/** One raw call under the prefix (MagicAuth's clients post JSON with no other header). */
const call = (path: string, body: unknown, options: { readonly method?: string; readonly headers?: Record<string, string> } = {}) =>
  Effect.flatMap(baseUrl, (base) =>
    wire(`${base}/compat/magicauth${path}`, {
      method: options.method ?? "POST",
      headers: options.headers ?? JSON_TYPE,
      body: typeof body === "string" ? body : JSON.stringify(body)
    }))

const expectBody = (response: WireResponse, status: number, shape: F.Shape) => {
  assert.strictEqual(response.status, status, response.body)
  assert.deepStrictEqual(F.mismatches(jsonOf(response), shape), [], response.body)
}

const replay = (fixture: F.Fixture, values: { readonly app_key: string; readonly token?: string }) =>
  Effect.map(call(fixture.path, F.replay(fixture, values)), (response) => {
    expectBody(response, fixture.status, fixture.body)
    return jsonOf(response)
  })

const setup = Effect.gen(function* () {
  const { keys } = yield* tenantFixture("MagicAuth Co", F.allowlist)
  return { keys, admin: yield* clientFor(keys.test) }
})

/** Every `?magic_token=` link the test outbox holds for `to` (newest first), as full URLs. */
const linksFor = (testKey: string, to: string) =>
  Effect.gen(function* () {
    const { messages } = yield* (yield* clientFor(testKey)).test.messages({ query: { to } })
    return messages.flatMap((m) => [...m.text.matchAll(/https?:\/\/[^\s"<>]+[?&]magic_token=[A-Za-z0-9_-]+/g)].map((match) => match[0]))
  })

/** The token of the one link for `to` that is not in `seen` (the callback reads it as the examples do). */
const newTokenFor = (testKey: string, to: string, seen: ReadonlyArray<string> = []) =>
  Effect.gen(function* () {
    const fresh = (yield* linksFor(testKey, to)).map((link) => new URL(link)).filter((url) => !seen.includes(url.searchParams.get(F.landing.param) ?? ""))
    assert.strictEqual(fresh.length, 1, `one new link for ${to}`)
    return { url: fresh[0], token: fresh[0]?.searchParams.get(F.landing.param) ?? "" }
  })

const userOf = (body: Record<string, unknown>): Readonly<Record<string, unknown>> => {
  const user = body.user
  return typeof user === "object" && user !== null ? { ...user } : {}
}

const suite = (name: string, database: typeof pgliteLayer) =>
  layer(serverLayer(database), { timeout: 120_000 })(name, (it) => {
    it.effect("the seed's Quick Start and error examples replay with their documented status and body", () =>
      Effect.gen(function* () {
        const { keys } = yield* setup
        const app_key = keys.test
        yield* replay(F.sendLink, { app_key })
        const { url, token } = yield* newTokenFor(app_key, "user@example.com")
        // "They're redirected to: https://yourapp.com/dashboard?magic_token=xxx"
        assert.strictEqual(`${url?.origin}${url?.pathname}`, F.landing.base)
        assert.deepStrictEqual([...url?.searchParams.keys() ?? []], [F.landing.param])
        const verified = yield* replay(F.verifyToken, { app_key, token })
        assert.strictEqual(verified.redirect_url, F.landing.base)
        yield* replay(F.tokenAlreadyUsed, { app_key, token })
        yield* replay(F.invalidToken, { app_key })
        yield* replay(F.invalidAppKey, { app_key: "your_app_key_here" })
        yield* replay(F.redirectNotWhitelisted, { app_key })
        yield* replay(F.missingField, { app_key })
        yield* replay(F.invalidEmail, { app_key })
        // "Token expired (default: 15 minutes)": still good a second before, expired at 15 minutes
        yield* replay(F.sendLink, { app_key })
        const early = yield* newTokenFor(app_key, "user@example.com", [token])
        yield* replay(F.sendLink, { app_key })
        const late = yield* newTokenFor(app_key, "user@example.com", [token, early.token])
        yield* TestClock.adjust("899 seconds")
        yield* replay(F.verifyToken, { app_key, token: early.token })
        yield* TestClock.adjust("1 second")
        yield* replay(F.tokenExpired, { app_key, token: late.token })
      }))

    it.effect("a whole sign-in as the code examples do it; the token is a Sesame session's access token", () =>
      Effect.gen(function* () {
        const { keys } = yield* setup
        const sent = yield* call("/api/send-link", { ...F.codeExamples.send, app_key: keys.test })
        expectBody(sent, 200, { success: true, message: "Magic link sent" })
        assert.match(String(sent.headers["x-ratelimit-limit"]), /^\d+$/)
        assert.match(String(sent.headers["x-request-id"]), /^req_/)
        const { url, token } = yield* newTokenFor(keys.test, F.codeExamples.send.email)
        assert.strictEqual(`${url?.origin}${url?.pathname}`, F.codeExamples.callback)
        const verified = yield* call("/api/verify-token", { token, app_key: keys.test })
        expectBody(verified, 200, F.verifiedBody(F.codeExamples.send.email, F.codeExamples.callback))
        // the token works where Sesame's access tokens do: userinfo, then logout ends it
        const session = yield* clientFor(String(jsonOf(verified).token))
        const info = yield* session.token.userinfo()
        assert.strictEqual(info.email, F.codeExamples.send.email)
        yield* session.token.logout()
        assert.strictEqual(errorCode(yield* Effect.flip(session.token.userinfo())), "TOKEN_INVALID")
      }))

    it.effect("user.id is an integer, the same for the same user's next sign-in, another for another user", () =>
      Effect.gen(function* () {
        const { keys } = yield* setup
        const signIn = (email: string, seen: ReadonlyArray<string>) =>
          Effect.gen(function* () {
            expectBody(yield* call("/api/send-link", { email, app_key: keys.test, redirect_url: F.landing.base }), 200, F.sendLink.body)
            const { token } = yield* newTokenFor(keys.test, email, seen)
            const response = yield* call("/api/verify-token", { token, app_key: keys.test })
            expectBody(response, 200, F.verifiedBody(email, F.landing.base))
            return { token, user: userOf(jsonOf(response)) }
          })
        const first = yield* signIn("ada@example.com", [])
        yield* TestClock.adjust("1 minute")
        const again = yield* signIn("ada@example.com", [first.token])
        const other = yield* signIn("grace@example.com", [])
        assert.strictEqual(again.user.id, first.user.id)
        assert.notStrictEqual(other.user.id, first.user.id)
        assert.strictEqual(again.user.email_verified_at, first.user.email_verified_at)
        assert.isTrue(Date.parse(String(again.user.last_login_at)) > Date.parse(String(first.user.last_login_at)))
      }))

    it.effect("a token issued under the test key is an Invalid token for the live key (and stays good for the test key)", () =>
      Effect.gen(function* () {
        const { keys } = yield* setup
        yield* replay(F.sendLink, { app_key: keys.test })
        const { token } = yield* newTokenFor(keys.test, "user@example.com")
        yield* replay(F.invalidToken, { app_key: keys.live, token })
        // the invalid-token body is the documented one even with a real token under the other key
        expectBody(yield* call("/api/verify-token", { token, app_key: keys.live }), 400, { success: false, error: "Invalid token" })
        yield* replay(F.verifyToken, { app_key: keys.test, token })
      }))

    it.effect("app_key: missing is 401 before any field check; unknown, revoked, expired → 401; wrong scope or address → 403", () =>
      Effect.gen(function* () {
        const { keys, admin } = yield* setup
        expectBody(yield* call("/api/send-link", {}), 401, { success: false, error: APP_KEY_REQUIRED })
        expectBody(yield* call("/api/verify-token", { token: "abc" }), 401, { success: false, error: APP_KEY_REQUIRED })
        expectBody(yield* call("/api/send-link", { ...F.sendLink.request, app_key: "sk_test_unknownunknownunknownunknown" }), 401,
          { success: false, error: "Invalid app_key" })
        const doomed = yield* admin.keys.create({ payload: { name: "doomed", scopes: ["passwordless:send"], mode: "test" } })
        expectBody(yield* call("/api/send-link", { ...F.sendLink.request, email: "r1@example.com", app_key: doomed.secret }), 200, F.sendLink.body)
        yield* admin.keys.revoke({ params: { keyId: doomed.key.id } })
        yield* TestClock.adjust("2 seconds")
        expectBody(yield* call("/api/send-link", { ...F.sendLink.request, email: "r2@example.com", app_key: doomed.secret }), 401,
          { success: false, error: "Invalid app_key" })
        const verifyOnly = yield* admin.keys.create({ payload: { name: "verify only", scopes: ["passwordless:verify"], mode: "test" } })
        expectBody(yield* call("/api/send-link", { ...F.sendLink.request, app_key: verifyOnly.secret }), 403,
          { success: false, error: "This app_key lacks the scope passwordless:send" })
        const elsewhere = yield* admin.keys.create({ payload: { name: "elsewhere", scopes: ["passwordless:send"], mode: "test", ipAllowlist: ["10.9.8.7"] } })
        expectBody(yield* call("/api/send-link", { ...F.sendLink.request, app_key: elsewhere.secret }), 403,
          { success: false, error: "This app_key may not be used from this IP address" })
        // an expired key is refused like an unknown one
        const nowS = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const brief = yield* admin.keys.create({ payload: { name: "brief", scopes: ["passwordless:send"], mode: "test", expiresAt: nowS + 60 } })
        expectBody(yield* call("/api/send-link", { ...F.sendLink.request, email: "b1@example.com", app_key: brief.secret }), 200, F.sendLink.body)
        yield* TestClock.adjust("61 seconds")
        expectBody(yield* call("/api/send-link", { ...F.sendLink.request, email: "b2@example.com", app_key: brief.secret }), 401,
          { success: false, error: "Invalid app_key" })
        expectBody(yield* call("/api/verify-token", { app_key: keys.test }), 400, { success: false, error: "Missing required field: token" })
        expectBody(yield* call("/api/send-link", { email: "x@example.com", app_key: keys.test }), 400,
          { success: false, error: "Missing required field: redirect_url" })
      }))

    it.effect("rate limited: the native per-address link limit (5/h) answers 429 with Retry-After and X-RateLimit-*", () =>
      Effect.gen(function* () {
        const { keys } = yield* setup
        const statuses: Array<number> = []
        let last: WireResponse | undefined
        for (let i = 0; i < 6; i++) {
          last = yield* call("/api/send-link", { email: "burst@example.com", app_key: keys.test, redirect_url: F.landing.base })
          statuses.push(last.status)
        }
        assert.deepStrictEqual(statuses, [200, 200, 200, 200, 200, 429])
        if (last === undefined) return assert.fail("no answer")
        expectBody(last, 429, { success: false, error: F.STRING })
        assert.match(String(last.headers["retry-after"]), /^[1-9]\d*$/)
        assert.match(String(last.headers["x-ratelimit-remaining"]), /^\d+$/)
        assert.match(String(last.headers["x-ratelimit-reset"]), /^\d+$/)
      }))

    it.effect("Rate Limits: the free plan's burst of 100 per minute per app, as the tenant's per-key limit", () =>
      Effect.gen(function* () {
        const { admin } = yield* setup
        yield* admin.tenant.update({ payload: { settings: { limits: { requestsPerKeyMinute: F.burstPerMinute } } } })
        const app = yield* admin.keys.create({ payload: { name: "burst", scopes: ["passwordless:verify"], mode: "test" } })
        for (let i = 1; i <= F.burstPerMinute; i++) {
          const answer = yield* call("/api/verify-token", { token: `not-a-token-${i}`, app_key: app.secret })
          assert.strictEqual(answer.status, 400, `request ${i}: ${answer.body}`)
          if (i === 1) assert.strictEqual(answer.headers["x-ratelimit-limit"], String(F.burstPerMinute))
        }
        const over = yield* call("/api/verify-token", { token: "not-a-token", app_key: app.secret })
        expectBody(over, 429, { success: false, error: "Too many requests" })
        assert.match(String(over.headers["retry-after"]), /^[1-9]\d*$/)
        assert.strictEqual(over.headers["x-ratelimit-remaining"], "0")
        // the next minute, the app may send again
        yield* TestClock.adjust("61 seconds")
        expectBody(yield* call("/api/verify-token", { token: "not-a-token", app_key: app.secret }), 400, { success: false, error: "Invalid token" })
      }))

    it.effect("the redirect_url's own query is kept; X-RateLimit-* and X-Request-Id come with errors too", () =>
      Effect.gen(function* () {
        const { keys } = yield* setup
        const redirect_url = `${F.codeExamples.callback}?next=%2Fbilling&lang=en`
        expectBody(yield* call("/api/send-link", { email: "q@example.com", app_key: keys.test, redirect_url }), 200, F.sendLink.body)
        const { url, token } = yield* newTokenFor(keys.test, "q@example.com")
        assert.deepStrictEqual([...url?.searchParams.entries() ?? []], [["next", "/billing"], ["lang", "en"], [F.landing.param, token]])
        const verified = yield* call("/api/verify-token", { token, app_key: keys.test })
        expectBody(verified, 200, F.verifiedBody("q@example.com", redirect_url))
        const invalid = yield* call("/api/verify-token", { token, app_key: keys.test })
        expectBody(invalid, 400, { success: false, error: "Token already used" })
        for (const name of ["x-ratelimit-limit", "x-ratelimit-remaining", "x-ratelimit-reset"]) assert.match(String(invalid.headers[name]), /^\d+$/, name)
        assert.match(String(invalid.headers["x-request-id"]), /^req_/)
      }))

    it.effect("enumeration: with sign-up off, send-link answers a known and an unknown address alike; only the known one gets a link", () =>
      Effect.gen(function* () {
        const { keys, admin } = yield* setup
        const send = (email: string) => call("/api/send-link", { email, app_key: keys.test, redirect_url: F.landing.base })
        // both addresses get a link while sign-up is on; only the member uses it (and so has an account)
        expectBody(yield* send("member@example.com"), 200, F.sendLink.body)
        const { token } = yield* newTokenFor(keys.test, "member@example.com")
        expectBody(yield* call("/api/verify-token", { token, app_key: keys.test }), 200, F.verifiedBody("member@example.com", F.landing.base))
        expectBody(yield* send("stranger@example.com"), 200, F.sendLink.body)
        yield* admin.tenant.update({ payload: { settings: { allowSignup: false } } })
        yield* TestClock.adjust("1 second")
        const shape = (response: WireResponse) => ({
          status: response.status,
          body: response.body,
          headers: Object.keys(response.headers).filter((h) => !["date", "x-request-id"].includes(h)).sort(),
          remaining: response.headers["x-ratelimit-remaining"]
        })
        const known = yield* send("member@example.com")
        const unknown = yield* send("stranger@example.com")
        assert.deepStrictEqual(shape(unknown), shape(known))
        assert.strictEqual((yield* linksFor(keys.test, "member@example.com")).length, 2)
        assert.strictEqual((yield* linksFor(keys.test, "stranger@example.com")).length, 1, "only the link sent while sign-up was on")
      }))

    it.effect("403 for what Sesame has instead of \"App disabled\": email links off; sameOriginLinks on refuses verify-token", () =>
      Effect.gen(function* () {
        const { keys, admin } = yield* setup
        expectBody(yield* call("/api/send-link", { ...F.sendLink.request, app_key: keys.test }), 200, F.sendLink.body)
        const { token } = yield* newTokenFor(keys.test, "user@example.com")
        yield* admin.tenant.update({ payload: { settings: { sameOriginLinks: true } } })
        expectBody(yield* call("/api/verify-token", { token, app_key: keys.test }), 403, { success: false, error: F.STRING })
        yield* admin.tenant.update({ payload: { settings: { sameOriginLinks: false, emailTypes: ["OTP"] } } })
        expectBody(yield* call("/api/send-link", { ...F.sendLink.request, app_key: keys.test }), 403, { success: false, error: F.STRING })
        yield* admin.tenant.update({ payload: { settings: { emailTypes: ["OTP", "LINK"], channels: { email: false } } } })
        expectBody(yield* call("/api/send-link", { ...F.sendLink.request, app_key: keys.test }), 403, { success: false, error: F.STRING })
        // the link sent before is still good once the settings are back
        yield* admin.tenant.update({ payload: { settings: { channels: { email: true } } } })
        expectBody(yield* call("/api/verify-token", { token, app_key: keys.test }), 200, F.verifiedBody("user@example.com", F.landing.base))
      }))

    it.effect("bad JSON, a wrong body type, a body over 64 KiB and unknown routes answer in MagicAuth's shape", () =>
      Effect.gen(function* () {
        const failure = { success: false, error: F.STRING }
        expectBody(yield* call("/api/send-link", "{\"email\": \"a@example.com\","), 400, failure)
        expectBody(yield* call("/api/send-link", { email: 42, app_key: "k" }), 400, failure)
        expectBody(yield* call("/api/send-link", "email=a@example.com", { headers: { "content-type": "text/plain" } }), 415, failure)
        expectBody(yield* call("/api/send-link", { email: "a@example.com", app_key: "x".repeat(70_000) }), 413, failure)
        // no Content-Length: cut while streaming at the same limit
        const chunked = yield* Effect.flatMap(baseUrl, (base) =>
          wire(`${base}/compat/magicauth/api/send-link`, { method: "POST", headers: JSON_TYPE, body: [`{"app_key":"${"x".repeat(40_000)}`, `${"y".repeat(40_000)}"}`] }))
        expectBody(chunked, 413, failure)
        expectBody(yield* call("/api/no-such-endpoint", {}), 404, failure)
        expectBody(yield* call("/api/send-link", "", { method: "GET", headers: {} }), 404, failure)
      }))

    it.effect("the group is in /openapi.json with its MagicAuth error bodies", () =>
      Effect.gen(function* () {
        const response = yield* (yield* HttpClient.HttpClient).get("/openapi.json")
        const text = yield* response.text
        assert.include(text, "/compat/magicauth/api/send-link")
        assert.include(text, "/compat/magicauth/api/verify-token")
        assert.include(text, "MagicAuthBadRequest")
      }))
  })

suite("MagicAuth compatibility (PGlite)", pgliteLayer)

describe.skipIf(!hasPostgres)("PostgreSQL", () => {
  suite("MagicAuth compatibility (PostgreSQL)", postgresLayer)
})
