import { afterAll, assert, layer } from "@effect/vitest"
import { Effect, Option, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import gl from "google-libphonenumber"
import { classifyPhone } from "../../src/domain/Phone.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"
import { startTwilio } from "../sms/TwilioServer.ts"

const util = gl.PhoneNumberUtil.getInstance()
const example = (region: string, type: number) =>
  util.format(util.getExampleNumberForType(region, type), gl.PhoneNumberFormat.E164)
const T = gl.PhoneNumberType
const MOBILE = example("GB", T.MOBILE)
const VOIP = example("GB", T.VOIP)
const PREMIUM = example("GB", T.PREMIUM_RATE)
/** Valid GB mobiles, each in its own prefix (the number minus its last 4 digits). */
const mobiles = Array.from({ length: 60 }, (_, i) => `+447${400 + i * 7}${String(100000 + i).slice(-6)}`)
  .filter((n) => classifyPhone(n)?.type === "mobile")
/** Valid GB mobiles sharing one prefix. */
const samePrefix = (n: number) => Array.from({ length: n }, (_, i) => `${MOBILE.slice(0, -4)}${String(1000 + i)}`)

const twilio = await startTwilio(() => ({ status: 201 }))
afterAll(() => twilio.close())

const fixture = Effect.gen(function* () {
  const { keys } = yield* tenantFixture()
  return { test: yield* clientFor(keys.test), live: yield* clientFor(keys.live) }
})

const sms = {
  twilio: Option.some({
    accountSid: "ACtest", authToken: Redacted.make("twilio-token"), from: "+15005550006",
    messagingServiceSid: undefined, baseUrl: twilio.baseUrl
  }),
  timeoutMs: 2000
}

const databases = [["PGlite", pgliteLayer], ...(hasPostgres ? [["PostgreSQL", postgresLayer] as const] : [])] as const
for (const [name, database] of databases)
layer(serverLayer(database, { sms }), { timeout: 60_000, excludeTestServices: true })(`SMS over HTTP (${name})`, (it) => {
  it.effect("test mode: send classifies the number, binds the email; verify needs that email and signs in by phone", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const sent = yield* test.passwordless.send({ payload: { channel: "sms", phone: MOBILE, email: "Ada@Example.com" } })
      assert.strictEqual(sent.channel, "sms")
      assert.strictEqual(sent.phoneType, "mobile")
      assert.isFalse(sent.isVoip)
      assert.isAtMost(sent.riskScore ?? 1, 0.3)
      assert.match(sent.code ?? "", /^\d{6}$/)
      const outbox = yield* test.test.messages({ query: { to: MOBILE } })
      assert.include(outbox.messages[0]?.text ?? "", sent.code ?? "")
      const noEmail = yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } }))
      assert.strictEqual(errorCode(noEmail), "VALIDATION_FAILED")
      const ok = yield* test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "", email: "ada@example.com" } })
      assert.strictEqual(ok.user.phone, MOBILE)
      assert.isNotNull(ok.user.phoneVerifiedAt)
      const again = yield* test.passwordless.send({ payload: { channel: "sms", phone: MOBILE } })
      const byPhone = yield* test.passwordless.verify({ payload: { phone: MOBILE, code: again.code ?? "" } })
      assert.strictEqual(byPhone.user.id, ok.user.id)
      const bad = yield* Effect.flip(test.passwordless.send({ payload: { channel: "sms", phone: "+44123" } }))
      assert.strictEqual(errorCode(bad), "INVALID_PHONE")
      const long = yield* Effect.flip(test.passwordless.send({ payload: { channel: "sms", phone: MOBILE, smsMessage: `{{code}} ${"x".repeat(480)}` } }))
      assert.strictEqual(errorCode(long), "VALIDATION_FAILED")
    }))

  it.effect("live mode: delivered through Twilio (the local stand-in checks the request)", () =>
    Effect.gen(function* () {
      const { live } = yield* fixture
      const phone = mobiles[0] ?? ""
      const sent = yield* live.passwordless.send({ payload: { channel: "sms", phone, deliver: "sync", smsMessage: "{{appName}}: {{code}} ({{expiresInMinutes}} min)" } })
      assert.strictEqual(sent.delivery, "sent")
      assert.isUndefined(sent.code)
      const req = twilio.requests.findLast((r) => r.form.To === phone)
      assert.strictEqual(req?.path, "/2010-04-01/Accounts/ACtest/Messages.json")
      assert.strictEqual(req?.authorization, `Basic ${Buffer.from("ACtest:twilio-token").toString("base64")}`)
      assert.strictEqual(req?.form.From, "+15005550006")
      const code = /: (\d{6}) \(5 min\)$/.exec(req?.form.Body ?? "")?.[1]
      assert.isDefined(code)
      const status = yield* live.passwordless.status({ params: { authRequestId: sent.authRequestId } })
      assert.strictEqual(status.delivery.provider, "twilio")
      const ok = yield* live.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: code ?? "" } })
      assert.strictEqual(ok.user.phone, phone)
    }))

  it.effect("VOIP: flagged by default, VOIP_NOT_ALLOWED when blocked, challenged until the bound email is verified", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const flagged = yield* test.passwordless.send({ payload: { channel: "sms", phone: VOIP } })
      assert.isTrue(flagged.isVoip)
      assert.include(flagged.riskSignals ?? [], "line_type:voip")
      yield* test.tenant.update({ payload: { settings: { voipAction: "block" } } })
      const blocked = yield* Effect.flip(test.passwordless.send({ payload: { channel: "sms", phone: VOIP } }))
      assert.strictEqual(errorCode(blocked), "VOIP_NOT_ALLOWED")
      yield* test.tenant.update({ payload: { settings: { voipAction: "challenge" } } })
      const challenged = yield* Effect.flip(test.passwordless.send({ payload: { channel: "sms", phone: VOIP, email: "v@example.com" } }))
      assert.strictEqual(errorCode(challenged), "VOIP_NOT_ALLOWED")
      assert.strictEqual("action" in challenged ? challenged.action : undefined, "challenge")
      const mail = yield* test.passwordless.send({ payload: { email: "v@example.com" } })
      yield* test.passwordless.verify({ payload: { authRequestId: mail.authRequestId, code: mail.code ?? "" } })
      const passed = yield* test.passwordless.send({ payload: { channel: "sms", phone: VOIP, email: "v@example.com" } })
      assert.isTrue(passed.isVoip)
      const sql = yield* SqlClient.SqlClient
      const fraud = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM events WHERE type = 'fraud.detected' AND payload->>'reason' = 'voip_blocked'`
      assert.isAtLeast(fraud[0]?.n ?? 0, 1)
    }))

  it.effect("the risk score and signals are stored on the auth request and shown by GET /v1/passwordless/{id}", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const sent = yield* test.passwordless.send({ payload: { channel: "sms", phone: VOIP } })
      assert.include(sent.riskSignals ?? [], "line_type:voip")
      const sql = yield* SqlClient.SqlClient
      const [row] = yield* sql<{ riskScore: number | null; riskSignals: ReadonlyArray<string> | null }>`
        SELECT risk_score, risk_signals FROM auth_requests WHERE id = ${sent.authRequestId}`
      assert.closeTo(row?.riskScore ?? -1, sent.riskScore ?? -2, 1e-6)
      assert.deepStrictEqual(row?.riskSignals, sent.riskSignals)
      const status = yield* test.passwordless.status({ params: { authRequestId: sent.authRequestId } })
      assert.strictEqual(status.riskScore, sent.riskScore)
      assert.deepStrictEqual(status.riskSignals, sent.riskSignals)
      const mail = yield* test.passwordless.send({ payload: { email: "risk-none@example.com" } })
      const [mailRow] = yield* sql<{ riskScore: number | null; riskSignals: unknown }>`
        SELECT risk_score, risk_signals FROM auth_requests WHERE id = ${mail.authRequestId}`
      assert.isNull(mailRow?.riskScore)
      assert.isNull(mailRow?.riskSignals)
      const mailStatus = yield* test.passwordless.status({ params: { authRequestId: mail.authRequestId } })
      assert.isUndefined(mailStatus.riskScore)
      assert.isUndefined(mailStatus.riskSignals)
    }))

  it.effect("premium-rate numbers are refused by default (RISK_BLOCKED)", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const premium = yield* Effect.flip(test.passwordless.send({ payload: { channel: "sms", phone: PREMIUM } }))
      assert.strictEqual(errorCode(premium), "RISK_BLOCKED")
    }))

  it.effect("a burst from one IP across many numbers raises the score, then RISK_BLOCKED", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const scores: Array<number> = []
      let blockedAt = -1
      for (const [i, phone] of mobiles.slice(1, 16).entries()) {
        const result = yield* Effect.result(test.passwordless.send({ payload: { channel: "sms", phone, client: { ipAddress: "198.51.100.7" } } }))
        if (result._tag === "Failure") {
          assert.strictEqual(errorCode(result.failure), "RISK_BLOCKED")
          blockedAt = i
          break
        }
        scores.push(result.success.riskScore ?? 0)
      }
      assert.isAbove(blockedAt, 2)
      for (let i = 1; i < scores.length; i++) assert.isAtLeast(scores[i] ?? 0, scores[i - 1] ?? 0)
      assert.isAbove(scores[scores.length - 1] ?? 0, scores[0] ?? 0)
    }))

  it.effect("per-prefix cap and the tenant's hourly SMS budget → RATE_LIMITED naming the limit", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      yield* test.tenant.update({ payload: { settings: { limits: { smsPerPrefixHour: 2, smsBudgetHour: 4 } } } })
      const [a, b, c] = samePrefix(3)
      yield* test.passwordless.send({ payload: { channel: "sms", phone: a ?? "" } })
      yield* test.passwordless.send({ payload: { channel: "sms", phone: b ?? "" } })
      const capped = yield* Effect.flip(test.passwordless.send({ payload: { channel: "sms", phone: c ?? "" } }))
      assert.strictEqual(errorCode(capped), "RATE_LIMITED")
      assert.strictEqual("limit" in capped ? capped.limit : undefined, "sms_per_prefix_hour")
      yield* test.passwordless.send({ payload: { channel: "sms", phone: mobiles[20] ?? "" } })
      yield* test.passwordless.send({ payload: { channel: "sms", phone: mobiles[21] ?? "" } })
      const budget = yield* Effect.flip(test.passwordless.send({ payload: { channel: "sms", phone: mobiles[22] ?? "" } }))
      assert.strictEqual("limit" in budget ? budget.limit : undefined, "sms_budget_hour")
    }))
})
