/**
 * Auth1's webhooks (seed 002 "Webhooks") end to end, on PGlite and PostgreSQL: an endpoint registered
 * with `auth1Signature: true` receives the sign-in events of an Auth1 SMS sign-in made through
 * `/compat/auth1`, each signed with `x-auth1-signature` that the seed's own `verifyWebhook` accepts,
 * in the seed's payload format. Live clock (the webhook worker polls): a local receiver on 127.0.0.1.
 */
import { createHmac } from "node:crypto"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import type { Database } from "../../src/platform/Database.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, clientFor, serverLayer, tenantFixture } from "../support/Server.ts"
import { jsonOf, wire } from "../support/Wire.ts"
import { type Received, startReceiver, until } from "../webhooks/Receiver.ts"

const MOBILE = "+447400123456"
const VOIP = "+445612345678"
const EVENTS = ["user.created", "user.verified", "login.success", "login.failed", "fraud.detected"] as const

/** The seed's "Signature Verification" snippet, verbatim apart from the types. */
function verifyWebhook(body: string, signature: string | Array<string> | undefined, secret: string) {
  const expected = createHmac("sha256", secret)
    .update(body)
    .digest("hex")
  return expected === signature
}

/** The seed's "Payload Format": `{ id: "evt_…", event, timestamp (ISO 8601), data: {userId, email, phone, method, riskScore, isVoip, ip} }`. */
const assertPayload = (request: Received) => {
  const payload = JSON.parse(request.body) as Record<string, unknown>
  assert.deepStrictEqual(Object.keys(payload).sort(), ["data", "event", "id", "timestamp"])
  assert.match(String(payload["id"]), /^evt_[0-9A-Za-z]+$/)
  assert.include(EVENTS, payload["event"])
  assert.match(String(payload["timestamp"]), /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{3})?Z$/)
  const data = payload["data"] as Record<string, unknown>
  assert.includeMembers(Object.keys(data), ["userId", "email", "phone", "method", "riskScore", "isVoip", "ip"])
  return { event: String(payload["event"]), data }
}

const server = (db: Layer.Layer<Database>) =>
  serverLayer(db, { webhooksAllowPrivate: true, webhookRetryBaseMs: 2, webhookTimeoutMs: 500, workerPollMs: 100 })

const suite = (name: string, db: Layer.Layer<Database>) =>
  layer(server(db), { timeout: 60_000, excludeTestServices: true })(name, (it) => {
    it.effect("an Auth1 SMS sign-in's events arrive signed with x-auth1-signature (the seed's verifyWebhook) in the seed's payload format", () =>
      Effect.gen(function* () {
        const r = yield* Effect.acquireRelease(Effect.promise(() => startReceiver()), (receiver) => Effect.promise(receiver.close))
        const { keys } = yield* tenantFixture("Auth1 Hooks")
        const test = yield* clientFor(keys.test)
        const { secret } = yield* test.webhooks.create({ payload: { url: r.url("/webhooks/auth1"), events: [...EVENTS], auth1Signature: true } })
        yield* test.webhooks.create({ payload: { url: r.url("/plain"), events: ["login.success"] } })

        const base = yield* baseUrl
        const auth1 = (path: string, body: unknown) =>
          Effect.map(wire(`${base}/compat/auth1/api/auth${path}`, {
            method: "POST", headers: { "content-type": "application/json", "x-api-key": keys.test }, body: JSON.stringify(body)
          }), (response) => ({ status: response.status, json: jsonOf(response) }))
        const sent = yield* auth1("/sms/request", { phone: MOBILE, email: "user@example.com", tenant: "your-tenant" })
        assert.strictEqual(sent.status, 200)
        const outbox = yield* test.test.messages({ query: { to: MOBILE } })
        const code = /\b(\d{6})\b/.exec(outbox.messages[0]?.text ?? "")?.[1] ?? ""
        const verify = (verificationCode: string) =>
          auth1("/sms/verify", { phoneVerificationId: sent.json["phoneVerificationId"], verificationCode, email: "user@example.com" })
        assert.strictEqual((yield* verify(code === "000000" ? "111111" : "000000")).status, 400)
        const verified = yield* verify(code)
        assert.strictEqual(verified.status, 200)
        const userId = (verified.json["user"] as Record<string, unknown>)["id"]
        yield* test.tenant.update({ payload: { settings: { voipAction: "block" } } })
        assert.strictEqual((yield* auth1("/sms/request", { phone: VOIP, email: "voip@example.com", tenant: "your-tenant" })).status, 403)

        yield* Effect.promise(() => until("five Auth1 deliveries", () => (r.received.filter((x) => x.path === "/webhooks/auth1").length >= 5 ? true : undefined)))
        const hooks = r.received.filter((x) => x.path === "/webhooks/auth1")
        const byEvent = new Map<string, Record<string, unknown>>()
        for (const request of hooks) {
          const signature = request.headers["x-auth1-signature"]
          assert.match(String(signature), /^[0-9a-f]{64}$/)
          assert.isTrue(verifyWebhook(request.body, signature, secret), "the seed's check accepts it")
          assert.isFalse(verifyWebhook(request.body.replace("\"data\"", "\"Data\""), signature, secret), "a tampered body fails")
          assert.isFalse(verifyWebhook(request.body, signature, `${secret}x`), "another secret fails")
          assert.strictEqual(request.headers["content-type"], "application/json")
          const { event, data } = assertPayload(request)
          byEvent.set(event, data)
        }
        assert.deepStrictEqual([...byEvent.keys()].sort(), [...EVENTS].sort())

        // sign-in events: the user, the phone, the email the SMS was bound to, the send's risk score and
        // VOIP flag, Auth1's method name (Auth1's request carries no end-user IP: null)
        const riskScore = sent.json["riskScore"]
        assert.isTrue(typeof riskScore === "number" && riskScore >= 0 && riskScore <= 1, String(riskScore))
        for (const event of ["user.created", "user.verified", "login.success"]) {
          assert.deepStrictEqual(byEvent.get(event), {
            userId, email: "user@example.com", phone: MOBILE, method: "sms_otp", riskScore, isVoip: false, ip: null
          }, event)
        }
        const failed = byEvent.get("login.failed") ?? {}
        assert.deepStrictEqual(
          [failed["userId"], failed["email"], failed["phone"], failed["method"], failed["reason"], failed["riskScore"], failed["isVoip"]],
          [null, "user@example.com", MOBILE, "sms_otp", "CODE_INVALID", riskScore, false])
        const fraud = byEvent.get("fraud.detected") ?? {}
        assert.deepStrictEqual([fraud["phone"], fraud["email"], fraud["method"], fraud["isVoip"], fraud["reason"]],
          [VOIP, "voip@example.com", "sms_otp", true, "voip_blocked"])
        assert.isTrue(typeof fraud["riskScore"] === "number" && fraud["riskScore"] >= 0 && fraud["riskScore"] <= 1, String(fraud["riskScore"]))

        // an endpoint without auth1Signature gets the Standard Webhooks headers only
        const plain = yield* Effect.promise(() => until("the plain delivery", () => r.received.find((x) => x.path === "/plain")))
        assert.isUndefined(plain.headers["x-auth1-signature"])
        assert.match(String(plain.headers["webhook-signature"]), /^v1,/)
      }))
  })

suite("Auth1 webhooks (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => {
  suite("Auth1 webhooks (PostgreSQL)", postgresLayer)
})
