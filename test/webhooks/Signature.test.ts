import { createHmac, timingSafeEqual } from "node:crypto"
import { assert, describe, it } from "@effect/vitest"
import { Webhook } from "standardwebhooks"
import { eventData, webhookBody } from "../../src/webhooks/Payload.ts"
import { newSecret, signatureHeaders } from "../../src/webhooks/Signature.ts"

// The specification's own library checks the timestamp against the wall clock (±5 min).
const nowSeconds = () => Math.floor(Date.now() / 1000)

const body = webhookBody({
  id: "evt_0123456789abcdefABCDEF",
  type: "login.success",
  createdAt: new Date("2026-03-23T14:30:00.000Z"),
  payload: { userId: "usr_0123456789abcdefABCDEF", email: "ada@example.com", phone: null, method: ["otp", "email"], ip: "203.0.113.42" }
})

describe("webhook signatures", () => {
  it("secrets are whsec_ + base64 of 32 random bytes, all different", () => {
    const a = newSecret()
    assert.match(a, /^whsec_[A-Za-z0-9+/]+=*$/)
    assert.strictEqual(Buffer.from(a.slice(6), "base64").length, 32)
    assert.notStrictEqual(a, newSecret())
  })

  it("standardwebhooks verifies our headers; a tampered body, id, timestamp or another secret fails", () => {
    const secret = newSecret()
    const ts = nowSeconds()
    const headers = { ...signatureHeaders([secret], "evt_0123456789abcdefABCDEF", ts, body, false) }
    assert.match(headers["webhook-signature"], /^v1,[A-Za-z0-9+/]+=*$/)
    assert.deepStrictEqual(new Webhook(secret).verify(body, headers), JSON.parse(body))
    assert.throws(() => new Webhook(secret).verify(body.replace("ada@", "eve@"), headers))
    assert.throws(() => new Webhook(secret).verify(body, { ...headers, "webhook-id": "evt_other00000000000000" }))
    assert.throws(() => new Webhook(secret).verify(body, { ...headers, "webhook-timestamp": String(ts + 1) }))
    assert.throws(() => new Webhook(newSecret()).verify(body, headers))
    assert.isUndefined((headers as Record<string, string>)["x-auth1-signature"])
  })

  it("during a rotation both secrets sign, so the receiver verifies with either", () => {
    const [next, previous] = [newSecret(), newSecret()]
    const headers = { ...signatureHeaders([next, previous], "evt_0123456789abcdefABCDEF", nowSeconds(), body, false) }
    assert.strictEqual(headers["webhook-signature"].split(" ").length, 2)
    assert.doesNotThrow(() => new Webhook(next).verify(body, headers))
    assert.doesNotThrow(() => new Webhook(previous).verify(body, headers))
    assert.throws(() => new Webhook(newSecret()).verify(body, headers))
  })

  it("the README's node:crypto snippet verifies too", () => {
    // Copied from README.md "Verifying a message", types added.
    function verifySesameWebhook(rawBody: string, headers: Record<string, string | undefined>, secret: string) {
      const id = headers["webhook-id"], timestamp = headers["webhook-timestamp"]
      if (!id || !timestamp || Math.abs(Date.now() / 1000 - Number(timestamp)) > 300) return false
      const key = Buffer.from(secret.slice("whsec_".length), "base64")
      const expected = createHmac("sha256", key).update(`${id}.${timestamp}.${rawBody}`).digest()
      return String(headers["webhook-signature"] ?? "").split(" ").some((entry) => {
        const [version, signature] = entry.split(",")
        const given = Buffer.from(signature ?? "", "base64")
        return version === "v1" && given.length === expected.length && timingSafeEqual(given, expected)
      })
    }
    const [next, previous] = [newSecret(), newSecret()]
    const headers = { ...signatureHeaders([next, previous], "evt_0123456789abcdefABCDEF", nowSeconds(), body, false) }
    assert.isTrue(verifySesameWebhook(body, headers, next))
    assert.isTrue(verifySesameWebhook(body, headers, previous))
    assert.isFalse(verifySesameWebhook(body + " ", headers, next))
    assert.isFalse(verifySesameWebhook(body, { ...headers, "webhook-timestamp": String(nowSeconds() - 600) }, next))
  })

  it("x-auth1-signature is what Auth1's published snippet computes (hex HMAC-SHA256 of the body)", () => {
    const secret = newSecret()
    const headers = signatureHeaders([secret], "evt_0123456789abcdefABCDEF", nowSeconds(), body, true)
    // Auth1's snippet, verbatim apart from names.
    const verifyWebhook = (raw: string, signature: string | undefined, key: string) =>
      createHmac("sha256", key).update(raw).digest("hex") === signature
    assert.isTrue(verifyWebhook(body, headers["x-auth1-signature"], secret))
    assert.isFalse(verifyWebhook(body + " ", headers["x-auth1-signature"], secret))
  })
})

describe("webhook payloads", () => {
  it("have the Auth1 seed's shape: id, event, timestamp, data with every sign-in field", () => {
    assert.deepStrictEqual(JSON.parse(body), {
      id: "evt_0123456789abcdefABCDEF",
      event: "login.success",
      timestamp: "2026-03-23T14:30:00.000Z",
      data: {
        userId: "usr_0123456789abcdefABCDEF", email: "ada@example.com", phone: null, method: "email_otp",
        riskScore: null, isVoip: null, ip: "203.0.113.42"
      }
    })
  })

  it("name the methods as Auth1 does and pass other events' data through", () => {
    assert.strictEqual(eventData("user.created", { method: ["link"] })["method"], "magic_link")
    assert.strictEqual(eventData("user.verified", { method: ["otp", "sms"] })["method"], "sms_otp")
    assert.deepStrictEqual(eventData("delivery.failed", { messageId: "msg_1", error: "timeout" }), { messageId: "msg_1", error: "timeout" })
    assert.deepStrictEqual(eventData("session.revoked", null), {})
  })
})
