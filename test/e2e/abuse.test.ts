/**
 * Issue #5 end to end on one in-process server (PGlite): rate limits and their headers, resend rules
 * and strategies, enumeration safety, API keys (scopes, IP allowlist, revocation), tenant settings
 * and the audit log. Wall clock: the server runs with the real Clock.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { pgliteLayer } from "../support/Db.ts"
import { baseUrl, clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"

interface Reply {
  readonly status: number
  readonly headers: Headers
  readonly body: Record<string, unknown>
}

const call = (url: string, key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}) =>
  Effect.promise(async (): Promise<Reply> => {
    const response = await fetch(`${url}${path}`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    const text = await response.text()
    return { status: response.status, headers: response.headers, body: text === "" ? {} : JSON.parse(text) as Record<string, unknown> }
  })

/** A fresh tenant (its own limits), its keys, and a raw caller bound to the server. */
const fixture = Effect.gen(function* () {
  const url = yield* baseUrl
  const { tenant, keys } = yield* tenantFixture()
  return {
    tenant, keys, url,
    test: yield* clientFor(keys.test),
    live: yield* clientFor(keys.live),
    raw: (method: string, path: string, body?: unknown, headers?: Record<string, string>, key = keys.test) =>
      call(url, key, method, path, body, headers)
  }
})

layer(serverLayer(pgliteLayer), { timeout: 120_000, excludeTestServices: true })("abuse controls over HTTP (PGlite)", (it) => {
  it.effect("X-RateLimit-* on every /v1 response: the key's limit, or a tighter one the request counted", () =>
    Effect.gen(function* () {
      const { raw } = yield* fixture
      const list = yield* raw("GET", "/v1/keys")
      assert.strictEqual(list.status, 200)
      assert.strictEqual(list.headers.get("x-ratelimit-limit"), "6000")
      assert.strictEqual(list.headers.get("x-ratelimit-remaining"), "5999")
      assert.match(list.headers.get("x-request-id") ?? "", /^req_/)
      const sent = yield* raw("POST", "/v1/passwordless/send", { email: "hdr@example.com" })
      assert.deepStrictEqual([sent.status, sent.headers.get("x-ratelimit-limit"), sent.headers.get("x-ratelimit-remaining")], [202, "10", "9"])
      const status = yield* raw("GET", `/v1/passwordless/${String(sent.body["authRequestId"])}`)
      assert.deepStrictEqual([status.status, status.headers.get("x-ratelimit-limit")], [200, "6000"])
      assert.isAtLeast(Number(status.headers.get("x-ratelimit-reset")), Math.floor(Date.now() / 1000))
      // the new endpoints are in the contract the OpenAPI document and the client derive from
      const url = yield* baseUrl
      const openapi = yield* Effect.promise(() => fetch(`${url}/openapi.json`).then((r) => r.json() as Promise<{ paths: Record<string, unknown> }>))
      for (const path of ["/v1/keys", "/v1/keys/{keyId}", "/v1/tenant", "/v1/audit"]) assert.property(openapi.paths, path)
    }))

  it.effect("the per-key limit refuses the request past it with 429 requests_per_key_minute and Retry-After", () =>
    Effect.gen(function* () {
      const { raw } = yield* fixture
      const patched = yield* raw("PATCH", "/v1/tenant", { settings: { limits: { requestsPerKeyMinute: 3 } } })
      assert.strictEqual(patched.status, 200)
      for (let i = 0; i < 3; i++) assert.strictEqual((yield* raw("GET", "/v1/keys")).status, 200)
      const refused = yield* raw("GET", "/v1/keys")
      assert.deepStrictEqual([refused.status, refused.body["code"], refused.body["limit"]], [429, "RATE_LIMITED", "requests_per_key_minute"])
      assert.strictEqual(refused.headers.get("retry-after"), String(refused.body["retryAfter"]))
      assert.strictEqual(refused.headers.get("x-ratelimit-remaining"), "0")
    }))

  it.effect("per end-user IP: the 31st send in an hour from one client.ipAddress is refused (send_per_ip_hour)", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const send = (i: number) => test.passwordless.send({ payload: { email: `ip${i}@example.com`, client: { ipAddress: "203.0.113.9" } } })
      for (let i = 0; i < 30; i++) yield* send(i)
      const refused = yield* Effect.flip(send(30))
      assert.strictEqual(errorCode(refused), "RATE_LIMITED")
      assert.strictEqual("limit" in refused ? refused.limit : "", "send_per_ip_hour")
      // another address, same user agent: unaffected
      yield* test.passwordless.send({ payload: { email: "ip-other@example.com", client: { ipAddress: "203.0.113.10" } } })
    }))

  it.effect("verify per identifier: past verifyPerIdentifierMinute → RATE_LIMITED, and that guess is not counted", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      yield* test.tenant.update({ payload: { settings: { limits: { verifyPerIdentifierMinute: 2 } } } })
      const sent = yield* test.passwordless.send({ payload: { email: "guesser@example.com" } })
      const wrong = sent.code === "000000" ? "111111" : "000000"
      const guess = (code: string) => Effect.flip(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code } }))
      assert.strictEqual(errorCode(yield* guess(wrong)), "CODE_INVALID")
      assert.strictEqual(errorCode(yield* guess(wrong)), "CODE_INVALID")
      const limited = yield* guess(sent.code ?? "")
      assert.strictEqual(errorCode(limited), "RATE_LIMITED")
      assert.strictEqual("limit" in limited ? limited.limit : "", "verify_per_identifier_minute")
      const status = yield* test.passwordless.status({ params: { authRequestId: sent.authRequestId } })
      assert.deepStrictEqual([status.attempts, status.status], [2, "pending"])
    }))

  it.effect("resend: 429 RESEND_TOO_SOON with Retry-After inside the cooldown; rotate voids the old code", () =>
    Effect.gen(function* () {
      const { test, raw } = yield* fixture
      const sent = yield* test.passwordless.send({ payload: { email: "cool@example.com" } })
      const early = yield* raw("POST", "/v1/passwordless/resend", { authRequestId: sent.authRequestId })
      assert.deepStrictEqual([early.status, early.body["code"]], [429, "RESEND_TOO_SOON"])
      assert.isAtLeast(Number(early.body["retryAfter"]), 29)
      assert.strictEqual(early.headers.get("retry-after"), String(early.body["retryAfter"]))
      yield* test.tenant.update({ payload: { settings: { resendCooldownSeconds: 0 } } })
      const resent = yield* test.passwordless.resend({ payload: { authRequestId: sent.authRequestId } })
      assert.notStrictEqual(resent.code, sent.code)
      const old = yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } }))
      assert.strictEqual(errorCode(old), "CODE_INVALID")
      const ok = yield* test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: resent.code ?? "" } })
      assert.strictEqual(ok.user.email, "cool@example.com")
    }))

  it.effect("resendStrategy reuse sends the same code and link; keep leaves the older code valid; attempts never reset", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      yield* test.tenant.update({ payload: { settings: { resendCooldownSeconds: 0, resendStrategy: "reuse" } } })
      const sent = yield* test.passwordless.send({ payload: { email: "reuse@example.com", type: "LINK_OTP", redirectUrl: "https://app.example.com/cb" } })
      const wrong = sent.code === "000000" ? "111111" : "000000"
      yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: wrong } }))
      const again = yield* test.passwordless.resend({ payload: { authRequestId: sent.authRequestId } })
      assert.deepStrictEqual([again.code, again.linkToken, again.expiresAt], [sent.code, sent.linkToken, sent.expiresAt])
      const status = yield* test.passwordless.status({ params: { authRequestId: sent.authRequestId } })
      assert.deepStrictEqual([status.attempts, status.resends], [1, 1])
      yield* test.passwordless.verify({ payload: { linkToken: again.linkToken ?? "" } })

      yield* test.tenant.update({ payload: { settings: { resendStrategy: "keep" } } })
      const first = yield* test.passwordless.send({ payload: { email: "keep@example.com", type: "LINK_OTP", redirectUrl: "https://app.example.com/cb" } })
      const second = yield* test.passwordless.resend({ payload: { authRequestId: first.authRequestId } })
      assert.notStrictEqual(second.code, first.code)
      assert.notStrictEqual(second.linkToken, first.linkToken)
      // the first email's link still works (slow mail), once for the whole request
      const viaOld = yield* test.passwordless.verify({ payload: { linkToken: first.linkToken ?? "" } })
      assert.strictEqual(viaOld.authRequest.id, first.authRequestId)
      const used = yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: first.authRequestId, code: second.code ?? "" } }))
      assert.strictEqual(errorCode(used), "ALREADY_USED")
      const third = yield* test.passwordless.send({ payload: { email: "keep2@example.com" } })
      const fourth = yield* test.passwordless.resend({ payload: { authRequestId: third.authRequestId } })
      assert.notStrictEqual(fourth.code, third.code)
      const viaOldCode = yield* test.passwordless.verify({ payload: { authRequestId: third.authRequestId, code: third.code ?? "" } })
      assert.strictEqual(viaOldCode.user.email, "keep2@example.com")
    }))

  it.effect("scopes: a key without passwordless:send or keys:manage gets 403 SCOPE_MISSING", () =>
    Effect.gen(function* () {
      const { test, url } = yield* fixture
      const created = yield* test.keys.create({ payload: { name: "verifier", mode: "test", scopes: ["passwordless:verify"] } })
      assert.match(created.secret, /^sk_test_/)
      const send = yield* call(url, created.secret, "POST", "/v1/passwordless/send", { email: "s@example.com" })
      assert.deepStrictEqual([send.status, send.body["code"], send.body["scope"]], [403, "SCOPE_MISSING", "passwordless:send"])
      const keys = yield* call(url, created.secret, "GET", "/v1/keys")
      assert.deepStrictEqual([keys.status, keys.body["code"]], [403, "SCOPE_MISSING"])
      const tenant = yield* call(url, created.secret, "GET", "/v1/tenant")
      assert.deepStrictEqual([tenant.status, tenant.body["code"]], [403, "SCOPE_MISSING"])
    }))

  it.effect("IP allowlist: the socket peer decides; a forged X-Forwarded-For does not get in", () =>
    Effect.gen(function* () {
      const { test, url } = yield* fixture
      const elsewhere = yield* test.keys.create({ payload: { name: "office", mode: "test", scopes: ["keys:manage"], ipAllowlist: ["10.0.0.0/8", "2001:db8::/32"] } })
      assert.deepStrictEqual(elsewhere.key.ipAllowlist, ["10.0.0.0/8", "2001:db8::/32"])
      for (const forged of [undefined, "10.1.2.3", "10.1.2.3, 10.9.9.9", "2001:db8::1"]) {
        const reply = yield* call(url, elsewhere.secret, "GET", "/v1/keys", undefined, forged === undefined ? {} : { "x-forwarded-for": forged })
        assert.deepStrictEqual([reply.status, reply.body["code"]], [403, "IP_NOT_ALLOWED"], String(forged))
      }
      const local = yield* test.keys.create({ payload: { name: "here", mode: "test", scopes: ["keys:manage"], ipAllowlist: ["127.0.0.1", "::1"] } })
      const ok = yield* call(url, local.secret, "GET", "/v1/keys", undefined, { "x-forwarded-for": "198.51.100.1" })
      assert.strictEqual(ok.status, 200)
      const bad = yield* Effect.flip(test.keys.create({ payload: { name: "bad", mode: "test", scopes: ["keys:manage"], ipAllowlist: ["10.0.0.0/33"] } }))
      assert.deepStrictEqual([errorCode(bad), "field" in bad ? bad.field : ""], ["VALIDATION_FAILED", "ipAllowlist.0"])
    }))

  it.effect("keys: list without secrets, no escalation, revoke refuses at once, lastUsedAt recorded", () =>
    Effect.gen(function* () {
      const { test, url } = yield* fixture
      const created = yield* test.keys.create({ payload: { name: "ci", mode: "test", scopes: ["passwordless:send"], expiresAt: Math.floor(Date.now() / 1000) + 3600 } })
      assert.strictEqual(created.key.prefix, created.secret.slice(0, 12))
      assert.isNull(created.key.lastUsedAt)
      const listed = yield* test.keys.list()
      assert.isTrue(listed.keys.some((k) => k.id === created.key.id))
      assert.notInclude(JSON.stringify(listed), created.secret)
      const live = yield* Effect.flip(test.keys.create({ payload: { name: "live", mode: "live", scopes: ["passwordless:send"] } }))
      assert.strictEqual(errorCode(live), "SCOPE_MISSING")
      const limited = yield* clientFor(created.secret)
      const more = yield* Effect.flip(limited.keys.create({ payload: { name: "x", mode: "test", scopes: ["passwordless:send"] } }))
      assert.strictEqual(errorCode(more), "SCOPE_MISSING")
      const past = yield* Effect.flip(test.keys.create({ payload: { name: "old", mode: "test", scopes: ["passwordless:send"], expiresAt: 1000 } }))
      assert.strictEqual(errorCode(past), "VALIDATION_FAILED")
      assert.strictEqual((yield* call(url, created.secret, "POST", "/v1/passwordless/send", { email: "k@example.com" })).status, 202)
      yield* test.keys.revoke({ params: { keyId: created.key.id } })
      const refused = yield* call(url, created.secret, "POST", "/v1/passwordless/send", { email: "k@example.com" })
      assert.deepStrictEqual([refused.status, refused.body["code"]], [401, "API_KEY_INVALID"])
      const missing = yield* Effect.flip(test.keys.revoke({ params: { keyId: created.key.id.replace(/.$/, (last) => last === "Z" ? "Y" : "Z") as typeof created.key.id } }))
      assert.strictEqual(errorCode(missing), "NOT_FOUND")
      // last use is written in the background (every 2 s)
      let seen: string | null = null
      for (let i = 0; i < 40 && seen === null; i++) {
        yield* Effect.sleep("100 millis")
        seen = (yield* test.keys.list()).keys.find((k) => k.id === created.key.id)?.lastUsedAt ?? null
      }
      assert.isNotNull(seen)
    }))

  it.effect("enumeration: with allowSignup false, known and unknown addresses get the same answer; the unknown one gets no code", () =>
    Effect.gen(function* () {
      const { test, live, raw, keys, url } = yield* fixture
      const first = yield* test.passwordless.send({ payload: { email: "member@example.com" } })
      yield* test.passwordless.verify({ payload: { authRequestId: first.authRequestId, code: first.code ?? "" } })
      // settings are per mode (issue 10): both modes are switched, since both keys send below
      const signupOff = { allowSignup: false, limits: { sendPerIdentifierMinute: 1000, sendPerIdentifierHour: 10000 } }
      yield* test.tenant.update({ payload: { settings: signupOff } })
      yield* live.tenant.update({ payload: { settings: signupOff } })
      const shape = (r: Reply) => ({
        status: r.status,
        keys: Object.keys(r.body).sort(),
        types: Object.values(r.body).map((v) => typeof v),
        headers: [...r.headers.keys()].filter((h) => h !== "date" && h !== "content-length").sort(),
        delivery: r.body["delivery"], expiresIn: r.body["expiresIn"]
      })
      for (const key of [keys.live, keys.test]) {
        const known = yield* raw("POST", "/v1/passwordless/send", { email: "member@example.com" }, {}, key)
        const unknown = yield* raw("POST", "/v1/passwordless/send", { email: "stranger@example.com" }, {}, key)
        assert.deepStrictEqual(shape(unknown), shape(known))
      }
      // no message went to the stranger; the decoy's code verifies nothing and creates no user
      const outbox = yield* test.test.messages({ query: { to: "stranger@example.com" } })
      assert.strictEqual(outbox.messages.length, 0)
      const decoy = yield* test.passwordless.send({ payload: { email: "stranger@example.com" } })
      const denied = yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: decoy.authRequestId, code: decoy.code ?? "" } }))
      assert.strictEqual(errorCode(denied), "CODE_INVALID")
      // with noAccountEmail, the stranger is told there is no account instead (and still gets no code)
      yield* test.tenant.update({ payload: { settings: { noAccountEmail: true } } })
      const told = yield* test.passwordless.send({ payload: { email: "told@example.com" } })
      const notice = yield* test.test.messages({ query: { to: "told@example.com" } })
      assert.strictEqual(notice.messages.length, 1)
      assert.include(notice.messages[0]?.text ?? "", "no account")
      assert.notInclude(notice.messages[0]?.text ?? "", told.code ?? "-")
      yield* test.tenant.update({ payload: { settings: { noAccountEmail: null } } })
      // timing: the same work either way (one user look-up, one auth request, one outbox or audit row)
      const time = (email: string) => Effect.promise(async () => {
        const t0 = performance.now()
        await fetch(`${url}/v1/passwordless/send`, {
          method: "POST", headers: { authorization: `Bearer ${keys.live}`, "content-type": "application/json" }, body: JSON.stringify({ email })
        }).then((r) => r.text())
        return performance.now() - t0
      })
      const median = (xs: Array<number>) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? 0
      const knownTimes: Array<number> = []
      const unknownTimes: Array<number> = []
      // Each send is timed on its own: background work another send caused (the delivery worker) is let
      // finish first, so it cannot land in either column.
      const settle = Effect.promise(() => new Promise((resolve) => setTimeout(resolve, 40)))
      for (let i = 0; i < 15; i++) {
        yield* settle
        knownTimes.push(yield* time("member@example.com"))
        yield* settle
        unknownTimes.push(yield* time(`nobody${i}@example.com`))
      }
      const [k, u] = [median(knownTimes), median(unknownTimes)]
      assert.isBelow(Math.abs(k - u), Math.max(5, 0.5 * Math.max(k, u)), `median known ${k.toFixed(2)} ms, unknown ${u.toFixed(2)} ms`)
    }))

  it.effect("tenant settings: GET, PATCH merges and validates, unknown fields rejected, null resets, channel switch", () =>
    Effect.gen(function* () {
      const { test, live, raw } = yield* fixture
      const before = yield* test.tenant.get()
      assert.deepStrictEqual(before.settings.redirectAllowlist, ["https://app.example.com/cb", "http://localhost/*"])
      const unknown = yield* raw("PATCH", "/v1/tenant", { settings: { sendLimit: 3 } })
      assert.deepStrictEqual([unknown.status, unknown.body["code"]], [400, "VALIDATION_FAILED"])
      assert.include(String(unknown.body["message"]), "sendLimit")
      const nested = yield* raw("PATCH", "/v1/tenant", { settings: { limits: { perFortnight: 3 } } })
      assert.deepStrictEqual([nested.status, nested.body["code"]], [400, "VALIDATION_FAILED"])
      const top = yield* raw("PATCH", "/v1/tenant", { settings: {}, plan: "pro" })
      assert.deepStrictEqual([top.status, top.body["code"]], [400, "VALIDATION_FAILED"])
      const range = yield* raw("PATCH", "/v1/tenant", { settings: { otpTtlSeconds: 5 } })
      assert.deepStrictEqual([range.status, range.body["field"]], [400, "settings.otpTtlSeconds"])
      const redirect = yield* Effect.flip(test.tenant.update({ payload: { settings: { redirectAllowlist: ["https://ok.example.com/cb", "javascript:alert(1)"] } } }))
      assert.deepStrictEqual([errorCode(redirect), "field" in redirect ? redirect.field : ""], ["VALIDATION_FAILED", "settings.redirectAllowlist.1"])
      const merged = yield* test.tenant.update({ payload: { settings: { limits: { sendPerIpHour: 99 }, appName: "Acme App" } } })
      // the name is shared by both modes: only a live key changes it (issue 10)
      const renamed = yield* live.tenant.update({ payload: { name: "Acme 2" } })
      const again = yield* test.tenant.update({ payload: { settings: { limits: { sendPerIdentifierHour: 40 } } } })
      assert.deepStrictEqual(again.settings.limits, { sendPerIpHour: 99, sendPerIdentifierHour: 40 })
      assert.deepStrictEqual([renamed.name, merged.settings.appName, again.name], ["Acme 2", "Acme App", "Acme 2"])
      const reset = yield* test.tenant.update({ payload: { settings: { appName: null, limits: { sendPerIpHour: null } } } })
      assert.isUndefined(reset.settings.appName)
      assert.deepStrictEqual(reset.settings.limits, { sendPerIdentifierHour: 40 })
      yield* test.tenant.update({ payload: { settings: { channels: { email: false } } } })
      const off = yield* Effect.flip(test.passwordless.send({ payload: { email: "off@example.com" } }))
      assert.strictEqual(errorCode(off), "CHANNEL_DISABLED")
    }))

  it.effect("audit log: who/what/when for keys, settings, logins and refusals; paged; no secrets", () =>
    Effect.gen(function* () {
      const { test, raw, keys } = yield* fixture
      const created = yield* test.keys.create({ payload: { name: "audited", mode: "test", scopes: ["passwordless:send"] } })
      yield* test.keys.revoke({ params: { keyId: created.key.id } })
      yield* test.tenant.update({ payload: { settings: { maxAttempts: 3, limits: { sendPerIdentifierMinute: 1 } } } })
      const sent = yield* test.passwordless.send({ payload: { email: "aud@example.com" } })
      yield* Effect.flip(test.passwordless.send({ payload: { email: "aud@example.com" } }))
      const wrong = sent.code === "000000" ? "111111" : "000000"
      yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: wrong } }))
      yield* test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })
      const page = yield* test.audit.list({ query: {} })
      const types = page.events.map((e) => e.type)
      for (const type of ["key.created", "key.revoked", "tenant.updated", "rate_limited", "login.failed", "login.success"] as const) {
        assert.include(types, type)
      }
      const settings = page.events.find((e) => e.type === "tenant.updated")
      assert.deepStrictEqual(settings?.details["changes"], [
        { path: "limits.sendPerIdentifierMinute", from: null, to: 1 },
        { path: "maxAttempts", from: null, to: 3 }
      ])
      assert.strictEqual(settings?.mode, "test")
      assert.strictEqual(settings?.actor, (yield* test.keys.list()).keys.find((k) => keys.test.startsWith(k.prefix))?.id)
      const login = page.events.find((e) => e.type === "login.success")
      assert.match(login?.requestId ?? "", /^req_/)
      assert.strictEqual(login?.ip, "127.0.0.1")
      assert.match(login?.actor ?? "", /^key_/)
      const text = JSON.stringify(page)
      for (const secret of [created.secret, keys.test, keys.live, sent.code ?? "-"]) assert.notInclude(text, secret)
      // paging: newest first, no overlap, the cursor walks to the end
      const seen: Array<string> = []
      let cursor: string | null | undefined = undefined
      do {
        const next: { events: ReadonlyArray<{ id: string }>; nextCursor: string | null } = yield* test.audit.list({ query: cursor === undefined || cursor === null ? { limit: 2 } : { limit: 2, cursor } })
        seen.push(...next.events.map((e) => e.id))
        cursor = next.nextCursor
      } while (cursor !== null)
      assert.deepStrictEqual(seen, page.events.map((e) => e.id))
      const viaRaw = yield* raw("GET", "/v1/audit?limit=1")
      assert.strictEqual(viaRaw.status, 200)
    }))
})
