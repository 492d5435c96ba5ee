/**
 * The hosted link page over real HTTP (PGlite): GET never consumes, POST needs same origin + the
 * per-render token, the redirect carries a one-time exchange code that the backend trades for the
 * verify response exactly once.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SqlClient } from "effect/sql"
import { pgliteLayer } from "../support/Db.ts"
import { baseUrl, clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"

const ORIGIN = "http://sesame.test"
const fetchP = (url: string, init?: RequestInit) => Effect.promise(() => fetch(url, { redirect: "manual", ...init }))
const textOf = (res: Response) => Effect.promise(() => res.text())

const formOf = (html: string) => ({
  csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "",
  rt: /name="rt" value="(\d+)"/.exec(html)?.[1] ?? ""
})

const post = (url: string, form: { csrf: string; rt: string }, headers: Record<string, string> = { origin: ORIGIN }) =>
  fetchP(url, { method: "POST", headers: { "content-type": "application/x-www-form-urlencoded", ...headers }, body: new URLSearchParams(form).toString() })

const setup = (email: string, extra: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const { keys } = yield* tenantFixture("Hosted Co", ["https://app.example.com/cb"])
    const client = yield* clientFor(keys.test)
    const sent = yield* client.passwordless.send({
      payload: { email, type: "LINK", redirectUrl: "https://app.example.com/cb", state: "st-42", ...extra }
    })
    const page = `${yield* baseUrl}/l/${sent.linkToken ?? ""}`
    return { client, sent, page }
  })

layer(serverLayer(pgliteLayer), { timeout: 60_000, excludeTestServices: true })("hosted link page (PGlite)", (it) => {
  it.effect("the email links to the hosted page by default", () =>
    Effect.gen(function* () {
      const { client, sent } = yield* setup("mailed@example.com")
      const { messages } = yield* client.test.messages({ query: { to: "mailed@example.com" } })
      assert.include(messages[0]?.text ?? "", `${ORIGIN}/l/${sent.linkToken}`)
      assert.notInclude(messages[0]?.text ?? "", "link_token=")
    }))

  it.effect("GET shows the page and never consumes; POST redirects with a code that exchanges once", () =>
    Effect.gen(function* () {
      const { client, sent, page } = yield* setup("jane@example.com")
      const first = yield* fetchP(page)
      assert.strictEqual(first.status, 200)
      const csp = first.headers.get("content-security-policy") ?? ""
      assert.match(csp, /default-src 'none'/)
      assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/=]+'/)
      assert.notMatch(csp, /script-src|unsafe-inline/)
      assert.match(csp, /form-action 'self' https:\/\/app\.example\.com/)
      assert.strictEqual(first.headers.get("referrer-policy"), "no-referrer")
      assert.strictEqual(first.headers.get("cache-control"), "no-store")
      assert.strictEqual(first.headers.get("x-frame-options"), "DENY")
      const html = yield* textOf(first)
      assert.include(html, "Continue signing in to Hosted Co")
      assert.include(html, "j•••@example.com")
      assert.notInclude(html, "jane@example.com")
      assert.notInclude(html, "<script")
      // a scanner fetching the page twice changes nothing
      yield* fetchP(page)
      const status = yield* client.passwordless.status({ params: { authRequestId: sent.authRequestId } })
      assert.strictEqual(status.status, "pending")

      const done = yield* post(page, formOf(html))
      assert.strictEqual(done.status, 303)
      assert.strictEqual(done.headers.get("cache-control"), "no-store")
      const location = new URL(done.headers.get("location") ?? "")
      assert.strictEqual(location.origin + location.pathname, "https://app.example.com/cb")
      assert.strictEqual(location.searchParams.get("state"), "st-42")
      const code = location.searchParams.get("code") ?? ""
      assert.match(code, /^[A-Za-z0-9_-]{43}$/)

      const verified = yield* client.exchange.exchange({ payload: { code } })
      assert.strictEqual(verified.user.email, "jane@example.com")
      assert.strictEqual(verified.authRequest.id, sent.authRequestId)
      assert.strictEqual(verified.authRequest.state, "st-42")
      const again = yield* Effect.flip(client.exchange.exchange({ payload: { code } }))
      assert.strictEqual(errorCode(again), "ALREADY_USED")
      // the link itself is spent: the page says so, and verify agrees
      const used = yield* fetchP(page)
      assert.strictEqual(used.status, 410)
      assert.include(yield* textOf(used), "already used")
      const reused = yield* post(page, formOf(html))
      assert.strictEqual(reused.status, 410)
      const verify = yield* Effect.flip(client.passwordless.verify({ payload: { linkToken: sent.linkToken ?? "" } }))
      assert.strictEqual(errorCode(verify), "ALREADY_USED")
    }))

  it.effect("CSRF: a cross-site POST, a missing origin or a forged token is refused and leaves the link usable", () =>
    Effect.gen(function* () {
      const { client, sent, page } = yield* setup("csrf@example.com")
      const form = formOf(yield* textOf(yield* fetchP(page)))
      assert.strictEqual((yield* post(page, form, { origin: "https://evil.example" })).status, 403)
      assert.strictEqual((yield* post(page, form, { "sec-fetch-site": "cross-site", origin: "null" })).status, 403)
      assert.strictEqual((yield* post(page, form, {})).status, 403)
      assert.strictEqual((yield* post(page, { ...form, csrf: "A".repeat(43) })).status, 403)
      assert.strictEqual((yield* post(page, { ...form, rt: String(Number(form.rt) - 1) })).status, 403)
      // a browser POST from our own page under no-referrer: Origin "null" + Sec-Fetch-Site same-origin
      const ok = yield* post(page, form, { origin: "null", "sec-fetch-site": "same-origin" })
      assert.strictEqual(ok.status, 303)
      const status = yield* client.passwordless.status({ params: { authRequestId: sent.authRequestId } })
      assert.strictEqual(status.status, "verified")
    }))

  it.effect("expired and unknown links show their pages; an expired exchange code is refused", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const { client, sent, page } = yield* setup("late@example.com")
      const form = formOf(yield* textOf(yield* fetchP(page)))
      yield* sql`UPDATE auth_requests SET expires_at = now() - interval '1 second' WHERE id = ${sent.authRequestId}`
      const expired = yield* fetchP(page)
      assert.strictEqual(expired.status, 410)
      const html = yield* textOf(expired)
      assert.include(html, "This link has expired")
      assert.include(html, 'href="https://app.example.com/"')
      assert.strictEqual((yield* post(page, form)).status, 410)
      const unknown = yield* fetchP(`${yield* baseUrl}/l/${"x".repeat(43)}`)
      assert.strictEqual(unknown.status, 404)

      const second = yield* setup("slow@example.com")
      const done = yield* post(second.page, formOf(yield* textOf(yield* fetchP(second.page))))
      const code = new URL(done.headers.get("location") ?? "").searchParams.get("code") ?? ""
      yield* sql`UPDATE exchange_codes SET expires_at = now() - interval '1 second' WHERE auth_request_id = ${second.sent.authRequestId}`
      assert.strictEqual(errorCode(yield* Effect.flip(second.client.exchange.exchange({ payload: { code } }))), "CODE_EXPIRED")
      assert.strictEqual(errorCode(yield* Effect.flip(client.exchange.exchange({ payload: { code: "y".repeat(43) } }))), "NOT_FOUND")
    }))

  it.effect("PKCE: the exchange needs the verifier; another tenant's key cannot redeem the code", () =>
    Effect.gen(function* () {
      const verifier = "v".repeat(43)
      const challenge = Buffer.from(yield* Effect.promise(() => crypto.subtle.digest("SHA-256", new TextEncoder().encode(verifier)))).toString("base64url")
      const { client, page } = yield* setup("pkce@example.com", { codeChallenge: challenge, codeChallengeMethod: "S256" })
      const done = yield* post(page, formOf(yield* textOf(yield* fetchP(page))))
      assert.strictEqual(done.status, 303)
      const code = new URL(done.headers.get("location") ?? "").searchParams.get("code") ?? ""
      const other = yield* clientFor((yield* tenantFixture("Other Co")).keys.test)
      assert.strictEqual(errorCode(yield* Effect.flip(other.exchange.exchange({ payload: { code, codeVerifier: verifier } }))), "NOT_FOUND")
      assert.strictEqual(errorCode(yield* Effect.flip(client.exchange.exchange({ payload: { code } }))), "NOT_FOUND")
      const ok = yield* client.exchange.exchange({ payload: { code, codeVerifier: verifier } })
      assert.strictEqual(ok.user.email, "pkce@example.com")
    }))

  it.effect("a tenant on linkMode direct still gets redirectUrl?link_token=", () =>
    Effect.gen(function* () {
      const { keys } = yield* tenantFixture("Direct Co", ["https://app.example.com/cb"])
      const client = yield* clientFor(keys.test)
      yield* client.tenant.update({ payload: { settings: { linkMode: "direct" } } })
      const sent = yield* client.passwordless.send({ payload: { email: "direct@example.com", type: "LINK", redirectUrl: "https://app.example.com/cb" } })
      const { messages } = yield* client.test.messages({ query: { to: "direct@example.com" } })
      assert.include(messages[0]?.text ?? "", `https://app.example.com/cb?link_token=${sent.linkToken}`)
    }))

  it.effect("POST /v1/tenant/templates/preview renders sample HTML, text and SMS; broken templates are refused", () =>
    Effect.gen(function* () {
      const { keys } = yield* tenantFixture("Preview Co")
      const client = yield* clientFor(keys.test)
      const shown = yield* client.templates.preview({
        payload: {
          locale: "de-AT", type: "LINK_OTP", templateVariables: { team: "<b>Alpha</b>" },
          emailContent: { bodyText: "Team {{team}}: code below.", primaryColor: "#0E7C66" },
          smsMessage: "{{appName}} Code {{code}} für {{team}}"
        }
      })
      assert.strictEqual(shown.locale, "de")
      assert.strictEqual(shown.subject, "Bei Preview Co anmelden")
      assert.include(shown.html, "&lt;b&gt;Alpha&lt;/b&gt;")
      assert.include(shown.html, "#0E7C66")
      assert.include(shown.text, "123456")
      assert.strictEqual(shown.sms.text, "Preview Co Code 123456 für <b>Alpha</b>")
      assert.strictEqual(shown.sms.encoding, "GSM-7")
      const broken = yield* Effect.flip(client.templates.preview({ payload: { smsMessage: "no code here" } }))
      assert.strictEqual(errorCode(broken), "VALIDATION_FAILED")
      const unparsable = yield* Effect.flip(client.templates.preview({ payload: { emailContent: { bodyText: "{{#open}}" } } }))
      assert.strictEqual(errorCode(unparsable), "VALIDATION_FAILED")
    }))

  it.effect("concurrent exchanges of one code: exactly one wins", () =>
    Effect.gen(function* () {
      const { client, page } = yield* setup("race@example.com")
      const done = yield* post(page, formOf(yield* textOf(yield* fetchP(page))))
      const code = new URL(done.headers.get("location") ?? "").searchParams.get("code") ?? ""
      const results = yield* Effect.all(
        Array.from({ length: 8 }, () => Effect.result(client.exchange.exchange({ payload: { code } }))),
        { concurrency: "unbounded" }
      )
      assert.strictEqual(results.filter((r) => r._tag === "Success").length, 1)
      for (const r of results) if (r._tag === "Failure") assert.strictEqual(errorCode(r.failure), "ALREADY_USED")
    }))

  it.effect("cross-device: the link is completed on another device; the tab that asked polls status and exchanges the code once", () =>
    Effect.gen(function* () {
      const { client, sent, page } = yield* setup("cross@example.com")
      const before = yield* client.passwordless.status({ params: { authRequestId: sent.authRequestId } })
      assert.deepStrictEqual([before.status, before.exchangeCode], ["pending", undefined])
      // "the phone": opens the link and presses Continue
      const form = formOf(yield* textOf(yield* fetchP(page)))
      const pressed = yield* post(page, form)
      assert.strictEqual(pressed.status, 303)
      const phoneCode = new URL(pressed.headers.get("location") ?? "").searchParams.get("code")
      // "the laptop": its backend polls the request it started, sees it verified, and completes
      const after = yield* client.passwordless.status({ params: { authRequestId: sent.authRequestId } })
      assert.strictEqual(after.status, "verified")
      assert.strictEqual(after.exchangeCode, phoneCode)
      const done = yield* client.exchange.exchange({ payload: { code: after.exchangeCode ?? "" } })
      assert.strictEqual(done.user.email, "cross@example.com")
      // single use: neither device can exchange it again, and status no longer offers it
      const again = yield* Effect.flip(client.exchange.exchange({ payload: { code: phoneCode ?? "" } }))
      assert.strictEqual(errorCode(again), "ALREADY_USED")
      const last = yield* client.passwordless.status({ params: { authRequestId: sent.authRequestId } })
      assert.isUndefined(last.exchangeCode)
    }))
})
