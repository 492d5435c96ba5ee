import { afterAll, assert, describe, layer } from "@effect/vitest"
import { Clock, Effect, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { authRequestOfUuid } from "../../src/domain/RequestUuid.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, clientFor, serverLayer, tenantFixture } from "../support/Server.ts"
import { jsonOf, wire, type WireResponse } from "../support/Wire.ts"
import { startTwilio } from "../sms/TwilioServer.ts"
import * as F from "./auth1.fixtures.ts"

/** Valid numbers by libphonenumber: GB mobiles, a GB VOIP number; the seed's own is a US toll-free number. */
const MOBILE = "+447400123456"
const VOIP = "+445612345678"
/** The Twilio stand-in refuses this one (SMS_DELIVERY_FAILED). */
const UNREACHABLE = "+447400999999"

const twilio = await startTwilio((req) => req.form.To === UNREACHABLE ? { status: 500 } : { status: 201 })
afterAll(() => twilio.close())
const sms = {
  twilio: Option.some({
    accountSid: "ACtest", authToken: Redacted.make("twilio-token"), from: "+15005550006", messagingServiceSid: undefined, baseUrl: twilio.baseUrl
  }),
  timeoutMs: 2000
}

interface Call {
  readonly key?: string
  readonly bearer?: string
  readonly body?: unknown
  readonly raw?: string
  readonly headers?: Readonly<Record<string, string>>
}

interface Answer {
  readonly status: number
  readonly headers: WireResponse["headers"]
  readonly json: Record<string, unknown>
}

/** One request to `/compat/auth1/api/auth{path}` on the wire, as an Auth1 client sends it. */
const auth1 = (method: "GET" | "POST", path: string, call: Call = {}) =>
  Effect.gen(function* () {
    const body = call.raw ?? (call.body === undefined ? undefined : JSON.stringify(call.body))
    const response = yield* wire(`${yield* baseUrl}/compat/auth1/api/auth${path}`, {
      method,
      headers: {
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...(call.key === undefined ? {} : { "x-api-key": call.key }),
        ...(call.bearer === undefined ? {} : { authorization: `Bearer ${call.bearer}` }),
        ...call.headers
      },
      ...(body === undefined ? {} : { body })
    })
    return { status: response.status, headers: response.headers, json: jsonOf(response) } satisfies Answer
  })

const UUID4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** Checks a body against a documented shape: every documented field present, with its type. */
const assertShape = (value: unknown, shape: { readonly [field: string]: F.FieldType }, where: string) => {
  assert.isObject(value, where)
  const record = value as Record<string, unknown>
  for (const [field, type] of Object.entries(shape)) {
    const v = record[field]
    const at = `${where}.${field}`
    if (type === "string") assert.isString(v, at)
    else if (type === "boolean") assert.isBoolean(v, at)
    else if (type === "number") assert.isNumber(v, at)
    else if (type === "uuid") assert.match(String(v), UUID4, at)
    else if (type === "jwt") assert.match(String(v), /^[\w-]+\.[\w-]+\.[\w-]+$/, at)
    else if (type === "score") {
      assert.isNumber(v, at)
      assert.isTrue(typeof v === "number" && v >= 0 && v <= 1, at)
    } else if ("oneOf" in type && Array.isArray(type.oneOf)) assert.include(type.oneOf, v, at)
    else if ("equals" in type && !(typeof type.equals === "object")) assert.strictEqual(v, type.equals, at)
    else if ("startsWith" in type && typeof type.startsWith === "string") {
      assert.isString(v, at)
      assert.isTrue(String(v).startsWith(type.startsWith), `${at}: ${String(v)}`)
    }
    else assertShape(v, type as { readonly [field: string]: F.FieldType }, at)
  }
}

/**
 * Auth1's error body, exactly: `{ error, message, statusCode }`, status in both places; `retryAfter`
 * (seconds, the same as the Retry-After header) only on a 429 or 503.
 */
const assertError = (answer: Answer, status: number, error: string) => {
  assert.strictEqual(answer.status, status, JSON.stringify(answer.json))
  assert.strictEqual(answer.json.error, error, JSON.stringify(answer.json))
  assert.strictEqual(answer.json.statusCode, status)
  assert.isString(answer.json.message)
  assert.isNotEmpty(answer.json.message)
  const retries = status === 429 || status === 503
  assert.sameMembers(Object.keys(answer.json).filter((k) => k !== "retryAfter"), ["error", "message", "statusCode"])
  if (!retries) assert.notProperty(answer.json, "retryAfter")
  if ("retryAfter" in answer.json) {
    assert.isTrue(Number.isInteger(answer.json.retryAfter), String(answer.json.retryAfter))
    assert.strictEqual(answer.headers["retry-after"], String(answer.json.retryAfter))
  }
}

const fixture = Effect.gen(function* () {
  const { tenant, keys } = yield* tenantFixture()
  return { tenant, keys, test: yield* clientFor(keys.test), live: yield* clientFor(keys.live) }
})

/** The code the SMS carried, read from the test outbox (`GET /v1/test/messages?to=`). */
const codeSentTo = (client: Effect.Success<typeof fixture>["test"], phone: string) =>
  Effect.map(client.test.messages({ query: { to: phone } }), (outbox) => /\b(\d{6})\b/.exec(outbox.messages[0]?.text ?? "")?.[1] ?? "")

const send = (key: string, phone: string, email = "user@example.com") =>
  auth1("POST", "/sms/request", { key, body: { phone, email, tenant: "your-tenant" } })

const fill = (body: Readonly<Record<string, string>>, values: Readonly<Record<string, string>>) =>
  Object.fromEntries(Object.entries(body).map(([k, v]) => [k, v.replace(/\{\{(\w+)\}\}/g, (_, name: string) => values[name] ?? "")]))

const suite = (name: string, database: typeof pgliteLayer) =>
  // Default test services: the server runs on TestClock (code expiry, key expiry).
  // The workers poll once a minute: TestClock.adjust wakes every poll it skips over, and nothing here
  // needs them (SMS is delivered synchronously).
  layer(serverLayer(database, { sms, workerPollMs: 60_000 }), { timeout: 60_000 })(name, (it) => {
    it.effect("the seed's documented examples, replayed in order (statuses, shapes, X-RateLimit-*)", () =>
      Effect.gen(function* () {
        const { keys, test } = yield* fixture
        const values: Record<string, string> = {}
        for (const step of F.flow) {
          if (step === F.smsVerify) values.code = yield* codeSentTo(test, "+18005551234")
          const answer = yield* auth1(step.method, step.path, {
            ...(step.auth === "apiKey" ? { key: keys.test } : step.auth === "bearer" ? { bearer: values.token ?? "" } : {}),
            ...(step.body === undefined ? {} : { body: fill(step.body, values) })
          })
          assert.strictEqual(answer.status, step.status, `${step.name}: ${JSON.stringify(answer.json)}`)
          if (step.shape !== undefined) assertShape(answer.json, step.shape, step.name)
          if (step.auth === "apiKey") for (const header of F.rateLimitHeaders) assert.match(String(answer.headers[header]), /^\d+$/, `${step.name} ${header}`)
          for (const field of ["phoneVerificationId", "token", "refreshToken"]) {
            if (typeof answer.json[field] === "string") values[field] = answer.json[field]
          }
        }
        // the seed's send example, with its own values: "Verification code sent"; the test key's outbox
        const again = yield* send(keys.test, MOBILE)
        assert.strictEqual(again.json.message, "Verification code sent")
        assert.strictEqual(again.json.provider, "test-outbox")
        assert.deepStrictEqual([again.json.phoneType, again.json.isVoip], ["mobile", false])
      }))

    it.effect("a whole sign-in: send → code from the outbox → verify → session → refresh → logout", () =>
      Effect.gen(function* () {
        const { keys, test, tenant } = yield* fixture
        const sent = yield* send(keys.test, MOBILE, "Ada@Example.com")
        assert.strictEqual(sent.status, 200)
        const id = String(sent.json.phoneVerificationId)
        // the UUID is the native auth request's alias: /v1 sees the same request, bound to the email, 10 minutes
        const authRequestId = authRequestOfUuid(id)
        assert.isDefined(authRequestId)
        if (authRequestId === undefined) return
        const status = yield* test.passwordless.status({ params: { authRequestId } })
        assert.strictEqual(status.channel, "sms")
        assert.strictEqual(status.expiresAt - Math.floor((yield* Clock.currentTimeMillis) / 1000), 600)
        const code = yield* codeSentTo(test, MOBILE)
        // 9 minutes later the code still works (native default: 5 minutes)
        yield* TestClock.adjust("9 minutes")
        const verified = yield* auth1("POST", "/sms/verify", { key: keys.test, body: { phoneVerificationId: id, verificationCode: code, email: "ada@example.com" } })
        assert.strictEqual(verified.status, 200, JSON.stringify(verified.json))
        const user = verified.json.user as Record<string, unknown>
        assert.match(String(user.id), /^usr_/)
        assert.deepStrictEqual([user.phone, user.email], [MOBILE, "ada@example.com"])
        assert.match(String(verified.json.refreshToken), /^rt_/)
        const token = String(verified.json.token)

        const current = yield* auth1("GET", "/session", { bearer: token })
        assert.strictEqual(current.status, 200)
        assert.strictEqual((current.json.user as Record<string, unknown>).id, user.id)
        assert.strictEqual((current.json.user as Record<string, unknown>).phone, MOBILE)
        // the user record holds what the SMS proved (the phone); the bound email is not the user's own
        assert.isNull((current.json.user as Record<string, unknown>).email)
        assert.strictEqual(Date.parse(String(current.json.expiresAt)), (yield* Clock.currentTimeMillis) + 3600_000)

        const refreshed = yield* auth1("POST", "/refresh", { body: { refreshToken: verified.json.refreshToken } })
        assert.strictEqual(refreshed.status, 200)
        assert.notStrictEqual(refreshed.json.refreshToken, verified.json.refreshToken)
        assert.strictEqual((refreshed.json.user as Record<string, unknown>).id, user.id)
        assert.strictEqual((yield* auth1("GET", "/session", { bearer: String(refreshed.json.token) })).status, 200)
        // single use: the old refresh token again is TOKEN_INVALID (native REFRESH_TOKEN_REUSED, which revokes the session)
        assertError(yield* auth1("POST", "/refresh", { body: { refreshToken: verified.json.refreshToken } }), 401, "TOKEN_INVALID")
        assertError(yield* auth1("GET", "/session", { bearer: String(refreshed.json.token) }), 401, "TOKEN_INVALID")

        // a returning user: same id; logout ends the session and its refresh token
        yield* TestClock.adjust("1 minute")
        const second = yield* auth1("POST", "/sms/verify", {
          key: keys.test, body: { phoneVerificationId: (yield* send(keys.test, MOBILE, "ada@example.com")).json.phoneVerificationId, verificationCode: yield* codeSentTo(test, MOBILE), email: "ada@example.com" }
        })
        assert.strictEqual(second.status, 200, JSON.stringify(second.json))
        assert.strictEqual((second.json.user as Record<string, unknown>).id, user.id)
        const out = yield* auth1("POST", "/logout", { bearer: String(second.json.token) })
        assert.deepStrictEqual([out.status, out.json], [200, { success: true }])
        assertError(yield* auth1("GET", "/session", { bearer: String(second.json.token) }), 401, "TOKEN_INVALID")
        assertError(yield* auth1("POST", "/refresh", { body: { refreshToken: second.json.refreshToken } }), 401, "TOKEN_INVALID")

        // the native events behind Auth1's webhooks (user.created once, login.success per sign-in)
        const sql = yield* SqlClient.SqlClient
        const events = yield* sql<{ type: string; n: number }>`
          SELECT type, count(*)::int AS n FROM events WHERE tenant_id = ${tenant.id} GROUP BY type ORDER BY type`
        const count = (type: string) => events.find((e) => e.type === type)?.n ?? 0
        assert.deepStrictEqual([count("user.created"), count("login.success")], [1, 2])
      }))

    it.effect("verify errors: wrong code, another email, unknown id, used code, expired, too many attempts", () =>
      Effect.gen(function* () {
        const { keys, test } = yield* fixture
        const verify = (phoneVerificationId: unknown, verificationCode: string, email = "user@example.com") =>
          auth1("POST", "/sms/verify", { key: keys.test, body: { phoneVerificationId, verificationCode, email } })
        const id = (yield* send(keys.test, MOBILE)).json.phoneVerificationId
        const code = yield* codeSentTo(test, MOBILE)
        const wrong = code === "000000" ? "111111" : "000000"
        // another email than the bound one: CODE_INVALID, and no attempt is spent (five of them, then the right one works)
        for (let i = 0; i < 5; i++) assertError(yield* verify(id, code, "eve@example.com"), 400, "CODE_INVALID")
        assertError(yield* verify("not-a-uuid", code), 400, "CODE_INVALID")
        assertError(yield* verify("3f2b8c1e-7d4a-4e6b-9c2d-1a5e8f7b6c4d", code), 400, "CODE_INVALID")
        assertError(yield* verify(id, wrong), 400, "CODE_INVALID")
        assert.strictEqual((yield* verify(id, code)).status, 200)
        assertError(yield* verify(id, code), 400, "CODE_INVALID")

        // expired: Auth1's example body, after the 10-minute TTL
        const late = (yield* send(keys.test, MOBILE)).json.phoneVerificationId
        const lateCode = yield* codeSentTo(test, MOBILE)
        yield* TestClock.adjust("601 seconds")
        const expired = yield* verify(late, lateCode)
        assertError(expired, F.errorFormat.status, "CODE_EXPIRED")
        assertShape(expired.json, F.errorFormat.shape, "CODE_EXPIRED")

        // five wrong codes, then the request is locked: 429 TOO_MANY_ATTEMPTS (even for the right code)
        const locked = (yield* send(keys.test, MOBILE)).json.phoneVerificationId
        const lockedCode = yield* codeSentTo(test, MOBILE)
        const miss = lockedCode === "000000" ? "111111" : "000000"
        const answers: Array<Answer> = []
        for (let i = 0; i < 6; i++) answers.push(yield* verify(locked, i < 5 ? miss : lockedCode))
        assert.deepStrictEqual(answers.map((a) => a.json.error), [...Array(5).fill("CODE_INVALID"), "TOO_MANY_ATTEMPTS"])
        const [lockedOut] = answers.slice(-1)
        assert.isDefined(lockedOut)
        if (lockedOut !== undefined) {
          assertError(lockedOut, 429, "TOO_MANY_ATTEMPTS")
          // the lock lasts as long as the code would have: retryAfter and Retry-After say how long
          assert.isAbove(Number(lockedOut.json.retryAfter), 0)
          assert.isAtMost(Number(lockedOut.json.retryAfter), 600)
        }
      }))

    it.effect("tokens: an expired access token is 401 TOKEN_EXPIRED, and so is an expired refresh token", () =>
      Effect.gen(function* () {
        const { keys, test } = yield* fixture
        // the shortest lifetimes a tenant may set (Auth1's are 1 hour and 30 days)
        yield* test.tenant.update({ payload: { settings: { accessTokenTtlSeconds: 60, refreshTokenTtlSeconds: 3600 } } })
        const id = (yield* send(keys.test, MOBILE)).json.phoneVerificationId
        const verified = yield* auth1("POST", "/sms/verify", {
          key: keys.test, body: { phoneVerificationId: id, verificationCode: yield* codeSentTo(test, MOBILE), email: "user@example.com" }
        })
        assert.strictEqual(verified.status, 200, JSON.stringify(verified.json))
        // 60 s of life, then the verifier's 60 s of clock tolerance
        yield* TestClock.adjust("121 seconds")
        assertError(yield* auth1("GET", "/session", { bearer: String(verified.json.token) }), 401, "TOKEN_EXPIRED")
        assertError(yield* auth1("POST", "/logout", { bearer: String(verified.json.token) }), 401, "TOKEN_EXPIRED")
        // the refresh token outlives it: "Use the refresh token to obtain a new one"
        const refreshed = yield* auth1("POST", "/refresh", { body: { refreshToken: verified.json.refreshToken } })
        assert.strictEqual(refreshed.status, 200, JSON.stringify(refreshed.json))
        assert.strictEqual((yield* auth1("GET", "/session", { bearer: String(refreshed.json.token) })).status, 200)
        yield* TestClock.adjust("3601 seconds")
        assertError(yield* auth1("POST", "/refresh", { body: { refreshToken: refreshed.json.refreshToken } }), 401, "TOKEN_EXPIRED")
      }))

    it.effect("keys: missing, unknown, not in x-api-key → 401 VALIDATION_APIKEY_NOTFOUND; revoked, expired → 403 VALIDATION_APIKEY_INACTIVE; scope, IP allowlist", () =>
      Effect.gen(function* () {
        const { keys, test } = yield* fixture
        assertError(yield* send("", MOBILE), 401, "VALIDATION_APIKEY_NOTFOUND")
        assertError(yield* auth1("POST", "/sms/request", { body: { phone: MOBILE, email: "a@example.com", tenant: "t" } }), 401, "VALIDATION_APIKEY_NOTFOUND")
        assertError(yield* send("auth1_pk_unknown", MOBILE), 401, "VALIDATION_APIKEY_NOTFOUND")
        assertError(yield* send(`sk_test_${"x".repeat(43)}`, MOBILE), 401, "VALIDATION_APIKEY_NOTFOUND")
        // Auth1 reads x-api-key only: a key as a Bearer is no key
        assertError(yield* auth1("POST", "/sms/request", { bearer: keys.test, body: { phone: MOBILE, email: "a@example.com", tenant: "t" } }), 401, "VALIDATION_APIKEY_NOTFOUND")
        assertError(yield* auth1("POST", "/sms/verify", { body: { phoneVerificationId: "x", verificationCode: "123456", email: "a@example.com" } }), 401, "VALIDATION_APIKEY_NOTFOUND")

        const revoked = yield* test.keys.create({ payload: { name: "revoked", scopes: ["passwordless:send", "passwordless:verify"], mode: "test" } })
        assert.strictEqual((yield* send(revoked.secret, MOBILE)).status, 200)
        yield* test.keys.revoke({ params: { keyId: revoked.key.id } })
        assertError(yield* send(revoked.secret, MOBILE), 403, "VALIDATION_APIKEY_INACTIVE")

        // a key without the endpoint's scope
        const sendOnly = yield* test.keys.create({ payload: { name: "send only", scopes: ["passwordless:send"], mode: "test" } })
        assertError(yield* auth1("POST", "/sms/verify", {
          key: sendOnly.secret, body: { phoneVerificationId: "x", verificationCode: "123456", email: "a@example.com" }
        }), 403, "SCOPE_MISSING")

        // a key with an IP allowlist, called from elsewhere
        const fenced = yield* test.keys.create({ payload: { name: "fenced", scopes: ["passwordless:send"], mode: "test", ipAllowlist: ["203.0.113.9"] } })
        assertError(yield* send(fenced.secret, MOBILE), 403, "IP_NOT_ALLOWED")

        const nowSeconds = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const expiring = yield* test.keys.create({ payload: { name: "expiring", scopes: ["passwordless:send"], mode: "test", expiresAt: nowSeconds + 60 } })
        assert.strictEqual((yield* send(expiring.secret, "+447400123457")).status, 200)
        yield* TestClock.adjust("61 seconds")
        assertError(yield* send(expiring.secret, "+447400123457"), 403, "VALIDATION_APIKEY_INACTIVE")
      }))

    it.effect("rate limited: the sixth SMS to a number within the hour is 429 RATE_LIMIT_EXCEEDED with Retry-After and X-RateLimit-*", () =>
      Effect.gen(function* () {
        const { keys } = yield* fixture
        const sends: Array<Answer> = []
        for (let i = 0; i < 5; i++) sends.push(yield* send(keys.test, MOBILE))
        assert.deepStrictEqual(sends.map((a) => a.status), [200, 200, 200, 200, 200])
        // the tightest limit the send counted against: SMS per phone number, 5 an hour
        assert.deepStrictEqual(sends.map((a) => [a.headers["x-ratelimit-limit"], a.headers["x-ratelimit-remaining"]]),
          [["5", "4"], ["5", "3"], ["5", "2"], ["5", "1"], ["5", "0"]])
        const limited = yield* send(keys.test, MOBILE)
        assertError(limited, F.rateLimited.status, "RATE_LIMIT_EXCEEDED")
        assertShape(limited.json, F.rateLimited.shape, "429")
        assert.isAbove(Number(limited.json.retryAfter), 0)
        assert.strictEqual(limited.headers["retry-after"], String(limited.json.retryAfter))
        assert.match(String(limited.json.message), new RegExp(`retry after ${String(limited.json.retryAfter)} seconds`))
        for (const header of F.rateLimitHeaders) assert.match(String(limited.headers[header]), /^\d+$/, header)
      }))

    it.effect("rate limited: past the key's per-minute limit (Auth1's \"API calls per key\"), 429 RATE_LIMIT_EXCEEDED in Auth1's body", () =>
      Effect.gen(function* () {
        const { test } = yield* fixture
        yield* test.tenant.update({ payload: { settings: { limits: { requestsPerKeyMinute: 2 } } } })
        const key = yield* test.keys.create({ payload: { name: "auth1", scopes: ["passwordless:send", "passwordless:verify"], mode: "test" } })
        const first = yield* send(key.secret, "+447400123460")
        assert.strictEqual(first.status, 200)
        // X-RateLimit-Reset is a Unix timestamp (seconds), within the coming minute
        const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const reset = Number(first.headers["x-ratelimit-reset"])
        assert.isTrue(reset >= now && reset <= now + 3600, `${reset} vs ${now}`)
        assert.strictEqual((yield* send(key.secret, "+447400123461")).status, 200)
        const limited = yield* auth1("POST", "/sms/verify", {
          key: key.secret, body: { phoneVerificationId: first.json.phoneVerificationId, verificationCode: "123456", email: "user@example.com" }
        })
        assertError(limited, 429, "RATE_LIMIT_EXCEEDED")
        assertShape(limited.json, F.rateLimited.shape, "429")
        assert.match(String(limited.json.message), new RegExp(`retry after ${String(limited.json.retryAfter)} seconds`))
        assert.deepStrictEqual([limited.headers["x-ratelimit-limit"], limited.headers["x-ratelimit-remaining"]], ["2", "0"])
      }))

    it.effect("the seed's SMS template example: {{appName}} and {{code}} in the tenant's template", () =>
      Effect.gen(function* () {
        const { keys, test } = yield* fixture
        yield* test.tenant.update({ payload: { settings: { templates: [{ template: "SIGNIN", locale: "en", sms: F.smsTemplate }] } } })
        assert.strictEqual((yield* send(keys.test, MOBILE)).status, 200)
        const text = (yield* test.test.messages({ query: { to: MOBILE } })).messages[0]?.text ?? ""
        assert.match(text, /^Your Acme verification code is \d{6}\. Expires in 10 minutes\.$/)
      }))

    it.effect("input and policy errors: INVALID_PHONE, INVALID_EMAIL, VALIDATION_ERROR (tenant), VOIP_NOT_ALLOWED (block, challenge), CHANNEL_DISABLED", () =>
      Effect.gen(function* () {
        const { keys, test } = yield* fixture
        assertError(yield* send(keys.test, "+1555"), 400, "INVALID_PHONE")
        assertError(yield* send(keys.test, "18005551234"), 400, "INVALID_PHONE")
        assertError(yield* auth1("POST", "/sms/request", { key: keys.test, body: { email: "a@example.com", tenant: "t" } }), 400, "INVALID_PHONE")
        assertError(yield* send(keys.test, MOBILE, ""), 400, "INVALID_EMAIL")
        assertError(yield* send(keys.test, MOBILE, "not-an-email"), 400, "INVALID_EMAIL")
        assertError(yield* auth1("POST", "/sms/request", { key: keys.test, body: { phone: MOBILE, tenant: "t" } }), 400, "INVALID_EMAIL")
        assertError(yield* auth1("POST", "/sms/request", { key: keys.test, body: { phone: MOBILE, email: "a@example.com" } }), 400, "VALIDATION_ERROR")
        assertError(yield* auth1("POST", "/sms/request", { key: keys.test, body: { phone: MOBILE, email: "a@example.com", tenant: "" } }), 400, "VALIDATION_ERROR")
        const flagged = yield* send(keys.test, VOIP)
        assert.deepStrictEqual([flagged.status, flagged.json.phoneType, flagged.json.isVoip], [200, "voip", true])
        yield* test.tenant.update({ payload: { settings: { voipAction: "block" } } })
        assertError(yield* send(keys.test, VOIP), 403, "VOIP_NOT_ALLOWED")
        yield* test.tenant.update({ payload: { settings: { channels: { sms: false } } } })
        assertError(yield* send(keys.test, MOBILE), 403, "CHANNEL_DISABLED")
        yield* test.tenant.update({ payload: { settings: { channels: { sms: true } } } })
        // challenge: refused until the email sent with the number belongs to a user (verified natively)
        yield* test.tenant.update({ payload: { settings: { voipAction: "challenge" } } })
        assertError(yield* send(keys.test, VOIP, "known@example.com"), 403, "VOIP_NOT_ALLOWED")
        const mail = yield* test.passwordless.send({ payload: { email: "known@example.com" } })
        yield* test.passwordless.verify({ payload: { authRequestId: mail.authRequestId, code: mail.code ?? "" } })
        const challenged = yield* send(keys.test, VOIP, "known@example.com")
        assert.deepStrictEqual([challenged.status, challenged.json.phoneType, challenged.json.isVoip], [200, "voip", true])
      }))

    it.effect("sign-up off: an unknown number gets the same answer (shape, provider) as a known one", () =>
      Effect.gen(function* () {
        const { keys, test } = yield* fixture
        yield* test.tenant.update({ payload: { settings: { allowSignup: false } } })
        const decoy = yield* send(keys.test, MOBILE)
        assert.strictEqual(decoy.status, 200)
        assertShape(decoy.json, F.smsRequest.shape ?? {}, "decoy")
        assert.strictEqual(decoy.json.provider, "test-outbox")
        assert.lengthOf((yield* test.test.messages({ query: { to: MOBILE } })).messages, 0)
      }))

    it.effect("live key: delivered through Twilio (provider \"twilio\"); a refused delivery is 502 SMS_DELIVERY_FAILED", () =>
      Effect.gen(function* () {
        const { keys, live } = yield* fixture
        const sent = yield* send(keys.live, "+447400123458")
        assert.strictEqual(sent.status, 200, JSON.stringify(sent.json))
        assert.strictEqual(sent.json.provider, "twilio")
        const delivered = twilio.requests.findLast((r) => r.form.To === "+447400123458")
        assert.match(delivered?.form.Body ?? "", /\b\d{6}\b/)
        assertError(yield* send(keys.live, UNREACHABLE), 502, "SMS_DELIVERY_FAILED")
        // sign-up off: an unknown number gets a decoy, not delivered, answered like a delivered one
        yield* live.tenant.update({ payload: { settings: { allowSignup: false } } })
        const before = twilio.requests.length
        const decoy = yield* send(keys.live, "+447400123459")
        assert.deepStrictEqual([decoy.status, decoy.json.provider], [200, "twilio"])
        assertShape(decoy.json, F.smsRequest.shape ?? {}, "live decoy")
        assert.strictEqual(twilio.requests.length, before)
      }))

    it.effect("bearer endpoints: no token or a bad one is 401 TOKEN_INVALID; refresh with a bad token too; none needs a key", () =>
      Effect.gen(function* () {
        assertError(yield* auth1("GET", "/session"), 401, "TOKEN_INVALID")
        assertError(yield* auth1("GET", "/session", { bearer: "eyJhbGciOiJIUzI1NiIs.e30.x" }), 401, "TOKEN_INVALID")
        assertError(yield* auth1("POST", "/logout"), 401, "TOKEN_INVALID")
        assertError(yield* auth1("POST", "/refresh", { body: { refreshToken: "rt_d4e5f6a7b8c9" } }), 401, "TOKEN_INVALID")
        assertError(yield* auth1("POST", "/refresh", { body: {} }), 400, "VALIDATION_ERROR")
      }))

    it.effect("the wire in Auth1's shape: malformed JSON, > 64 KiB, wrong content type, unknown route or method", () =>
      Effect.gen(function* () {
        const { keys } = yield* fixture
        assertError(yield* auth1("POST", "/sms/request", { key: keys.test, raw: "{\"phone\": " }), 400, "VALIDATION_ERROR")
        const big = JSON.stringify({ phone: MOBILE, email: "a@example.com", tenant: "x".repeat(70 * 1024) })
        assertError(yield* auth1("POST", "/sms/request", { key: keys.test, raw: big }), 413, "PAYLOAD_TOO_LARGE")
        assertError(yield* auth1("POST", "/sms/request", { key: keys.test, raw: "phone=1", headers: { "content-type": "text/plain" } }), 415, "UNSUPPORTED_MEDIA_TYPE")
        assertError(yield* auth1("POST", "/magic-link/request", { key: keys.test, body: {} }), 404, "NOT_FOUND")
        assertError(yield* auth1("GET", "/sms/request", { key: keys.test }), 404, "NOT_FOUND")
      }))

    it.effect("the group is in /openapi.json with Auth1's paths", () =>
      Effect.gen(function* () {
        const doc = jsonOf(yield* wire(`${yield* baseUrl}/openapi.json`))
        const paths = Object.keys(doc.paths as Record<string, unknown>)
        for (const path of ["sms/request", "sms/verify", "session", "refresh", "logout"]) assert.include(paths, `/compat/auth1/api/auth/${path}`)
      }))
  })

suite("Auth1 adapter (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => {
  suite("Auth1 adapter (PostgreSQL)", postgresLayer)
})
