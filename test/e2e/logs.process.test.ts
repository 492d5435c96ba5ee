/**
 * Logs (issue 13, item 4) of a real `sesame serve` process with LOG_FORMAT=json: every flow runs
 * against it (email OTP, magic link through the hosted page and the exchange, SMS, refresh,
 * introspection, userinfo, logout, API keys, a webhook endpoint and a delivery, tenant settings, the
 * test outbox, two compatibility adapters, failures), then ALL of its output is scanned: no code, link
 * token, exchange code, API key, access/ID/refresh token, webhook or SMS-gateway secret, SESAME_SECRET,
 * SMTP password or unmasked email/phone may appear. SMTP and an SMS gateway are configured, so there is
 * no dev-outbox line (the one documented exception, which logs the code on purpose). Every request has
 * exactly one JSON request line carrying its echoed request id, route template, status and latency,
 * and the tenant when a key or access token named it.
 */
import { randomBytes } from "node:crypto"
import { mkdtempSync, rmSync } from "node:fs"
import { createServer, type IncomingMessage, type Server } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import {
  cli, codeIn, eventually, freePort, linkTokenIn, parseTenant, type ServerProcess, type SmtpSink, startServer, startSmtpSink,
  testSecret
} from "../support/Processes.ts"

const ORIGIN = "http://sesame.test"
const REDIRECT = "https://app.example.com/cb"
/** The SMTP server refuses this recipient, quoting it: the delivery warning must mask it. */
const rejected = "nobody.here@example.com"

interface Received {
  readonly path: string
  readonly body: string
}

/** A local HTTP receiver for the SMS gateway and the webhook endpoint: answers 200 and keeps each body. */
const startReceiver = async (): Promise<{ readonly url: string; readonly received: Array<Received>; readonly server: Server }> => {
  const received: Array<Received> = []
  const port = await freePort()
  const server = createServer((request: IncomingMessage, response) => {
    let body = ""
    request.setEncoding("utf8")
    request.on("data", (chunk: string) => (body += chunk))
    request.on("end", () => {
      received.push({ path: request.url ?? "", body })
      response.writeHead(200, { "content-type": "application/json" }).end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(port, "127.0.0.1", resolve))
  return { url: `http://127.0.0.1:${port}`, received, server }
}

interface Called {
  readonly method: string
  readonly status: number
  readonly requestId: string
  /** The route template the request line must name (null: no route matched). */
  readonly route: string | null
  /** The tenant the request line must name (null: no key or access token named one). */
  readonly tenant: string | null
}

interface Answer {
  readonly status: number
  readonly headers: Headers
  readonly text: string
  readonly json: Record<string, unknown>
}

const record = (value: unknown): Record<string, unknown> =>
  typeof value === "object" && value !== null && !Array.isArray(value) ? Object.fromEntries(Object.entries(value)) : {}

describe("logs of a server process (LOG_FORMAT=json)", () => {
  const dataDir = mkdtempSync(join(tmpdir(), "sesame-logs-"))
  const smtpAuth = { user: "mailer", pass: `smtp-pass-${randomBytes(9).toString("hex")}` }
  const smsSecret = `whsec_${randomBytes(32).toString("base64")}`
  let server: ServerProcess | undefined
  let sink: SmtpSink | undefined
  let receiver: Awaited<ReturnType<typeof startReceiver>> | undefined
  let tenantId = ""
  let keys = { live: "", test: "" }
  const calls: Array<Called> = []
  /** Every secret value the flows saw: none may appear in the output. */
  const secrets = new Map<string, string>()
  const keep = (what: string, value: unknown) => {
    assert.isString(value, what)
    assert.isAbove(String(value).length, 3, what)
    secrets.set(String(value), what)
    return String(value)
  }

  const call = async (
    method: string,
    path: string,
    options: {
      readonly route: string | null
      readonly tenant?: boolean
      readonly bearer?: string
      readonly json?: unknown
      readonly form?: Record<string, string>
      readonly text?: string
      readonly headers?: Record<string, string>
    }
  ): Promise<Answer> => {
    const headers: Record<string, string> = { ...options.headers }
    if (options.bearer !== undefined) headers["authorization"] = `Bearer ${options.bearer}`
    let body: string | undefined
    if (options.json !== undefined) {
      headers["content-type"] = "application/json"
      body = JSON.stringify(options.json)
    } else if (options.form !== undefined) {
      headers["content-type"] = "application/x-www-form-urlencoded"
      body = new URLSearchParams(options.form).toString()
    } else if (options.text !== undefined) {
      body = options.text
    }
    const response = await fetch(`${server?.url ?? ""}${path}`, { method, headers, redirect: "manual", ...(body === undefined ? {} : { body }) })
    const text = await response.text()
    let json: Record<string, unknown> = {}
    try {
      json = record(JSON.parse(text))
    } catch {
      json = {}
    }
    const requestId = response.headers.get("x-request-id") ?? ""
    assert.notStrictEqual(requestId, "", `${method} ${path}: every response echoes a request id`)
    calls.push({ method, status: response.status, requestId, route: options.route, tenant: options.tenant === true ? tenantId : null })
    return { status: response.status, headers: response.headers, text, json }
  }

  beforeAll(async () => {
    sink = await startSmtpSink(0, { auth: smtpAuth, refuse: [rejected] })
    receiver = await startReceiver()
    const created = parseTenant(await cli(["tenant", "create", "--name", "Logs", "--allow-redirect", REDIRECT, "--json"], { SESAME_DATA_DIR: dataDir }))
    tenantId = created.tenant.id
    keys = { live: keep("live key", created.keys.live), test: keep("test key", created.keys.test) }
    keep("SESAME_SECRET", testSecret)
    keep("SMTP password", smtpAuth.pass)
    keep("SMS gateway secret", smsSecret)
    keep("SMS gateway secret (its key)", smsSecret.slice("whsec_".length))
    server = await startServer({
      SESAME_DATA_DIR: dataDir,
      LOG_FORMAT: "json",
      PUBLIC_URL: ORIGIN,
      SMTP_URL: `smtp://${smtpAuth.user}:${smtpAuth.pass}@127.0.0.1:${sink.port}`,
      SMS_WEBHOOK_URL: `${receiver.url}/sms`,
      SMS_WEBHOOK_SECRET: smsSecret,
      WEBHOOKS_ALLOW_PRIVATE: "true",
      WEBHOOK_RETRY_BASE_MS: "5",
      DELIVERY_POLL_MS: "100"
    }, { timeoutMs: 60_000 })
  }, 120_000)

  afterAll(async () => {
    await server?.stop()
    await sink?.close()
    await new Promise<void>((resolve) => receiver === undefined ? resolve() : receiver.server.close(() => resolve()))
    rmSync(dataDir, { recursive: true, force: true })
  })

  it("every flow: nothing secret and no unmasked email or phone in any line; one request line per request", async () => {
    const live = keys.live
    const key = { bearer: live, tenant: true } as const

    // a webhook endpoint first, so that the sign-ins below are delivered to it
    const hook = await call("POST", "/v1/webhooks", { ...key, route: "/v1/webhooks", json: { url: `${receiver?.url ?? ""}/hook`, events: ["login.success", "login.failed"] } })
    assert.strictEqual(hook.status, 201, hook.text)
    keep("webhook secret", hook.json["secret"])

    // email OTP over SMTP: a wrong code, then the right one
    const ada = "ada.lovelace@example.com"
    const sent = await call("POST", "/v1/passwordless/send", { ...key, route: "/v1/passwordless/send", json: { email: ada } })
    assert.strictEqual(sent.status, 202, sent.text)
    const authRequestId = String(sent.json["authRequestId"])
    const code = keep("email code", codeIn((await (sink as SmtpSink).waitFor(ada)).raw))
    const wrong = code === "000000" ? "111111" : "000000"
    const refused = await call("POST", "/v1/passwordless/verify", { ...key, route: "/v1/passwordless/verify", json: { authRequestId, code: wrong } })
    assert.strictEqual(refused.status, 400, refused.text)
    const verified = await call("POST", "/v1/passwordless/verify", { ...key, route: "/v1/passwordless/verify", json: { authRequestId, code } })
    assert.strictEqual(verified.status, 200, verified.text)
    const session = record(verified.json["session"])
    const accessToken = keep("access token", session["accessToken"])
    const refreshToken = keep("refresh token", session["refreshToken"])
    keep("id token", verified.json["idToken"])
    const status = await call("GET", `/v1/passwordless/${authRequestId}`, { ...key, route: "/v1/passwordless/:authRequestId" })
    assert.strictEqual(status.status, 200, status.text)

    // magic link: the hosted page (GET shows, POST consumes), then the exchange
    const grace = "grace.hopper@example.com"
    const linkSent = await call("POST", "/v1/passwordless/send", {
      ...key, route: "/v1/passwordless/send", json: { email: grace, type: "LINK", redirectUrl: REDIRECT, state: "st-1" }
    })
    assert.strictEqual(linkSent.status, 202, linkSent.text)
    const linkToken = keep("link token", linkTokenIn((await (sink as SmtpSink).waitFor(grace)).raw))
    const page = await call("GET", `/l/${linkToken}`, { route: "/l/:linkToken" })
    assert.strictEqual(page.status, 200, page.text)
    const csrf = keep("page csrf token", /name="csrf" value="([^"]+)"/.exec(page.text)?.[1])
    const rt = /name="rt" value="(\d+)"/.exec(page.text)?.[1] ?? ""
    const continued = await call("POST", `/l/${linkToken}`, { route: "/l/:linkToken", form: { csrf, rt }, headers: { origin: ORIGIN } })
    assert.strictEqual(continued.status, 303, continued.text)
    const exchangeCode = keep("exchange code", new URL(continued.headers.get("location") ?? "").searchParams.get("code"))
    const exchanged = await call("POST", "/v1/passwordless/exchange", { ...key, route: "/v1/passwordless/exchange", json: { code: exchangeCode } })
    assert.strictEqual(exchanged.status, 200, exchanged.text)
    keep("access token (link)", record(exchanged.json["session"])["accessToken"])
    keep("refresh token (link)", record(exchanged.json["session"])["refreshToken"])
    keep("id token (link)", exchanged.json["idToken"])
    const again = await call("POST", "/v1/passwordless/exchange", { ...key, route: "/v1/passwordless/exchange", json: { code: exchangeCode } })
    assert.strictEqual(again.status, 409, again.text)

    // SMS through the signed gateway
    const phone = "+447400123456"
    const smsSent = await call("POST", "/v1/passwordless/send", { ...key, route: "/v1/passwordless/send", json: { channel: "sms", phone } })
    assert.strictEqual(smsSent.status, 202, smsSent.text)
    const sms = await eventually("the SMS at the gateway", () => Promise.resolve(receiver?.received.find((r) => r.path === "/sms")))
    const smsCode = keep("SMS code", /\b(\d{6})\b/.exec(String(record(JSON.parse(sms.body))["body"]))?.[1])
    const smsVerified = await call("POST", "/v1/passwordless/verify", {
      ...key, route: "/v1/passwordless/verify", json: { authRequestId: smsSent.json["authRequestId"], code: smsCode }
    })
    assert.strictEqual(smsVerified.status, 200, smsVerified.text)
    keep("access token (sms)", record(smsVerified.json["session"])["accessToken"])
    keep("refresh token (sms)", record(smsVerified.json["session"])["refreshToken"])
    keep("id token (sms)", smsVerified.json["idToken"])

    // the end user's app: refresh (and a replay of the retired token), userinfo, introspection, logout
    const refreshed = await call("POST", "/v1/token/refresh", { route: "/v1/token/refresh", json: { refreshToken } })
    assert.strictEqual(refreshed.status, 200, refreshed.text)
    const newAccess = keep("refreshed access token", record(refreshed.json["session"])["accessToken"])
    keep("refreshed refresh token", record(refreshed.json["session"])["refreshToken"])
    keep("refreshed id token", refreshed.json["idToken"])
    const introspected = await call("POST", "/v1/sessions/verify", { ...key, route: "/v1/sessions/verify", json: { token: newAccess } })
    assert.strictEqual(introspected.status, 200, introspected.text)
    const userinfo = await call("GET", "/v1/userinfo", { bearer: newAccess, tenant: true, route: "/v1/userinfo" })
    assert.strictEqual(userinfo.status, 200, userinfo.text)
    const logout = await call("POST", "/v1/logout", { bearer: newAccess, tenant: true, route: "/v1/logout" })
    assert.strictEqual(logout.status, 204, logout.text)
    const reused = await call("POST", "/v1/token/refresh", { route: "/v1/token/refresh", json: { refreshToken } })
    assert.strictEqual(reused.status, 401, reused.text)
    const stale = await call("GET", "/v1/userinfo", { bearer: accessToken, route: "/v1/userinfo" })
    assert.strictEqual(stale.status, 401, stale.text)

    // API keys: create (the secret is answered once) and revoke; an unknown key is refused
    const newKey = await call("POST", "/v1/keys", { ...key, route: "/v1/keys", json: { name: "ci", mode: "live", scopes: ["passwordless:send"] } })
    assert.strictEqual(newKey.status, 201, newKey.text)
    keep("created key", newKey.json["secret"])
    const keyId = String(record(newKey.json["key"])["id"])
    const revoked = await call("DELETE", `/v1/keys/${keyId}`, { ...key, route: "/v1/keys/:keyId" })
    assert.strictEqual(revoked.status, 204, revoked.text)
    const unknown = keep("unknown key", `sk_live_${randomBytes(32).toString("base64url")}`)
    const unknownKey = await call("POST", "/v1/passwordless/send", { bearer: unknown, route: "/v1/passwordless/send", json: { email: ada } })
    assert.strictEqual(unknownKey.status, 401, unknownKey.text)

    // tenant settings and the audit log
    const settings = await call("GET", "/v1/tenant", { ...key, route: "/v1/tenant" })
    assert.strictEqual(settings.status, 200, settings.text)
    const patched = await call("PATCH", "/v1/tenant", { ...key, route: "/v1/tenant", json: { settings: { limits: { requestsPerKeyMinute: 5000 } } } })
    assert.strictEqual(patched.status, 200, patched.text)
    const audit = await call("GET", "/v1/audit?limit=5", { ...key, route: "/v1/audit" })
    assert.strictEqual(audit.status, 200, audit.text)

    // test mode: the code comes back in the answer and lands in the test outbox
    const testKey = { bearer: keys.test, tenant: true } as const
    const tester = "test.user@example.com"
    const testSent = await call("POST", "/v1/passwordless/send", { ...testKey, route: "/v1/passwordless/send", json: { email: tester } })
    assert.strictEqual(testSent.status, 202, testSent.text)
    const testCode = keep("test-mode code", testSent.json["code"])
    const outbox = await call("GET", `/v1/test/messages?to=${encodeURIComponent(tester)}`, { ...testKey, route: "/v1/test/messages" })
    assert.strictEqual(outbox.status, 200, outbox.text)
    assert.include(outbox.text, testCode)
    const testVerified = await call("POST", "/v1/passwordless/verify", {
      ...testKey, route: "/v1/passwordless/verify", json: { authRequestId: testSent.json["authRequestId"], code: testCode }
    })
    assert.strictEqual(testVerified.status, 200, testVerified.text)
    keep("test-mode access token", record(testVerified.json["session"])["accessToken"])
    keep("test-mode refresh token", record(testVerified.json["session"])["refreshToken"])

    // compatibility adapters: Scalekit's client-credentials token and send; MagicAuth's app_key in the body
    const token = await call("POST", "/compat/scalekit/oauth/token", {
      route: "/compat/scalekit/oauth/token", form: { grant_type: "client_credentials", client_id: "skc_any", client_secret: keys.test }
    })
    assert.strictEqual(token.status, 200, token.text)
    const bearer = keep("Scalekit bearer", token.json["access_token"])
    const scalekit = await call("POST", "/compat/scalekit/api/v1/passwordless/email/send", {
      bearer, tenant: true, route: "/compat/scalekit/api/v1/passwordless/email/send", json: { email: "scale@example.com", template: "SIGNIN" }
    })
    assert.strictEqual(scalekit.status, 200, scalekit.text)
    const magic = await call("POST", "/compat/magicauth/api/send-link", {
      tenant: true, route: "/compat/magicauth/api/send-link", json: { email: "magic@example.com", app_key: keys.test, redirect_url: REDIRECT }
    })
    assert.strictEqual(magic.status, 200, magic.text)
    const badToken = await call("POST", "/compat/magicauth/api/verify-token", {
      tenant: true, route: "/compat/magicauth/api/verify-token", json: { token: "not-a-token", app_key: keys.test }
    })
    assert.isAtLeast(badToken.status, 400, badToken.text)

    // unrouted paths (one holding a token-like segment), a bad body, a refused content type
    const lost = keep("a token in an unknown path", randomBytes(24).toString("base64url"))
    assert.strictEqual((await call("GET", `/v1/nowhere/${lost}`, { route: null })).status, 404)
    const badJson = await call("POST", "/v1/passwordless/send", { ...key, route: "/v1/passwordless/send", json: { email: "not an email" } })
    assert.strictEqual(badJson.status, 400, badJson.text)
    const wrongType = await call("POST", "/v1/passwordless/send", { bearer: live, route: null, text: "x", headers: { "content-type": "text/plain" } })
    assert.strictEqual(wrongType.status, 415, wrongType.text)

    // request ids: a caller's sane one is echoed; an insane one is replaced by a made one
    const own = await call("GET", "/healthz", { route: "/healthz", headers: { "x-request-id": "client-req-42" } })
    assert.strictEqual(own.headers.get("x-request-id"), "client-req-42")
    const insane = await call("GET", "/healthz", { route: "/healthz", headers: { "x-request-id": `bad id "${"x".repeat(200)}` } })
    assert.match(insane.headers.get("x-request-id") ?? "", /^req_[A-Za-z0-9]{22}$/)
    const long = await call("GET", "/healthz", { route: "/healthz", headers: { "x-request-id": "a".repeat(129) } })
    assert.match(long.headers.get("x-request-id") ?? "", /^req_[A-Za-z0-9]{22}$/)

    // a recipient the SMTP server refuses, quoting the address: the delivery warning logs it masked
    const bounced = await call("POST", "/v1/passwordless/send", { ...key, route: "/v1/passwordless/send", json: { email: rejected } })
    assert.strictEqual(bounced.status, 202, bounced.text)
    await eventually("the delivery warning", () => Promise.resolve((server?.output() ?? "").includes("Recipient address rejected") ? true : undefined), 20_000)

    // the webhook deliveries (their bodies carry the users' emails; the log must not)
    await eventually("a webhook delivery", () => Promise.resolve(receiver?.received.find((r) => r.path === "/hook")), 20_000)
    const audited = await call("GET", "/v1/audit?limit=50", { ...key, route: "/v1/audit" })
    assert.strictEqual(audited.status, 200, audited.text)

    // every request's line has been written
    const output = await eventually("a request line for every request", () => {
      const text = server?.output() ?? ""
      return Promise.resolve(calls.every((c) => text.includes(`"requestId":"${c.requestId}"`)) ? text : undefined)
    })
    const lines = output.split("\n").filter((line) => line.trim() !== "")

    // JSON lines only
    for (const line of lines) assert.doesNotThrow(() => JSON.parse(line), undefined, undefined, `not a JSON line: ${line}`)
    const parsed = lines.map((line) => record(JSON.parse(line)))

    // nothing secret, anywhere
    for (const [value, what] of secrets) assert.notInclude(output, value, `the ${what} is in the log`)
    for (const pattern of [/sk_(live|test)_[A-Za-z0-9_-]{16,}/, /\brt_[A-Za-z0-9_-]{16,}/, /eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, /whsec_/]) {
      assert.notMatch(output, pattern)
    }
    // no unmasked email or phone: the flows' addresses, and any address at all
    assert.include(output, "<n***@example.com>: Recipient address rejected")
    for (const address of [ada, grace, tester, rejected, "scale@example.com", "magic@example.com", phone, phone.slice(1), phone.slice(3)]) {
      assert.notInclude(output, address)
    }
    assert.notMatch(output, /[A-Za-z0-9._%+-]{2,}@example\.com/)
    // no dev-outbox line in this configuration (the documented exception logs the code on purpose)
    assert.notInclude(output, "dev outbox")
    assert.notInclude(output, "dev sms outbox")

    // one request line per request, with what it must carry
    const requestLines = parsed.filter((line) => line["message"] === "request")
    for (const c of calls) {
      const mine = requestLines.filter((line) => line["requestId"] === c.requestId)
      assert.strictEqual(mine.length, 1, `${c.method} ${c.route ?? "(no route)"} ${c.requestId}: ${mine.length} request lines`)
      const line = mine[0] ?? {}
      assert.deepStrictEqual(
        [line["level"], line["method"], line["status"], line["route"], line["tenant"]],
        ["INFO", c.method, c.status, c.route, c.tenant],
        JSON.stringify(line)
      )
      assert.isNumber(line["latencyMs"])
      assert.isAtLeast(Number(line["latencyMs"]), 0)
      assert.match(String(line["timestamp"]), /^\d{4}-\d{2}-\d{2}T/)
    }
    assert.isTrue(requestLines.some((line) => line["requestId"] === "client-req-42"), "the caller's request id is logged")
  }, 180_000)
})
