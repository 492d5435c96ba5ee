/**
 * Issue 10: tenant settings are kept per mode. Whatever a test key (handed to front-end developers,
 * CI and contractors) writes with `PATCH /v1/tenant` reaches test sign-ins only: live sends, live
 * emails (read back from a real SMTP sink), the hosted page of a live link, the live exchange and a
 * live refresh keep using the live settings. The tenant name is shared, so only a live key renames;
 * each change's audit row names its key and mode.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { afterAll } from "vitest"
import type { Database } from "../../src/platform/Database.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { codeIn, freePort, headersOf, linkTokenIn, partOf, startSmtpSink } from "../support/Processes.ts"
import { baseUrl, errorCode, serverLayer } from "../support/Server.ts"
import { type Client, endUser, tenantClients, uniqueEmail } from "../sessions/HttpFixtures.ts"

// Live messages go out over SMTP (test ones stay in the test outbox): the sink shows what live users get.
const mail = await startSmtpSink(await freePort())
afterAll(() => mail.close())

const ORIGIN = "http://sesame.test"
const outcome = Effect.match({ onSuccess: () => "OK", onFailure: errorCode })

/** A live sign-in email, sent synchronously, as the SMTP sink received it. */
const liveEmail = (live: Client, payload: Parameters<Client["passwordless"]["send"]>[0]["payload"]) =>
  Effect.gen(function* () {
    const sent = yield* live.passwordless.send({ payload: { ...payload, deliver: "sync" } })
    const received = yield* Effect.promise(() => mail.waitFor(payload.email ?? ""))
    return { sent, raw: received.raw }
  })

const testEmail = (test: Client, email: string) =>
  Effect.map(test.test.messages({ query: { to: email } }), (r) => r.messages[0])

const suite = (name: string, database: Layer.Layer<Database>) =>
  layer(serverLayer(database, { smtpUrl: mail.url }), { timeout: 120_000, excludeTestServices: true })(name, (it) => {
    it.effect("a redirect a test key adds to the allowlist is accepted for test sends, still refused for live ones", () =>
      Effect.gen(function* () {
        const { test, live } = yield* tenantClients
        const preview = "https://preview.example.net/cb"
        yield* test.tenant.update({ payload: { settings: { redirectAllowlist: ["https://app.example.com/cb", preview] } } })
        const link = { type: "LINK", redirectUrl: preview } as const
        const refused = yield* Effect.flip(live.passwordless.send({ payload: { email: uniqueEmail("redir"), ...link } }))
        assert.strictEqual(errorCode(refused), "REDIRECT_NOT_ALLOWED")
        const accepted = yield* test.passwordless.send({ payload: { email: uniqueEmail("redir"), ...link } })
        assert.match(accepted.linkToken ?? "", /^[A-Za-z0-9_-]{43}$/)
        assert.deepStrictEqual((yield* live.tenant.get()).settings.redirectAllowlist, ["https://app.example.com/cb", "http://localhost/*"])
      }))

    it.effect("a template a test key stores is used by test emails only; a live one by live emails only", () =>
      Effect.gen(function* () {
        const { test, live } = yield* tenantClients
        const sandbox = { template: "SIGNIN", locale: "en", subject: "Sandbox sign-in for {{appName}}", text: "Sandbox code {{code}}" } as const
        yield* test.tenant.update({ payload: { settings: { templates: [sandbox] } } })
        const first = yield* liveEmail(live, { email: uniqueEmail("tpl-live") })
        assert.notInclude(first.raw, "Sandbox")
        assert.match(codeIn(first.raw) ?? "", /^\d{6}$/, "the live email carries the built-in text")
        const testAddress = uniqueEmail("tpl-test")
        const sent = yield* test.passwordless.send({ payload: { email: testAddress } })
        const message = yield* testEmail(test, testAddress)
        assert.strictEqual(message?.subject, "Sandbox sign-in for Acme")
        assert.strictEqual(message?.text, `Sandbox code ${sent.code}`)

        yield* live.tenant.update({ payload: { settings: { templates: [{ ...sandbox, subject: "Live sign-in for {{appName}}", text: "Live code {{code}}" }] } } })
        const second = yield* liveEmail(live, { email: uniqueEmail("tpl-live") })
        assert.include(headersOf(second.raw), "Subject: Live sign-in for Acme")
        assert.match(partOf(second.raw, "text/plain") ?? "", /^Live code \d{6}\s*$/)
        const again = uniqueEmail("tpl-test")
        yield* test.passwordless.send({ payload: { email: again } })
        assert.strictEqual((yield* testEmail(test, again))?.subject, "Sandbox sign-in for Acme")
      }))

    it.effect("channels and the per-key limit a test key sets bind test keys only", () =>
      Effect.gen(function* () {
        const { test, live } = yield* tenantClients
        yield* test.tenant.update({ payload: { settings: { channels: { email: false }, limits: { requestsPerKeyMinute: 3 } } } })
        assert.strictEqual(yield* outcome(test.passwordless.send({ payload: { email: uniqueEmail("off") } })), "CHANNEL_DISABLED")
        assert.strictEqual(yield* outcome(live.passwordless.send({ payload: { email: uniqueEmail("on") } })), "OK")
        const testCalls: Array<string> = []
        const liveCalls: Array<string> = []
        for (let i = 0; i < 6; i++) {
          testCalls.push(yield* outcome(test.keys.list()))
          liveCalls.push(yield* outcome(live.keys.list()))
        }
        assert.include(testCalls, "RATE_LIMITED")
        assert.deepStrictEqual(liveCalls, ["OK", "OK", "OK", "OK", "OK", "OK"])
      }))

    it.effect("a test key cannot rename the tenant; a live key's changes leave the test settings alone", () =>
      Effect.gen(function* () {
        const { test, live } = yield* tenantClients
        const refused = yield* Effect.flip(test.tenant.update({ payload: { name: "Renamed by CI", settings: { appName: "Sandbox" } } }))
        assert.strictEqual(errorCode(refused), "SCOPE_MISSING")
        assert.include(refused.message, "shared by both modes: change it with a live key")
        const unchanged = yield* test.tenant.get()
        assert.strictEqual(unchanged.name, "Acme")
        assert.isUndefined(unchanged.settings.appName, "a refused patch changes nothing")
        assert.strictEqual((yield* live.tenant.get()).name, "Acme")
        // the same name is not a change
        yield* test.tenant.update({ payload: { name: "Acme", settings: { appName: "Sandbox" } } })

        const renamed = yield* live.tenant.update({ payload: { name: "Acme Live", settings: { allowSignup: false, appName: "Live App" } } })
        assert.deepStrictEqual([renamed.name, renamed.mode, renamed.settings.allowSignup, renamed.settings.appName], ["Acme Live", "live", false, "Live App"])
        const testView = yield* test.tenant.get()
        assert.strictEqual(testView.name, "Acme Live", "the name is shared")
        assert.deepStrictEqual(testView.settings, { redirectAllowlist: ["https://app.example.com/cb", "http://localhost/*"], appName: "Sandbox" })
      }))

    it.effect("each settings change's audit row has the caller's mode and key; a key sees its own mode's changes", () =>
      Effect.gen(function* () {
        const { test, live } = yield* tenantClients
        const testKey = (yield* test.keys.list()).keys[0]?.id
        const liveKey = (yield* live.keys.list()).keys[0]?.id
        assert.match(testKey ?? "", /^key_/)
        assert.match(liveKey ?? "", /^key_/)
        yield* test.tenant.update({ payload: { settings: { maxAttempts: 3 } } })
        yield* live.tenant.update({ payload: { settings: { maxAttempts: 4 } } })
        const updates = (client: Client) =>
          Effect.map(client.audit.list({ query: {} }), (page) =>
            page.events.filter((e) => e.type === "tenant.updated").map((e) => [e.mode, e.actor, e.details["changes"]]))
        assert.deepStrictEqual(yield* updates(test), [["test", testKey, [{ path: "maxAttempts", from: null, to: 3 }]]])
        assert.deepStrictEqual(yield* updates(live), [["live", liveKey, [{ path: "maxAttempts", from: null, to: 4 }]]])
      }))

    it.effect("GET /v1/tenant shows each mode its own settings and says which mode", () =>
      Effect.gen(function* () {
        const { tenant, test, live } = yield* tenantClients
        yield* test.tenant.update({ payload: { settings: { linkMode: "direct", otpTtlSeconds: 120 } } })
        const [t, l] = [yield* test.tenant.get(), yield* live.tenant.get()]
        assert.deepStrictEqual([t.id, t.mode, t.name, t.settings.linkMode, t.settings.otpTtlSeconds], [tenant.id, "test", "Acme", "direct", 120])
        assert.deepStrictEqual([l.id, l.mode, l.name, l.settings.linkMode, l.settings.otpTtlSeconds], [tenant.id, "live", "Acme", undefined, undefined])
      }))

    it.effect("a live link's hosted page and exchange use the live settings, not the test key's", () =>
      Effect.gen(function* () {
        const { test, live } = yield* tenantClients
        yield* test.tenant.update({ payload: { settings: { appName: "Sandbox", sameOriginLinks: true } } })
        const email = uniqueEmail("hosted")
        const { raw } = yield* liveEmail(live, { email, type: "LINK", redirectUrl: "https://app.example.com/cb" })
        const page = `${yield* baseUrl}/l/${linkTokenIn(raw) ?? ""}`
        const html = yield* Effect.promise(() => fetch(page).then((r) => r.text()))
        assert.include(html, "Continue signing in to Acme")
        assert.notInclude(html, "Sandbox")
        const form = {
          csrf: /name="csrf" value="([^"]+)"/.exec(html)?.[1] ?? "",
          rt: /name="rt" value="(\d+)"/.exec(html)?.[1] ?? ""
        }
        const done = yield* Effect.promise(() => fetch(page, {
          method: "POST", redirect: "manual", body: new URLSearchParams(form).toString(),
          headers: { "content-type": "application/x-www-form-urlencoded", origin: ORIGIN }
        }))
        assert.strictEqual(done.status, 303)
        const code = new URL(done.headers.get("location") ?? "").searchParams.get("code") ?? ""
        // the test mode's sameOriginLinks would demand authRequestId here
        const verified = yield* live.exchange.exchange({ payload: { code } })
        assert.strictEqual(verified.user.email, email)
      }))

    it.effect("a live refresh keeps the live token lifetimes after a test key shortens the test ones", () =>
      Effect.gen(function* () {
        const { test, live } = yield* tenantClients
        const email = uniqueEmail("refresh")
        const { sent, raw } = yield* liveEmail(live, { email })
        const signedIn = yield* live.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: codeIn(raw) ?? "" } })
        yield* test.tenant.update({ payload: { settings: { accessTokenTtlSeconds: 60, refreshTokenTtlSeconds: 3600 } } })
        const refreshed = yield* (yield* endUser()).token.refresh({ payload: { refreshToken: signedIn.session.refreshToken } })
        assert.strictEqual(refreshed.session.expiresIn, 3600)
        assert.isAbove(refreshed.session.refreshExpiresAt - Math.floor(Date.now() / 1000), 29 * 86400)
        const testSent = yield* test.passwordless.send({ payload: { email } })
        const testSession = yield* test.passwordless.verify({ payload: { authRequestId: testSent.authRequestId, code: testSent.code ?? "" } })
        const testRefreshed = yield* (yield* endUser()).token.refresh({ payload: { refreshToken: testSession.session.refreshToken } })
        assert.deepStrictEqual([testSession.session.expiresIn, testRefreshed.session.expiresIn], [60, 60])
        assert.isAtMost(testRefreshed.session.refreshExpiresAt - Math.floor(Date.now() / 1000), 3600)
      }))
  })

suite("tenant settings per mode (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => suite("tenant settings per mode (PostgreSQL)", postgresLayer))
