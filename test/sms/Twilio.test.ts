import { assert, describe, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { failover } from "../../src/sms/Failover.ts"
import * as Twilio from "../../src/sms/Twilio.ts"
import { type Reply, startTwilio } from "./TwilioServer.ts"

const twilioAt = (baseUrl: string, extra: Partial<Twilio.TwilioConfig> = {}) =>
  Twilio.make({
    accountSid: "AC0123456789abcdef", authToken: Redacted.make("tok-secret"), from: "+15005550006",
    messagingServiceSid: undefined, baseUrl, timeoutMs: 200, ...extra
  })

const server = (reply: () => Reply) =>
  Effect.acquireRelease(Effect.promise(() => startTwilio(reply)), (s) => Effect.promise(() => s.close()))

const sms = { to: "+447400123456", body: "Your Acme code is 123456", hint: "code 123456" }

describe("Twilio SMS provider", () => {
  it.effect("posts the Messages API request: form-encoded To/From/Body with HTTP Basic auth", () =>
    Effect.gen(function* () {
      const t = yield* server(() => ({ status: 201 }))
      const sent = yield* twilioAt(t.baseUrl).send(sms)
      assert.strictEqual(sent.provider, "twilio")
      const [req] = t.requests
      assert.strictEqual(req?.path, "/2010-04-01/Accounts/AC0123456789abcdef/Messages.json")
      assert.strictEqual(req?.contentType, "application/x-www-form-urlencoded")
      assert.strictEqual(req?.authorization, `Basic ${Buffer.from("AC0123456789abcdef:tok-secret").toString("base64")}`)
      assert.deepStrictEqual(req?.form, { To: sms.to, Body: sms.body, From: "+15005550006" })
      const viaService = yield* server(() => ({ status: 201 }))
      yield* twilioAt(viaService.baseUrl, { messagingServiceSid: "MG42" }).send(sms)
      assert.deepStrictEqual(viaService.requests[0]?.form, { To: sms.to, Body: sms.body, MessagingServiceSid: "MG42" })
    }).pipe(Effect.scoped))

  it.effect("fails over to the second provider on a 5xx and on a timeout", () =>
    Effect.gen(function* () {
      const down = yield* server(() => ({ status: 503, body: { code: 20500, message: "unavailable" } }))
      const hangs = yield* server(() => "hang")
      const up = yield* server(() => ({ status: 201 }))
      const first = yield* failover([twilioAt(down.baseUrl), twilioAt(up.baseUrl)]).send(sms)
      assert.strictEqual(first.provider, "twilio")
      assert.strictEqual(down.requests.length, 1)
      assert.strictEqual(up.requests.length, 1)
      yield* failover([twilioAt(hangs.baseUrl), twilioAt(up.baseUrl)]).send(sms)
      assert.strictEqual(hangs.requests.length, 1)
      assert.strictEqual(up.requests.length, 2)
      const both = yield* Effect.flip(failover([twilioAt(down.baseUrl), twilioAt(hangs.baseUrl)]).send(sms))
      assert.isFalse(both.permanent)
      assert.match(both.reason, /twilio 503.*twilio unreachable/)
    }).pipe(Effect.scoped))

  it.effect("a 4xx saying the number is invalid is permanent: no retry, no failover; the body never leaks into the error", () =>
    Effect.gen(function* () {
      const invalid = yield* server(() => ({ status: 400, body: { code: 21211, message: "The 'To' number is not valid." } }))
      const up = yield* server(() => ({ status: 201 }))
      const error = yield* Effect.flip(failover([twilioAt(invalid.baseUrl), twilioAt(up.baseUrl)]).send(sms))
      assert.isTrue(error.permanent)
      assert.strictEqual(error.reason, "twilio 400 (code 21211)")
      assert.strictEqual(invalid.requests.length, 1)
      assert.strictEqual(up.requests.length, 0)
      assert.notInclude(error.reason, "123456")
    }).pipe(Effect.scoped))
})
