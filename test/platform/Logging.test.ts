/**
 * The log line formats (platform/Logging.ts), the masks (platform/Mask.ts), and the dev outbox lines:
 * the one documented exception that logs a code, with its recipient masked.
 */
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { HttpServerRequest } from "effect/http"
import { Mailer } from "../../src/delivery/Mailer.ts"
import * as MailerLive from "../../src/delivery/Mailer.ts"
import { jsonLogger, RequestEntry, RequestLine, setRequestEntry } from "../../src/platform/Logging.ts"
import { maskEmail, maskPhone, maskRecipient, maskText } from "../../src/platform/Mask.ts"
import { SmsProvider } from "../../src/sms/SmsProvider.ts"
import * as SmsLive from "../../src/sms/SmsProvider.ts"

/** Runs `effect` with the JSON logger writing into an array. */
const jsonLines = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const lines: Array<string> = []
    const collect = Logger.make((options) => {
      lines.push(jsonLogger.log(options))
    })
    yield* Effect.provide(effect, Logger.layer([collect]))
    return lines.map((line): Record<string, unknown> => {
      const parsed: unknown = JSON.parse(line)
      return typeof parsed === "object" && parsed !== null ? Object.fromEntries(Object.entries(parsed)) : {}
    })
  })

describe("masks", () => {
  it("emails keep the first character and the domain", () => {
    assert.strictEqual(maskEmail("ada.lovelace@example.com"), "a***@example.com")
    assert.strictEqual(maskEmail("x@example.com"), "x***@example.com")
    assert.strictEqual(maskEmail("not-an-address"), "***")
  })

  it("phones keep at most a third of the digits in front and the last two", () => {
    assert.strictEqual(maskPhone("+447400123456"), "+4474******56")
    assert.strictEqual(maskPhone("+15551234"), "+15****34")
    assert.strictEqual(maskPhone("+1234"), "+****")
    assert.strictEqual(maskRecipient("+447400123456"), "+4474******56")
    assert.strictEqual(maskRecipient("grace@example.org"), "g***@example.org")
  })

  it("free text: every address and number in a provider's error is masked, other digits are kept", () => {
    assert.strictEqual(
      maskText("550 5.1.1 <ada@example.com>: Recipient address rejected; The 'To' number +447400123456 is not valid (code 21211)"),
      "550 5.1.1 <a***@example.com>: Recipient address rejected; The 'To' number +4474******56 is not valid (code 21211)"
    )
    assert.strictEqual(maskText("call 447400123456 or msg_4474001234567abc"), "call 4474******56 or msg_4474001234567abc")
  })
})

describe("JSON lines", () => {
  it.effect("a request line is flat JSON with the request's id, tenant, route, method, status and latency", () =>
    Effect.gen(function* () {
      const entry = new RequestEntry("req_abc")
      entry.route = "/v1/passwordless/:authRequestId"
      entry.tenant = "ten_1"
      const [line, anonymous] = yield* jsonLines(Effect.andThen(
        Effect.log(new RequestLine(entry, "GET", 200, 1.25)),
        Effect.log(new RequestLine(new RequestEntry("client \"id\""), "POST", 404, 0))
      ))
      assert.deepInclude(line, {
        message: "request", level: "INFO", requestId: "req_abc", tenant: "ten_1", route: "/v1/passwordless/:authRequestId",
        method: "GET", status: 200, latencyMs: 1.25
      })
      assert.match(String(line?.["timestamp"]), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$/)
      assert.deepInclude(anonymous, { tenant: null, route: null, status: 404 })
    }))

  it.effect("a line logged while a request runs carries its request id; one outside a request does not", () =>
    Effect.gen(function* () {
      const request = HttpServerRequest.fromWeb(new Request("http://sesame.test/v1/keys"))
      setRequestEntry(request, new RequestEntry("req_inside"))
      const [inside, outside] = yield* jsonLines(Effect.andThen(
        Effect.logWarning("within").pipe(Effect.provideService(HttpServerRequest.HttpServerRequest, request)),
        Effect.logWarning("without")
      ))
      assert.deepInclude(inside, { message: "within", level: "WARN", requestId: "req_inside" })
      assert.deepInclude(outside, { message: "without", level: "WARN" })
      assert.notProperty(outside, "requestId")
    }))

  it.effect("the dev outbox lines (no SMTP, no SMS provider) show the code on purpose, the recipient masked", () =>
    Effect.gen(function* () {
      const [email, sms] = yield* jsonLines(Effect.gen(function* () {
        yield* Effect.flatMap(Mailer, (mailer) =>
          mailer.send({ to: "ada@example.com", fromName: "Acme", subject: "Your code", html: "", text: "Your code: 123456", hint: "code 123456" }))
          .pipe(Effect.provide(MailerLive.layerDevOutbox))
        yield* Effect.flatMap(SmsProvider, (sms) =>
          sms.send({ to: "+447400123456", body: "Your code: 654321", hint: "code 654321", messageId: "msg_1" }))
          .pipe(Effect.provide(SmsLive.layerDevOutbox))
      }))
      assert.strictEqual(email?.["message"], "dev outbox → to a***@example.com: Your code (code 123456)")
      assert.strictEqual(sms?.["message"], "dev sms outbox → to +4474******56: code 654321")
    }))
})
