/**
 * Authink compatibility (COMPAT.md §1, seed 000) over real HTTP: the seed's examples replayed, a whole
 * sign-in with the session checked and revoked, the magic-link extension, the documented errors in
 * Authink's body, and the wire refusals (bad JSON, 413, 415, unknown route) in Authink's shape. The
 * server runs on TestClock (expiry is TestClock.adjust).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, clientFor, serverLayer, tenantFixture } from "../support/Server.ts"
import { wire } from "../support/Wire.ts"
import * as F from "./authink.fixtures.ts"

const PREFIX = "/compat/authink/v1"

interface Answer {
  readonly status: number
  readonly headers: Readonly<Record<string, string | ReadonlyArray<string> | undefined>>
  readonly json: unknown
}

const call = (key: string | undefined, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const response = yield* wire(`${yield* baseUrl}${PREFIX}${path}`, {
      method,
      headers: {
        ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
        ...(body === undefined ? {} : { "content-type": "application/json" }),
        ...headers
      },
      ...(body === undefined ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) })
    })
    const json: unknown = response.body === "" ? undefined : JSON.parse(response.body)
    return { status: response.status, headers: response.headers, json } satisfies Answer
  })

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

/** `u` has `shape` (extra fields allowed): the seed's types, not Sesame's. */
const assertShape = (u: unknown, shape: F.Shape, at = "$"): void => {
  if (typeof shape === "string") {
    switch (shape) {
      case "string": case "number": case "boolean": return assert.strictEqual(typeof u, shape, at)
      case "object": return assert.isTrue(isRecord(u), `${at} is an object`)
      case "iso": return assert.isTrue(typeof u === "string" && new Date(u).toISOString() === u, `${at} is an ISO date: ${String(u)}`)
      case "jwt": return assert.match(String(u), /^[\w-]+\.[\w-]+\.[\w-]+$/, at)
    }
  }
  if (Array.isArray(shape)) {
    assert.isTrue(Array.isArray(u), `${at} is an array`)
    if (Array.isArray(u)) u.forEach((item: unknown, i) => assertShape(item, shape[0], `${at}[${i}]`))
    return
  }
  if ("literal" in shape && !isRecord(shape.literal)) return assert.strictEqual(u, shape.literal, at)
  if ("oneOf" in shape && Array.isArray(shape.oneOf)) return assert.include(shape.oneOf, u, at)
  assert.isTrue(isRecord(u), `${at} is an object: ${JSON.stringify(u)}`)
  for (const [field, inner] of Object.entries(shape)) assertShape(isRecord(u) ? u[field] : undefined, inner, `${at}.${field}`)
}

const fill = (text: string, values: Record<string, string>) => text.replace(/\{(\w+)\}/g, (_, name: string) => values[name] ?? "")

/** Replays a fixture with `key`, placeholders filled; asserts the status and the shape. */
const replay = (key: string, fixture: F.Fixture, values: Record<string, string> = {}) =>
  Effect.gen(function* () {
    const body = fixture.body === undefined ? undefined : JSON.parse(fill(JSON.stringify(fixture.body), values))
    const answer = yield* call(key, fixture.method, fill(fixture.path, values), body)
    assert.strictEqual(answer.status, fixture.status, `${fixture.name}: ${JSON.stringify(answer.json)}`)
    assertShape(answer.json, fixture.shape)
    return answer
  })

const field = (u: unknown, ...path: ReadonlyArray<string | number>): unknown =>
  path.reduce<unknown>((at, key) =>
    isRecord(at) ? at[String(key)] : Array.isArray(at) && typeof key === "number" ? at[key] : undefined, u)
const text = (u: unknown, ...path: ReadonlyArray<string | number>) => String(field(u, ...path))

/** The newest test-mode message to `to` (native `GET /v1/test/messages`). */
const outbox = (testKey: string, to: string) =>
  Effect.gen(function* () {
    const { messages } = yield* (yield* clientFor(testKey)).test.messages({ query: { to } })
    const message = messages[0]
    assert.isDefined(message, `a message to ${to}`)
    return { subject: message?.subject ?? null, text: message?.text ?? "" }
  })
const codeIn = (body: string, digits = 6) => new RegExp(`\\b(\\d{${digits}})\\b`).exec(body)?.[1] ?? ""

const header = (answer: Answer, name: string) => {
  const value = answer.headers[name]
  return typeof value === "string" ? value : undefined
}

const signIn = (key: string, email: string) =>
  Effect.gen(function* () {
    assert.strictEqual((yield* call(key, "POST", "/otp/send", { email })).status, 200)
    const code = codeIn((yield* outbox(key, email)).text)
    const verified = yield* call(key, "POST", "/otp/verify", { email, code })
    assert.strictEqual(verified.status, 200, JSON.stringify(verified.json))
    return verified.json
  })

const suite = (name: string, database: typeof pgliteLayer) =>
  layer(serverLayer(database), { timeout: 120_000 })(name, (it) => {
    it.effect("the seed's documented examples, replayed", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture("Authink Co")
        // Quick Start: `new Authink('sk_live_...')` — the Sesame live key as the bearer
        yield* replay(keys.live, F.quickStartSend)
        yield* replay(keys.test, F.fullSend)
        const message = yield* outbox(keys.test, "user@example.com")
        assert.strictEqual(message.subject, "Your verification code")
        const code = codeIn(message.text)
        assert.match(code, /^\d{6}$/)
        if (code !== "847291") yield* replay(keys.test, F.verifyWrongOtp)
        yield* replay(keys.test, F.verifyMalformedCode)
        const verified = yield* replay(keys.test, F.verifyOtp, { code })
        // the metadata "stored with the OTP for later retrieval" comes back on verify (extension)
        assert.deepStrictEqual(field(verified.json, "session", "metadata"), { userId: "usr_12345", ipAddress: "192.168.1.1" })
        const token = text(verified.json, "session", "token")
        const sessionId = text(verified.json, "session", "id")
        const userId = text(verified.json, "session", "user", "id")
        yield* replay(keys.test, F.verifySession, { token })
        yield* replay(keys.test, F.revokeSession, { sessionId })
        yield* replay(keys.test, F.revokeAllSessions, { userId })
        yield* replay(keys.live, F.listKeys)
        const created = yield* replay(keys.live, F.createKey)
        assert.match(text(created.json, "key"), /^sk_live_/)
        assert.isTrue(text(created.json, "key").startsWith(text(created.json, "prefix")))
        assert.deepStrictEqual(field(created.json, "scopes"), F.createKey.body?.scopes)
        // the listing has it, without its secret
        const listed = yield* replay(keys.live, F.listKeys)
        const entry = (Array.isArray(listed.json) ? listed.json : []).find((k: unknown) => field(k, "id") === field(created.json, "id"))
        assert.deepStrictEqual(entry, Object.fromEntries(Object.entries(isRecord(created.json) ? created.json : {}).filter(([k]) => k !== "key")))
        yield* replay(keys.live, F.revokeUnknownKey)
        const revoked = yield* call(keys.live, "DELETE", `/keys/${text(created.json, "id")}`)
        assert.deepStrictEqual([revoked.status, revoked.json], [200, { success: true }])
        // the seven REST endpoints exist (an unknown route answers 404 not_found)
        for (const [method, path] of F.endpoints) {
          const answer = yield* call(keys.test, method, path.replace(":id", "ses_0000000000000000"), method === "GET" ? undefined : {})
          assert.notStrictEqual(text(answer.json, "error", "message"), "No such endpoint.", `${method} ${path}`)
        }
      }))

    it.effect("Request Parameters: expiresIn 60–900 (default 300), length 4|6|8 (default 6), subject (default), metadata", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture("Parameters Co")
        const nowS = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const expiresAt = (answer: Answer) => Math.round(Date.parse(text(answer.json, "expiresAt")) / 1000) - nowS
        // the test clock stands still: each answer's expiresAt is now + the lifetime
        const byDefault = yield* call(keys.test, "POST", "/otp/send", { email: "default@example.com" })
        assert.strictEqual(expiresAt(byDefault), F.parameterBounds.defaults.expiresIn)
        const defaultMessage = yield* outbox(keys.test, "default@example.com")
        assert.strictEqual(defaultMessage.subject, F.parameterBounds.defaults.subject)
        assert.match(codeIn(defaultMessage.text, F.parameterBounds.defaults.length), /^\d{6}$/)
        for (const expiresIn of F.parameterBounds.expiresIn.accepted) {
          const answer = yield* call(keys.test, "POST", "/otp/send", { email: `ttl${expiresIn}@example.com`, expiresIn })
          assert.strictEqual(answer.status, 200, JSON.stringify(answer.json))
          assert.strictEqual(expiresAt(answer), expiresIn)
        }
        for (const expiresIn of F.parameterBounds.expiresIn.refused) {
          const answer = yield* call(keys.test, "POST", "/otp/send", { email: "ttl@example.com", expiresIn })
          assert.strictEqual(answer.status, 400, `expiresIn ${expiresIn}`)
          assertShape(answer.json, F.errorShape("invalid_request", 400))
        }
        for (const length of F.parameterBounds.length.accepted) {
          const to = `len${length}@example.com`
          assert.strictEqual((yield* call(keys.test, "POST", "/otp/send", { email: to, length })).status, 200)
          const code = codeIn((yield* outbox(keys.test, to)).text, length)
          assert.match(code, new RegExp(`^\\d{${length}}$`))
          const verified = yield* call(keys.test, "POST", "/otp/verify", { email: to, code })
          assert.strictEqual(verified.status, 200, JSON.stringify(verified.json))
        }
        for (const length of F.parameterBounds.length.refused) {
          const answer = yield* call(keys.test, "POST", "/otp/send", { email: "len@example.com", length })
          assert.strictEqual(answer.status, 400, `length ${length}`)
          assertShape(answer.json, F.errorShape("invalid_request", 400))
        }
        assert.strictEqual((yield* call(keys.test, "POST", "/otp/send", { email: "subject@example.com", subject: "Your Acme sign-in code" })).status, 200)
        assert.strictEqual((yield* outbox(keys.test, "subject@example.com")).subject, "Your Acme sign-in code")
        // the seed's types: a number of seconds, not a string
        const typed = yield* call(keys.test, "POST", "/otp/send", { email: "typed@example.com", expiresIn: "300" })
        assert.strictEqual(typed.status, 400)
        assertShape(typed.json, F.errorShape("invalid_request", 400))
      }))

    it.effect("Rate Limiting: the seed's endpoint limits, its header example and its error example word for word", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture("Rate Co")
        // POST /v1/otp/send, 10 per minute per email; the third answer is the seed's header example
        let last: Answer | undefined
        for (let i = 1; i <= 10; i++) {
          last = yield* call(keys.test, "POST", "/otp/send", { email: "minute@example.com" })
          assert.strictEqual(last.status, 200, JSON.stringify(last.json))
          if (i === 3) {
            for (const [name, value] of Object.entries(F.rateLimitHeaderExample)) assert.strictEqual(header(last, name), value, name)
            // X-RateLimit-Reset is a Unix time in seconds, within the minute
            const reset = Number(header(last, "x-ratelimit-reset"))
            const nowS = (yield* Clock.currentTimeMillis) / 1000
            assert.isTrue(Number.isInteger(reset) && reset > nowS && reset <= nowS + 60, `reset ${reset}, now ${nowS}`)
          }
        }
        const limited = yield* call(keys.test, "POST", "/otp/send", { email: "minute@example.com" })
        assert.deepStrictEqual([limited.status, limited.json], [429, F.rateLimitError])
        assert.strictEqual(header(limited, "retry-after"), "60")
        assert.deepStrictEqual(F.rateLimitHeaders.map((name) => header(limited, name) === undefined), [false, false, false])
        assert.strictEqual(header(limited, "x-ratelimit-remaining"), "0")

        // POST /v1/otp/send, 50 per hour per email: ten a minute for five minutes, then the hour is full
        const hourly = F.endpointLimits[1]
        for (let minute = 0; minute < hourly.limit / 10; minute++) {
          for (let i = 0; i < 10; i++) {
            const ok = yield* call(keys.test, "POST", hourly.path, { email: "hour@example.com" })
            assert.strictEqual(ok.status, 200, `minute ${minute}, send ${i}: ${JSON.stringify(ok.json)}`)
          }
          yield* TestClock.adjust("61 seconds")
        }
        const full = yield* call(keys.test, "POST", hourly.path, { email: "hour@example.com" })
        assert.strictEqual(full.status, 429, JSON.stringify(full.json))
        assertShape(full.json, F.errorShape("rate_limit_exceeded", 429, { retry_after: "number" }))
        assert.strictEqual(header(full, "x-ratelimit-limit"), String(hourly.limit))
        assert.isTrue(Number(field(full.json, "error", "retry_after")) > 60, "the hour's window, not the minute's")

        // POST /v1/otp/verify, 20 per minute per email: five codes, each tried three times wrong and once right
        const verifies = F.endpointLimits[2]
        const to = "verify@example.com"
        let seen = 0
        for (let round = 0; round < verifies.limit / 4; round++) {
          // a second apart, so the outbox's newest message is this round's (it orders by time)
          yield* TestClock.adjust("1 second")
          assert.strictEqual((yield* call(keys.test, "POST", "/otp/send", { email: to })).status, 200)
          const code = codeIn((yield* outbox(keys.test, to)).text)
          const wrong = code === "000000" ? "111111" : "000000"
          for (let i = 0; i < 3; i++) assert.strictEqual((yield* call(keys.test, "POST", verifies.path, { email: to, code: wrong })).status, 400)
          const right = yield* call(keys.test, "POST", verifies.path, { email: to, code })
          assert.strictEqual(right.status, 200, JSON.stringify(right.json))
          seen += 4
        }
        assert.strictEqual(seen, verifies.limit)
        yield* TestClock.adjust("1 second")
        assert.strictEqual((yield* call(keys.test, "POST", "/otp/send", { email: to })).status, 200)
        const code = codeIn((yield* outbox(keys.test, to)).text)
        const over = yield* call(keys.test, "POST", verifies.path, { email: to, code })
        assert.strictEqual(over.status, 429, JSON.stringify(over.json))
        assertShape(over.json, { success: { literal: false }, ...F.errorShape("rate_limit_exceeded", 429, { retry_after: "number" }) as Record<string, F.Shape> })
        assert.strictEqual(header(over, "x-ratelimit-limit"), String(verifies.limit))
        assert.strictEqual(header(over, "retry-after"), String(field(over.json, "error", "retry_after")))

        // POST /v1/magic-link/send, 5 per hour per email
        const links = F.endpointLimits[3]
        for (let i = 0; i < links.limit; i++) {
          const ok = yield* call(keys.test, "POST", links.path, { email: "links@example.com", redirectUrl: "https://app.example.com/cb" })
          assert.strictEqual(ok.status, 200, JSON.stringify(ok.json))
        }
        const sixth = yield* call(keys.test, "POST", links.path, { email: "links@example.com", redirectUrl: "https://app.example.com/cb" })
        assert.strictEqual(sixth.status, 429, JSON.stringify(sixth.json))
        assertShape(sixth.json, F.errorShape("rate_limit_exceeded", 429, { retry_after: "number" }))
        assert.strictEqual(header(sixth, "x-ratelimit-limit"), String(links.limit))
      }))

    it.effect("rate-limit headers on every answer to an accepted key, errors included", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture("Headers Co")
        const answers: Array<[string, Answer]> = []
        const keep = (name: string) => (answer: Answer) => Effect.sync(() => { answers.push([name, answer]); return answer })
        yield* call(keys.test, "POST", "/otp/send", { email: "h@example.com" }).pipe(Effect.tap(keep("otp/send")))
        const code = codeIn((yield* outbox(keys.test, "h@example.com")).text)
        yield* call(keys.test, "POST", "/otp/verify", { email: "h@example.com", code: code === "000000" ? "111111" : "000000" }).pipe(Effect.tap(keep("otp/verify 400")))
        const verified = yield* call(keys.test, "POST", "/otp/verify", { email: "h@example.com", code }).pipe(Effect.tap(keep("otp/verify 200")))
        yield* call(keys.test, "POST", "/otp/verify", { email: "nobody@example.com", code: "123456" }).pipe(Effect.tap(keep("otp/verify, no code")))
        yield* call(keys.test, "POST", "/magic-link/send", { email: "h@example.com", redirectUrl: "https://app.example.com/cb" }).pipe(Effect.tap(keep("magic-link/send")))
        yield* call(keys.test, "POST", "/sessions/verify", { token: text(verified.json, "session", "token") }).pipe(Effect.tap(keep("sessions/verify")))
        yield* call(keys.test, "DELETE", `/sessions/${text(verified.json, "session", "id")}`).pipe(Effect.tap(keep("DELETE sessions")))
        yield* call(keys.test, "DELETE", `/users/${text(verified.json, "session", "user", "id")}/sessions`).pipe(Effect.tap(keep("DELETE users sessions")))
        yield* call(keys.test, "GET", "/keys").pipe(Effect.tap(keep("GET keys")))
        const created = yield* call(keys.test, "POST", "/keys", { name: "k", scopes: ["otp:send"] }).pipe(Effect.tap(keep("POST keys")))
        yield* call(keys.test, "DELETE", `/keys/${text(created.json, "id")}`).pipe(Effect.tap(keep("DELETE keys")))
        yield* call(keys.test, "DELETE", "/keys/key_abc123").pipe(Effect.tap(keep("DELETE keys 404")))
        yield* call(keys.test, "POST", "/otp/send", { email: "not-an-email" }).pipe(Effect.tap(keep("otp/send 400")))
        assert.strictEqual(answers.length, 13)
        for (const [name, answer] of answers) {
          for (const h of F.rateLimitHeaders) assert.match(header(answer, h) ?? "", /^\d+$/, `${name}: ${h}`)
          assert.isTrue(Number(header(answer, "x-ratelimit-remaining")) < Number(header(answer, "x-ratelimit-limit")), name)
        }
      }))

    it.effect("a whole sign-in: send → the code from the outbox → verify → session checked, revoked, checked again", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture("Sign-in Co")
        const email = "Ada@Example.com"
        const sent = yield* call(keys.test, "POST", "/otp/send", { email, length: 8, expiresIn: 120 })
        assert.strictEqual(sent.status, 200)
        for (const name of F.rateLimitHeaders) assert.match(header(sent, name) ?? "", /^\d+$/, name)
        const message = yield* outbox(keys.test, "ada@example.com")
        assert.strictEqual(message.subject, "Your verification code")
        const code = codeIn(message.text, 8)
        const verified = yield* call(keys.test, "POST", "/otp/verify", { email: "ada@example.com", code })
        assert.strictEqual(verified.status, 200)
        assert.strictEqual(field(verified.json, "success"), true)
        assert.strictEqual(text(verified.json, "session", "user", "email"), "ada@example.com")
        assert.match(text(verified.json, "session", "id"), /^ses_/)
        const token = text(verified.json, "session", "token")
        const check = yield* call(keys.test, "POST", "/sessions/verify", { token })
        assert.deepStrictEqual(check.json, {
          valid: true,
          user: field(verified.json, "session", "user"),
          expiresAt: field(verified.json, "session", "expiresAt"),
          sessionId: field(verified.json, "session", "id")
        })
        // the same code again: used → invalid
        const again = yield* call(keys.test, "POST", "/otp/verify", { email: "ada@example.com", code })
        assert.strictEqual(again.status, 400)
        assertShape(again.json, { success: { literal: false }, ...F.errorShape("invalid", 400) as Record<string, F.Shape> })
        // logout: revokeSession, then the token is no longer valid (200 { valid: false })
        const logout = yield* call(keys.test, "DELETE", `/sessions/${text(verified.json, "session", "id")}`)
        assert.deepStrictEqual([logout.status, logout.json], [200, { success: true }])
        const after = yield* call(keys.test, "POST", "/sessions/verify", { token })
        assert.deepStrictEqual([after.status, after.json], [200, { valid: false }])
        const twice = yield* call(keys.test, "DELETE", `/sessions/${text(verified.json, "session", "id")}`)
        assert.strictEqual(twice.status, 200)
        // revokeAllSessions ends every session of the user
        const second = yield* signIn(keys.test, "ada+2@example.com")
        const all = yield* call(keys.test, "DELETE", `/users/${text(second, "session", "user", "id")}/sessions`)
        assert.deepStrictEqual([all.status, all.json], [200, { success: true, revoked: 1 }])
        const gone = yield* call(keys.test, "POST", "/sessions/verify", { token: text(second, "session", "token") })
        assert.deepStrictEqual(gone.json, { valid: false })
        // a garbage token is an answer, not an error; unknown ids are 404
        assert.deepStrictEqual((yield* call(keys.test, "POST", "/sessions/verify", { token: "not-a-jwt" })).json, { valid: false })
        const unknown = yield* call(keys.test, "DELETE", "/sessions/ses_0000000000000000")
        assert.strictEqual(unknown.status, 404)
        assertShape(unknown.json, F.errorShape("not_found", 404))
        assert.strictEqual((yield* call(keys.test, "DELETE", "/users/nobody/sessions")).status, 404)
      }))

    it.effect("magic link (extension): the email lands on redirectUrl?token=…, magic-link/verify redeems it once", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture("Link Co")
        const sent = yield* call(keys.test, "POST", "/magic-link/send", { email: "link@example.com", redirect_url: "https://app.example.com/cb" })
        assert.strictEqual(sent.status, 200)
        assertShape(sent.json, { success: { literal: true }, expiresAt: "iso" })
        const link = /https:\/\/app\.example\.com\/cb\?token=([A-Za-z0-9_-]+)/.exec((yield* outbox(keys.test, "link@example.com")).text)
        const token = link?.[1] ?? ""
        assert.notStrictEqual(token, "")
        const verified = yield* call(keys.test, "POST", "/magic-link/verify", { token })
        assert.strictEqual(verified.status, 200)
        assertShape(verified.json, { success: { literal: true }, session: { token: "jwt", expiresAt: "iso", user: { id: "string" } } })
        const malformed = yield* call(keys.test, "POST", "/magic-link/verify", { token: "abc" })
        assert.strictEqual(malformed.status, 400)
        assertShape(malformed.json, { success: { literal: false }, ...F.errorShape("invalid", 400) as Record<string, F.Shape> })
        const used = yield* call(keys.test, "POST", "/magic-link/verify", { token })
        assert.strictEqual(used.status, 400)
        assertShape(used.json, { success: { literal: false }, ...F.errorShape("invalid", 400) as Record<string, F.Shape> })
        // expired link
        yield* call(keys.test, "POST", "/magic-link/send", { email: "late@example.com", redirectUrl: "https://app.example.com/cb", expiresIn: 60 })
        const late = /\?token=([A-Za-z0-9_-]+)/.exec((yield* outbox(keys.test, "late@example.com")).text)?.[1] ?? ""
        yield* TestClock.adjust("61 seconds")
        const expired = yield* call(keys.test, "POST", "/magic-link/verify", { token: late })
        assert.strictEqual(expired.status, 400)
        assertShape(expired.json, { success: { literal: false }, ...F.errorShape("expired", 400) as Record<string, F.Shape> })
        // redirect off the allowlist; no redirect at all
        const off = yield* call(keys.test, "POST", "/magic-link/send", { email: "link@example.com", redirectUrl: "https://evil.example/cb" })
        assert.strictEqual(off.status, 400)
        assertShape(off.json, F.errorShape("invalid_redirect_url", 400))
        const none = yield* call(keys.test, "POST", "/magic-link/send", { email: "link@example.com" })
        assert.strictEqual(none.status, 400)
        assertShape(none.json, F.errorShape("invalid_request", 400))
      }))

    it.effect("verification failures: invalid, expired, max_attempts (429, retry_after, Retry-After)", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture("Failures Co")
        yield* call(keys.test, "POST", "/otp/send", { email: "late@example.com", expiresIn: 60 })
        const lateCode = codeIn((yield* outbox(keys.test, "late@example.com")).text)
        yield* TestClock.adjust("61 seconds")
        const expired = yield* call(keys.test, "POST", "/otp/verify", { email: "late@example.com", code: lateCode })
        assert.strictEqual(expired.status, 400)
        assertShape(expired.json, { success: { literal: false }, ...F.errorShape("expired", 400) as Record<string, F.Shape> })

        yield* call(keys.test, "POST", "/otp/send", { email: "guess@example.com" })
        const code = codeIn((yield* outbox(keys.test, "guess@example.com")).text)
        const wrong = code === "000000" ? "111111" : "000000"
        const first = yield* call(keys.test, "POST", "/otp/verify", { email: "guess@example.com", code: wrong })
        assert.strictEqual(first.status, 400)
        assertShape(first.json, { success: { literal: false }, ...F.errorShape("invalid", 400) as Record<string, F.Shape> })
        for (let i = 0; i < 4; i++) yield* call(keys.test, "POST", "/otp/verify", { email: "guess@example.com", code: wrong })
        const locked = yield* call(keys.test, "POST", "/otp/verify", { email: "guess@example.com", code })
        assert.strictEqual(locked.status, 429, JSON.stringify(locked.json))
        assertShape(locked.json, { success: { literal: false }, ...F.errorShape("max_attempts", 429, { retry_after: "number" }) as Record<string, F.Shape> })
        assert.strictEqual(header(locked, "retry-after"), String(field(locked.json, "error", "retry_after")))
        // a malformed body on a verification is a verification failure too
        const bad = yield* call(keys.test, "POST", "/otp/verify", "{\"email\":")
        assert.strictEqual(bad.status, 400)
        assertShape(bad.json, { success: { literal: false }, ...F.errorShape("invalid_request", 400) as Record<string, F.Shape> })
      }))

    it.effect("keys: missing, unknown, revoked and expired keys are 401; scopes, escalation and the IP allowlist are 403; listing in Authink's words", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture("Keys Co")
        const missing = yield* call(undefined, "GET", "/keys")
        assert.strictEqual(missing.status, 401)
        assertShape(missing.json, F.errorShape("unauthorized", 401))
        const unknown = yield* call(`sk_live_${"x".repeat(43)}`, "GET", "/keys")
        assert.strictEqual(unknown.status, 401)
        assertShape(unknown.json, F.errorShape("invalid_api_key", 401))

        const narrow = yield* call(keys.live, "POST", "/keys", { name: "sender", scopes: ["otp:send", "magic_link:send"] })
        assert.strictEqual(narrow.status, 201)
        const scoped = yield* call(text(narrow.json, "key"), "GET", "/keys")
        assert.strictEqual(scoped.status, 403)
        assertShape(scoped.json, F.errorShape("insufficient_scope", 403))
        const fenced = yield* call(keys.live, "POST", "/keys", { name: "fenced", scopes: ["otp:verify"], ipWhitelist: ["192.168.1.0/24"] })
        const outside = yield* call(text(fenced.json, "key"), "POST", "/otp/verify", { email: "a@example.com", code: "123456" })
        assert.strictEqual(outside.status, 403)
        assertShape(outside.json, { success: { literal: false }, ...F.errorShape("ip_not_allowed", 403) as Record<string, F.Shape> })
        const badCidr = yield* call(keys.live, "POST", "/keys", { name: "bad", scopes: ["otp:send"], ipWhitelist: ["nope"] })
        assert.strictEqual(badCidr.status, 400)
        assert.match(text(badCidr.json, "error", "message"), /^ipWhitelist\.0: /)
        const unknownScope = yield* call(keys.live, "POST", "/keys", { name: "x", scopes: ["otp:everything"] })
        assert.strictEqual(unknownScope.status, 400)
        assertShape(unknownScope.json, F.errorShape("invalid_request", 400))

        // the server's clock is TestClock's (near 1970): a date before it is in the past
        const past = yield* call(keys.live, "POST", "/keys", { name: "past", scopes: ["otp:send"], expiresAt: "1969-12-31T00:00:00.000Z" })
        assert.strictEqual(past.status, 400)
        assert.strictEqual(text(past.json, "error", "message"), "expiresAt must be in the future")
        const expiring = yield* call(keys.live, "POST", "/keys", {
          name: "temporary", scopes: ["sessions:read"], expiresAt: "2099-01-01T00:00:00.000Z"
        })
        assert.strictEqual(expiring.status, 201, JSON.stringify(expiring.json))
        assert.strictEqual(field(expiring.json, "status"), "active")
        assertShape(expiring.json, { expires_at: "iso" })
        yield* call(keys.live, "DELETE", `/keys/${text(narrow.json, "id")}`)
        yield* TestClock.adjust("2 seconds")
        const revoked = yield* call(text(narrow.json, "key"), "POST", "/otp/send", { email: "r@example.com" })
        assert.strictEqual(revoked.status, 401)
        assertShape(revoked.json, F.errorShape("invalid_api_key", 401))

        // a temporary key (seed: "or ISO date string for temporary keys") stops working when it expires
        const nowMs = yield* Clock.currentTimeMillis
        const shortLived = yield* call(keys.live, "POST", "/keys", {
          name: "short-lived", scopes: ["otp:send"], expiresAt: new Date(nowMs + 60_000).toISOString()
        })
        assert.strictEqual(shortLived.status, 201, JSON.stringify(shortLived.json))
        assert.strictEqual(text(shortLived.json, "expires_at"), new Date(nowMs + 60_000).toISOString())
        assert.strictEqual((yield* call(text(shortLived.json, "key"), "POST", "/otp/send", { email: "s@example.com" })).status, 200)
        yield* TestClock.adjust("61 seconds")
        const lapsed = yield* call(text(shortLived.json, "key"), "POST", "/otp/send", { email: "s@example.com" })
        assert.strictEqual(lapsed.status, 401)
        assertShape(lapsed.json, F.errorShape("invalid_api_key", 401))
        // one answer for unknown, revoked and expired keys
        assert.deepStrictEqual([revoked.json, lapsed.json], [unknown.json, unknown.json])

        // keys:read would be keys:manage (create and revoke too): refused rather than widened
        const readOnly = yield* call(keys.live, "POST", "/keys", { name: "reader", scopes: ["keys:read"] })
        assert.strictEqual(readOnly.status, 400)
        assertShape(readOnly.json, F.errorShape("invalid_request", 400))
        // a key never creates a key stronger than itself, and a test key creates test keys
        const keyMaker = yield* call(keys.live, "POST", "/keys", { name: "key maker", scopes: ["keys:manage"] })
        const stronger = yield* call(text(keyMaker.json, "key"), "POST", "/keys", { name: "stronger", scopes: ["otp:send"] })
        assert.strictEqual(stronger.status, 403)
        assertShape(stronger.json, F.errorShape("insufficient_scope", 403))
        const fromTest = yield* call(keys.test, "POST", "/keys", { name: "from test", scopes: ["otp:send"] })
        assert.strictEqual(fromTest.status, 201)
        assert.match(text(fromTest.json, "key"), /^sk_test_/)

        const listed = yield* call(keys.live, "GET", "/keys")
        assert.strictEqual(listed.status, 200)
        const byName = (name: string) => (Array.isArray(listed.json) ? listed.json : []).find((k: unknown) => field(k, "name") === name)
        assert.strictEqual(field(byName("sender"), "status"), "revoked")
        assert.deepStrictEqual(field(byName("sender"), "scopes"), ["otp:send"])
        assert.deepStrictEqual(field(byName("fenced"), "ip_whitelist"), ["192.168.1.0/24"])
        assert.strictEqual(field(byName("default live key"), "status"), "active")
        assert.strictEqual(field(byName("short-lived"), "status"), "expired")
        assert.isUndefined(byName("from test"), "a live listing shows live keys")
        assert.isUndefined(field(byName("fenced"), "key"))
      }))

    it.effect("enumeration: with sign-up off, a known and an unknown address get the same answer; only the known one gets a code", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture("Enumeration Co")
        yield* signIn(keys.test, "member@example.com")
        // the stranger got a code too (never used, so no account): both addresses have spent the same
        // share of their per-address limits, which the X-RateLimit-* headers show
        assert.strictEqual((yield* call(keys.test, "POST", "/otp/send", { email: "stranger@example.com" })).status, 200)
        yield* (yield* clientFor(keys.test)).tenant.update({ payload: { settings: { allowSignup: false } } })
        const shape = (answer: Answer) => ({
          status: answer.status,
          json: answer.json,
          headers: Object.keys(answer.headers).filter((h) => !["date", "x-request-id"].includes(h)).sort(),
          remaining: header(answer, "x-ratelimit-remaining")
        })
        yield* TestClock.adjust("1 second")
        for (const [path, extra] of [["/otp/send", {}], ["/magic-link/send", { redirectUrl: "https://app.example.com/cb" }]] as const) {
          const known = yield* call(keys.test, "POST", path, { email: "member@example.com", ...extra })
          const unknown = yield* call(keys.test, "POST", path, { email: "stranger@example.com", ...extra })
          assert.strictEqual(known.status, 200, JSON.stringify(known.json))
          assert.deepStrictEqual(shape(unknown), shape(known), path)
        }
        const { messages } = yield* (yield* clientFor(keys.test)).test.messages({ query: { to: "stranger@example.com" } })
        assert.strictEqual(messages.length, 1, "only the code sent while sign-up was on")
        assert.strictEqual((yield* (yield* clientFor(keys.test)).test.messages({ query: { to: "member@example.com" } })).messages.length, 3)
        // a guess for the stranger is a wrong code, like any other
        const guess = yield* call(keys.test, "POST", "/otp/verify", { email: "stranger@example.com", code: "123456" })
        assert.strictEqual(guess.status, 400)
        assertShape(guess.json, { success: { literal: false }, ...F.errorShape("invalid", 400) as Record<string, F.Shape> })
      }))

    it.effect("wire refusals in Authink's shape: malformed JSON, >64 KiB, wrong content type, unknown route", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture("Wire Co")
        const malformed = yield* call(keys.test, "POST", "/otp/send", "{\"email\": ")
        assert.strictEqual(malformed.status, 400)
        assertShape(malformed.json, F.errorShape("invalid_request", 400))
        assert.isUndefined(field(malformed.json, "success"))
        const large = yield* call(keys.test, "POST", "/otp/send", JSON.stringify({ email: "a@example.com", subject: "x".repeat(70_000) }))
        assert.strictEqual(large.status, 413)
        assertShape(large.json, F.errorShape("payload_too_large", 413))
        const plain = yield* call(keys.test, "POST", "/otp/send", "email=a@example.com", { "content-type": "text/plain" })
        assert.strictEqual(plain.status, 415)
        assertShape(plain.json, F.errorShape("unsupported_media_type", 415))
        // on a verification too: refused at the edge, before the route (and its `success: false`) is known
        const plainVerify = yield* call(keys.test, "POST", "/otp/verify", "email=a@example.com&code=123456", { "content-type": "text/plain" })
        assert.deepStrictEqual([plainVerify.status, field(plainVerify.json, "success")], [415, undefined])
        assertShape(plainVerify.json, F.errorShape("unsupported_media_type", 415))
        const nowhere = yield* call(keys.test, "GET", "/nowhere")
        assert.strictEqual(nowhere.status, 404)
        assertShape(nowhere.json, F.errorShape("not_found", 404))
        const wrongMethod = yield* call(keys.test, "PUT", "/otp/send", {})
        assert.strictEqual(wrongMethod.status, 404)
        assertShape(wrongMethod.json, F.errorShape("not_found", 404))
        const badEmail = yield* call(keys.test, "POST", "/otp/send", { email: "not-an-email" })
        assert.strictEqual(badEmail.status, 400)
        assertShape(badEmail.json, F.errorShape("invalid_email", 400))
        const badLength = yield* call(keys.test, "POST", "/otp/send", { email: "a@example.com", length: 5 })
        assert.strictEqual(badLength.status, 400)
        assertShape(badLength.json, F.errorShape("invalid_request", 400))
      }))

    it.effect("the group is in /openapi.json with its bearer scheme", () =>
      Effect.gen(function* () {
        const response = yield* wire(`${yield* baseUrl}/openapi.json`)
        const paths = field(JSON.parse(response.body), "paths")
        for (const path of ["/otp/send", "/otp/verify", "/magic-link/send", "/magic-link/verify", "/sessions/verify", "/sessions/{id}",
          "/users/{id}/sessions", "/keys", "/keys/{id}"]) {
          assert.isTrue(isRecord(field(paths, `${PREFIX}${path}`)), path)
        }
        assert.isDefined(field(paths, `${PREFIX}/otp/send`, "post", "responses", "429"))
      }))
  })

suite("Authink compatibility (PGlite)", pgliteLayer)

describe.skipIf(!hasPostgres)("PostgreSQL", () => {
  suite("Authink compatibility (PostgreSQL)", postgresLayer)
})
