/**
 * Issue 10, item 8, end to end (PGlite): a stored template whose URL attribute could render
 * `javascript:` is refused when saved; `senderName` is a display name only; an invalid `logoUrl` is
 * VALIDATION_FAILED instead of being dropped; bidi controls never reach a stored template's email or
 * an SMS; with `sameOriginLinks`, an exchange naming the wrong auth request leaves the code unused.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"

const ORIGIN = "http://sesame.test"
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/u

/** The `field` of a VALIDATION_FAILED from the derived client, or the error's code when it is another error. */
const fieldOf = (error: { readonly _tag: string }) =>
  errorCode(error) === "VALIDATION_FAILED" && "field" in error ? String(error.field) : errorCode(error)

/**
 * A raw call: the derived client checks payloads against the schema before sending, so inputs the
 * server must refuse are sent as plain JSON. Answers the `field` of a VALIDATION_FAILED (or the code).
 */
const rawField = (key: string, method: string, path: string, body: unknown) =>
  Effect.gen(function* () {
    const url = yield* baseUrl
    const response = yield* Effect.promise(() => fetch(`${url}${path}`, {
      method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body)
    }))
    const json = (yield* Effect.promise(() => response.json())) as { code?: string; field?: string }
    assert.strictEqual(response.status, json.code === "VALIDATION_FAILED" ? 400 : response.status)
    return json.code === "VALIDATION_FAILED" ? json.field : json.code
  })

const template = (html: string) => ({ template: "SIGNIN" as const, locale: "en", html, text: "Your code: {{code}}" })

const suite = (label: string, database: typeof pgliteLayer) =>
  layer(serverLayer(database), { timeout: 60_000, excludeTestServices: true })(label, (it) => {
    it.effect("a template URL attribute that could render javascript: is refused when saved", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture()
        const client = yield* clientFor(keys.test)
        const refused = [
          `<a href="javascript:alert(1)">{{code}}</a>`,
          `<a href='JaVaScRiPt:alert(1)'>{{code}}</a>`,
          `<a href=javascript:alert(1)>{{code}}</a>`,
          `<a href="&#106;avascript:alert(1)">{{code}}</a>`,
          `<a href=" java\tscript:alert(1)">{{code}}</a>`,
          `<a href="data:text/html,<script>alert(1)</script>">{{code}}</a>`,
          `<a href="{{teamUrl}}">{{code}}</a>`, // a templateVariable could be "javascript:…" at send time
          `<a href="{{#x}}javascript:{{/x}}alert(1)">{{code}}</a>`,
          `<img src="vbscript:x"><p>{{code}}</p>`,
          `<img srcset="https://cdn.example.com/a.png 1x, javascript:alert(1) 2x"><p>{{code}}</p>`
        ]
        for (const html of refused) {
          const error = yield* Effect.flip(client.tenant.update({ payload: { settings: { templates: [template(html)] } } }))
          assert.strictEqual(fieldOf(error), "settings.templates.0.html", html)
        }
        const accepted = [
          `<a href="{{link}}">Sign in</a> <p>{{code}}</p>`,
          `<a href="https://app.example.com/help?c={{code}}">help</a>`,
          `<a href="mailto:help@example.com">mail us</a> {{code}}`,
          `<a href="#top">top</a> <img src="https://cdn.example.com/logo.png"> {{code}}`
        ]
        for (const html of accepted) {
          const saved = yield* client.tenant.update({ payload: { settings: { templates: [template(html)] } } })
          assert.strictEqual(saved.settings.templates?.[0]?.html, html)
        }
      }))

    it.effect("senderName is a display name only, in settings and per send", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture()
        const client = yield* clientFor(keys.test)
        for (const senderName of ["security@bank.example", "Bank <security@bank.example>", "Bank >"]) {
          const patch = yield* Effect.flip(client.tenant.update({ payload: { settings: { senderName } } }))
          assert.strictEqual(fieldOf(patch), "settings.senderName", senderName)
          const send = yield* rawField(keys.test, "POST", "/v1/passwordless/send", { email: "ada@example.com", emailContent: { senderName } })
          assert.strictEqual(send, "emailContent.senderName", senderName)
        }
        const ok = yield* client.tenant.update({ payload: { settings: { senderName: "Acme, Inc. — Support" } } })
        assert.strictEqual(ok.settings.senderName, "Acme, Inc. — Support")
        yield* client.passwordless.send({ payload: { email: "ada@example.com", emailContent: { senderName: "Acme Support" } } })
      }))

    it.effect("an invalid logoUrl is VALIDATION_FAILED, not silently dropped", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture()
        const client = yield* clientFor(keys.test)
        for (const logoUrl of ["https://user:secret@cdn.example.com/logo.png", "https://[::1", "https://", "http://cdn.example.com/l.png"]) {
          const patch = yield* rawField(keys.test, "PATCH", "/v1/tenant", { settings: { logoUrl } })
          assert.strictEqual(patch, "settings.logoUrl", logoUrl)
        }
        for (const logoUrl of ["javascript:alert(1)", "http://cdn.example.com/logo.png", "logo.png", "https://cdn.example.com/a b.png"]) {
          const send = yield* rawField(keys.test, "POST", "/v1/passwordless/send", { email: "ada@example.com", emailContent: { logoUrl } })
          assert.strictEqual(send, "emailContent.logoUrl", logoUrl)
        }
        yield* client.tenant.update({ payload: { settings: { logoUrl: "https://cdn.example.com/logo.png" } } })
        yield* client.passwordless.send({ payload: { email: "logo@example.com", emailContent: { logoUrl: "https://cdn.example.com/other.png" } } })
        const { messages } = yield* client.test.messages({ query: { to: "logo@example.com" } })
        assert.include(messages[0]?.html ?? "", `src="https://cdn.example.com/other.png"`)
      }))

    it.effect("bidi controls never reach a stored template's email or an SMS", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture()
        const client = yield* clientFor(keys.test)
        yield* client.tenant.update({
          payload: {
            settings: {
              templates: [{
                template: "SIGNIN", locale: "en", subject: "Sign in \u202eto {{appName}}",
                html: "<p>Pay \u202e{{amount}}\u202c with code {{code}}</p>", text: "Pay \u2067{{amount}}\u2069, code {{code}}",
                sms: "\u202e{{amount}}\u202c: {{code}}"
              }]
            }
          }
        })
        const variables = { amount: "\u202e00.001$ \u200fEUR" }
        yield* client.passwordless.send({ payload: { email: "bidi@example.com", templateVariables: variables } })
        const email = (yield* client.test.messages({ query: { to: "bidi@example.com" } })).messages[0]
        assert.isDefined(email)
        for (const part of [email?.subject ?? "", email?.html ?? "", email?.text ?? ""]) {
          assert.notMatch(part, BIDI, JSON.stringify(part))
        }
        assert.include(email?.text ?? "", "00.001$ EUR")
        // an SMS from the stored template, and one from the request's own smsMessage
        yield* client.passwordless.send({ payload: { channel: "sms", phone: "+447400123456", templateVariables: variables } })
        yield* client.passwordless.send({ payload: { channel: "sms", phone: "+447400123457", smsMessage: "\u2066Code\u2069 {{code}} \u200e{{amount}}", templateVariables: variables } })
        for (const to of ["+447400123456", "+447400123457"]) {
          const sms = (yield* client.test.messages({ query: { to } })).messages[0]
          assert.isDefined(sms, to)
          assert.notMatch(sms?.text ?? "", BIDI, JSON.stringify(sms?.text))
          assert.include(sms?.text ?? "", "00.001$ EUR")
        }
      }))

    it.effect("sameOriginLinks: an exchange naming another auth request does not use up the code", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture("Hosted Co", ["https://app.example.com/cb"])
        const client = yield* clientFor(keys.test)
        yield* client.tenant.update({ payload: { settings: { sameOriginLinks: true } } })
        const sent = yield* client.passwordless.send({ payload: { email: "origin@example.com", type: "LINK", redirectUrl: "https://app.example.com/cb" } })
        const other = yield* client.passwordless.send({ payload: { email: "someone@example.com" } })
        const page = `${yield* baseUrl}/l/${sent.linkToken ?? ""}`
        const html = yield* Effect.promise(() => fetch(page).then((r) => r.text()))
        const form = {
          csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "",
          rt: /name="rt" value="(\d+)"/.exec(html)?.[1] ?? ""
        }
        const done = yield* Effect.promise(() => fetch(page, {
          method: "POST", redirect: "manual",
          headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN },
          body: new URLSearchParams(form).toString()
        }))
        assert.strictEqual(done.status, 303)
        const code = new URL(done.headers.get("location") ?? "").searchParams.get("code") ?? ""
        const mismatch = yield* Effect.flip(client.exchange.exchange({ payload: { code, authRequestId: other.authRequestId } }))
        assert.strictEqual(errorCode(mismatch), "ORIGIN_MISMATCH")
        const missing = yield* Effect.flip(client.exchange.exchange({ payload: { code } }))
        assert.strictEqual(errorCode(missing), "ORIGIN_MISMATCH")
        // the right app still completes the sign-in with the same code, once
        const verified = yield* client.exchange.exchange({ payload: { code, authRequestId: sent.authRequestId } })
        assert.strictEqual(verified.user.email, "origin@example.com")
        const again = yield* Effect.flip(client.exchange.exchange({ payload: { code, authRequestId: sent.authRequestId } }))
        assert.strictEqual(errorCode(again), "ALREADY_USED")
      }))
  })

suite("input hardening (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => suite("input hardening (PostgreSQL)", postgresLayer))
