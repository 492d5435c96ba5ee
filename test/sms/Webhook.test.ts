import { assert, describe, it } from "@effect/vitest"
import { createHmac, randomBytes } from "node:crypto"
import { createServer, type Server } from "node:http"
import { ConfigProvider, Effect, Exit, Layer, Option, Redacted } from "effect"
import * as AppConfigLive from "../../src/platform/Config.ts"
import { SmsProvider } from "../../src/sms/SmsProvider.ts"
import * as SmsProviderLive from "../../src/sms/SmsProviderLive.ts"
import * as SmsWebhook from "../../src/sms/Webhook.ts"
import { testConfig } from "../support/Server.ts"
import { startTwilio } from "./TwilioServer.ts"

interface Received {
  readonly headers: Record<string, string | undefined>
  readonly raw: string
}

type Answer = number | "hang"

/** A local SMS gateway: records each request as received (raw body and headers), answers with `answer`. */
const startReceiver = async (answer: () => Answer) => {
  const received: Array<Received> = []
  const server: Server = createServer((req, res) => {
    let raw = ""
    req.on("data", (chunk) => { raw += chunk })
    req.on("end", () => {
      received.push({
        raw,
        headers: Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, Array.isArray(v) ? v.join(",") : v]))
      })
      const a = answer()
      if (a === "hang") return
      res.writeHead(a, { "content-type": "application/json" })
      res.end("{}")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const address = server.address()
  const port = typeof address === "object" && address !== null ? address.port : 0
  return {
    url: `http://127.0.0.1:${port}/sms`,
    received,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()) })
  }
}

const receiver = (answer: () => Answer) =>
  Effect.acquireRelease(Effect.promise(() => startReceiver(answer)), (s) => Effect.promise(() => s.close()))

const secret = "whsec_" + randomBytes(32).toString("base64")

/** The receiver's side of Standard Webhooks, written from the spec rather than with Sesame's signer. */
const verify = (r: Received, key: string): boolean => {
  const id = r.headers["webhook-id"] ?? ""
  const timestamp = r.headers["webhook-timestamp"] ?? ""
  const expected = createHmac("sha256", Buffer.from(key.slice("whsec_".length), "base64"))
    .update(`${id}.${timestamp}.${r.raw}`).digest("base64")
  const signatures = (r.headers["webhook-signature"] ?? "").split(" ")
  return signatures.some((s) => s === `v1,${expected}`) &&
    Math.abs(Date.now() / 1000 - Number(timestamp)) < 300
}

const webhookAt = (url: string) => SmsWebhook.make({ url, secret: Redacted.make(secret), timeoutMs: 200 })

const sms = {
  to: "+447400123456", body: "Your Acme code is 123456", hint: "code 123456",
  messageId: "msg_abc", authRequestId: "ar_xyz"
}

describe("signed webhook SMS provider", () => {
  it.live("POSTs { to, body, authRequestId, messageId } as JSON with a valid Standard Webhooks signature", () =>
    Effect.gen(function* () {
      const r = yield* receiver(() => 202)
      const sent = yield* webhookAt(r.url).send(sms)
      assert.strictEqual(sent.provider, "webhook")
      const [req] = r.received
      assert.isDefined(req)
      assert.strictEqual(req!.headers["content-type"], "application/json")
      assert.deepStrictEqual(JSON.parse(req!.raw), { to: sms.to, body: sms.body, authRequestId: "ar_xyz", messageId: "msg_abc" })
      assert.strictEqual(req!.headers["webhook-id"], "msg_abc")
      assert.match(req!.headers["webhook-signature"] ?? "", /^v1,[A-Za-z0-9+/]+=*$/)
      assert.isTrue(verify(req!, secret))
      assert.isFalse(verify(req!, "whsec_" + randomBytes(32).toString("base64")))
      assert.isFalse(verify({ ...req!, raw: req!.raw.replace("123456", "654321") }, secret))
      // Without an auth request the field is left out; a message id is always there.
      yield* webhookAt(r.url).send({ to: sms.to, body: sms.body, hint: sms.hint })
      const second = JSON.parse(r.received[1]!.raw) as Record<string, unknown>
      assert.isFalse("authRequestId" in second)
      assert.isString(second["messageId"])
      assert.isTrue(verify(r.received[1]!, secret))
    }).pipe(Effect.scoped))

  it.effect("4xx is permanent (but 429 is not); 5xx and timeouts are retryable; the body never leaks into the error", () =>
    Effect.gen(function* () {
      const refused = yield* receiver(() => 422)
      const e422 = yield* Effect.flip(webhookAt(refused.url).send(sms))
      assert.isTrue(e422.permanent)
      assert.strictEqual(e422.reason, "sms webhook 422")
      const busy = yield* receiver(() => 429)
      assert.isFalse((yield* Effect.flip(webhookAt(busy.url).send(sms))).permanent)
      const down = yield* receiver(() => 503)
      const e503 = yield* Effect.flip(webhookAt(down.url).send(sms))
      assert.isFalse(e503.permanent)
      assert.strictEqual(e503.reason, "sms webhook 503")
      const hangs = yield* receiver(() => "hang")
      const timeout = yield* Effect.flip(webhookAt(hangs.url).send(sms))
      assert.isFalse(timeout.permanent)
      assert.match(timeout.reason, /^sms webhook unreachable/)
      for (const e of [e422, e503, timeout]) assert.notInclude(e.reason, "123456")
    }).pipe(Effect.scoped))

  it.live("configured with Twilio, the live layer fails over Twilio 5xx → webhook; a Twilio invalid-number 4xx stops there", () =>
    Effect.gen(function* () {
      const twilioReply = { current: { status: 503, body: { code: 20500 } } as { status: number; body: unknown } }
      const twilio = yield* Effect.acquireRelease(
        Effect.promise(() => startTwilio(() => twilioReply.current)), (s) => Effect.promise(() => s.close()))
      const r = yield* receiver(() => 200)
      const provider = yield* Effect.provide(Effect.gen(function* () { return yield* SmsProvider }), SmsProviderLive.layer.pipe(Layer.provide(testConfig({
        sms: {
          twilio: Option.some({
            accountSid: "AC0123456789abcdef", authToken: Redacted.make("tok-secret"), from: "+15005550006",
            messagingServiceSid: undefined, baseUrl: twilio.baseUrl
          }),
          webhook: Option.some({ url: r.url, secret: Redacted.make(secret) }),
          timeoutMs: 500
        }
      }))))
      const sent = yield* provider.send(sms)
      assert.strictEqual(sent.provider, "webhook")
      assert.strictEqual(twilio.requests.length, 1)
      assert.strictEqual(r.received.length, 1)
      assert.isTrue(verify(r.received[0]!, secret))
      twilioReply.current = { status: 201, body: { sid: "SM1" } }
      assert.strictEqual((yield* provider.send(sms)).provider, "twilio")
      assert.strictEqual(r.received.length, 1)
      twilioReply.current = { status: 400, body: { code: 21211 } }
      const invalid = yield* Effect.flip(provider.send(sms))
      assert.isTrue(invalid.permanent)
      assert.strictEqual(r.received.length, 1)
    }).pipe(Effect.scoped))

  it.effect("SMS_WEBHOOK_URL + SMS_WEBHOOK_SECRET configure the provider; a URL without a secret refuses to start", () =>
    Effect.gen(function* () {
      const load = (env: Record<string, string>) =>
        Effect.exit(Effect.provide(
          Effect.gen(function* () { return yield* AppConfigLive.AppConfig }),
          AppConfigLive.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env }))))
        ))
      const ok = yield* load({ SMS_WEBHOOK_URL: "https://sms.example.com/send", SMS_WEBHOOK_SECRET: secret })
      assert.isTrue(Exit.isSuccess(ok))
      if (Exit.isSuccess(ok)) {
        const webhook = Option.getOrUndefined(ok.value.sms?.webhook ?? Option.none())
        assert.strictEqual(webhook?.url, "https://sms.example.com/send")
        assert.strictEqual(Redacted.value(webhook!.secret), secret)
      }
      const none = yield* load({})
      assert.isTrue(Exit.isSuccess(none) && Option.isNone(none.value.sms?.webhook ?? Option.none()))
      assert.isTrue(Exit.isFailure(yield* load({ SMS_WEBHOOK_URL: "https://sms.example.com/send" })))
      assert.isTrue(Exit.isFailure(yield* load({ SMS_WEBHOOK_URL: "ftp://sms.example.com", SMS_WEBHOOK_SECRET: secret })))
    }))
})
