import { createHmac } from "node:crypto"
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { Webhook } from "standardwebhooks"
import { ApiKeys } from "../../src/keys/ApiKeys.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import type { Database } from "../../src/platform/Database.ts"
import type { Layer } from "effect"
import { baseUrl, clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"
import { type Behaviour, type Received, type Receiver, startReceiver, until } from "../webhooks/Receiver.ts"

// Webhooks on the live clock: a local receiver on 127.0.0.1 (hence WEBHOOKS_ALLOW_PRIVATE), the retry
// schedule scaled to 2 ms per second (5 s → 10 ms, 5 min → 0.6 s) and a 500 ms request timeout.
const server = (db: Layer.Layer<Database>) =>
  serverLayer(db, { webhooksAllowPrivate: true, webhookRetryBaseMs: 2, webhookTimeoutMs: 500, workerPollMs: 100 })

const receiver = (behave?: (request: Received, nth: number) => Behaviour) =>
  Effect.acquireRelease(Effect.promise(() => startReceiver(behave)), (r) => Effect.promise(r.close))

const waitFor = <A>(what: string, probe: () => A | undefined, timeoutMs?: number) =>
  Effect.promise(() => until(what, probe, timeoutMs))

const headersOf = (r: Received) => ({
  "webhook-id": String(r.headers["webhook-id"]),
  "webhook-timestamp": String(r.headers["webhook-timestamp"]),
  "webhook-signature": String(r.headers["webhook-signature"])
})

const fixture = Effect.gen(function* () {
  const { tenant, keys } = yield* tenantFixture()
  return { tenant, keys, test: yield* clientFor(keys.test), live: yield* clientFor(keys.live) }
})

type Client = Effect.Success<ReturnType<typeof clientFor>>

const signIn = (client: Client, email: string) =>
  Effect.gen(function* () {
    const sent = yield* client.passwordless.send({ payload: { email } })
    return yield* client.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })
  })

const byEvent = (r: Receiver, type: string) => r.received.filter((x) => JSON.parse(x.body).event === type)

const suite = (name: string, db: Layer.Layer<Database>) =>
layer(server(db), { timeout: 60_000, excludeTestServices: true })(`webhooks over HTTP (${name})`, (it) => {
  it.effect("endpoints: the secret is shown once; get, list, update, delete; scope, mode and validation", () =>
    Effect.gen(function* () {
      const { tenant, keys, test, live } = yield* fixture
      const created = yield* test.webhooks.create({ payload: { url: "https://hooks.example.com/a", events: ["login.success"], description: "A" } })
      assert.match(created.secret, /^whsec_[A-Za-z0-9+/]{43}=$/)
      assert.match(created.endpoint.id, /^whe_/)
      assert.deepStrictEqual(
        { ...created.endpoint, id: "", createdAt: "" },
        { id: "", url: "https://hooks.example.com/a", description: "A", events: ["login.success"], auth1Signature: false,
          status: "enabled", disabledAt: null, disabledReason: null, createdAt: "" })
      const url = yield* baseUrl
      const raw = yield* Effect.promise(() =>
        fetch(`${url}/v1/webhooks`, { headers: { authorization: `Bearer ${keys.test}` } }).then((response) => response.text()))
      assert.include(raw, created.endpoint.id)
      const openapi = yield* Effect.promise(() => fetch(`${url}/openapi.json`).then((r) => r.json() as Promise<{ paths: Record<string, unknown> }>))
      for (const path of ["/v1/webhooks", "/v1/webhooks/{endpointId}", "/v1/webhooks/{endpointId}/rotate-secret",
        "/v1/webhooks/{endpointId}/deliveries", "/v1/webhooks/deliveries/{deliveryId}/retry"]) assert.property(openapi.paths, path)
      assert.notInclude(raw, "whsec_")
      assert.notInclude(raw, "secret")

      const updated = yield* test.webhooks.update({
        params: { endpointId: created.endpoint.id },
        payload: { events: ["login.success", "user.created", "login.success"], description: null, auth1Signature: true }
      })
      assert.deepStrictEqual([updated.events, updated.description, updated.auth1Signature], [["login.success", "user.created"], null, true])
      const disabled = yield* test.webhooks.update({ params: { endpointId: created.endpoint.id }, payload: { enabled: false } })
      assert.deepStrictEqual([disabled.status, disabled.disabledReason], ["disabled", "disabled through the API"])

      assert.strictEqual(errorCode(yield* Effect.flip(live.webhooks.get({ params: { endpointId: created.endpoint.id } }))), "NOT_FOUND")
      assert.deepStrictEqual((yield* live.webhooks.list()).endpoints, [])
      const bad = yield* Effect.flip(test.webhooks.create({ payload: { url: "ftp://hooks.example.com/a", events: ["login.success"] } }))
      assert.deepStrictEqual([errorCode(bad), "field" in bad ? bad.field : undefined], ["VALIDATION_FAILED", "url"])
      // The typed client refuses an empty list before sending it: the wire answer, then.
      const none = yield* Effect.promise(() =>
        fetch(`${url}/v1/webhooks`, {
          method: "POST",
          headers: { authorization: `Bearer ${keys.test}`, "content-type": "application/json" },
          body: JSON.stringify({ url: "https://hooks.example.com/a", events: [] })
        }).then(async (response) => ({ status: response.status, body: (await response.json()) as { code?: string; field?: string } })))
      assert.strictEqual(none.status, 400)
      assert.deepStrictEqual([none.body.code, none.body.field], ["VALIDATION_FAILED", "events"])

      const narrow = yield* (yield* ApiKeys).create({ tenantId: tenant.id, mode: "test", scopes: ["passwordless:send"], name: "narrow" })
      const refused = yield* Effect.flip((yield* clientFor(narrow.secret)).webhooks.list())
      assert.strictEqual(errorCode(refused), "SCOPE_MISSING")

      yield* test.webhooks.delete({ params: { endpointId: created.endpoint.id } })
      assert.strictEqual(errorCode(yield* Effect.flip(test.webhooks.get({ params: { endpointId: created.endpoint.id } }))), "NOT_FOUND")
    }))

  it.effect("sign-in events arrive signed: standardwebhooks verifies each delivery, a tampered body fails", () =>
    Effect.gen(function* () {
      const r = yield* receiver()
      const { test } = yield* fixture
      const events = ["user.created", "user.verified", "login.success", "login.failed"] as const
      const { secret } = yield* test.webhooks.create({ payload: { url: r.url(), events: [...events], auth1Signature: true } })
      const sent = yield* test.passwordless.send({ payload: { email: "hook@example.com", client: { ipAddress: "203.0.113.42" } } })
      const wrong = sent.code === "000000" ? "111111" : "000000"
      yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: wrong } }))
      const verified = yield* test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })
      yield* waitFor("four deliveries", () => (r.received.length >= 4 ? true : undefined))

      const hook = new Webhook(secret)
      for (const request of r.received) {
        const payload = hook.verify(request.body, headersOf(request)) as { id: string; event: string }
        assert.strictEqual(payload.id, request.headers["webhook-id"])
        assert.throws(() => hook.verify(request.body.replace("hook@", "evil@"), headersOf(request)))
        assert.strictEqual(request.headers["x-auth1-signature"], createHmac("sha256", secret).update(request.body).digest("hex"))
        assert.strictEqual(request.headers["content-type"], "application/json")
      }
      assert.deepStrictEqual(r.received.map((x) => JSON.parse(x.body).event).sort(), [...events].sort())
      assert.strictEqual(new Set(r.received.map((x) => x.headers["webhook-id"])).size, 4)
      const [success] = byEvent(r, "login.success")
      assert.deepStrictEqual(JSON.parse(success?.body ?? "{}").data, {
        userId: verified.user.id, email: "hook@example.com", phone: null, method: "email_otp", riskScore: null, isVoip: null,
        ip: "203.0.113.42"
      })
      const [failed] = byEvent(r, "login.failed")
      assert.deepStrictEqual(JSON.parse(failed?.body ?? "{}").data, {
        userId: null, email: "hook@example.com", phone: null, method: "email_otp", riskScore: null, isVoip: null, ip: null,
        reason: "CODE_INVALID", authRequestId: sent.authRequestId, attemptsRemaining: 4
      })
    }))

  it.effect("500, then a timeout, then 200: the event arrives once as 2xx under one webhook-id; the log shows three attempts", () =>
    Effect.gen(function* () {
      const r = yield* receiver((_request, nth) => (nth === 1 ? 500 : nth === 2 ? "hang" : 200))
      const { test } = yield* fixture
      const { endpoint } = yield* test.webhooks.create({ payload: { url: r.url("/flaky"), events: ["login.success"] } })
      yield* signIn(test, "flaky@example.com")
      yield* waitFor("a 2xx answer", () => r.received.find((x) => x.status === 200), 15_000)
      yield* Effect.sleep(700) // long enough for a (wrong) fourth attempt to show up
      assert.deepStrictEqual(r.received.map((x) => x.status), [500, undefined, 200])
      assert.strictEqual(new Set(r.received.map((x) => x.headers["webhook-id"])).size, 1)

      const page = yield* test.webhooks.deliveries({ params: { endpointId: endpoint.id }, query: {} })
      assert.strictEqual(page.deliveries.length, 1)
      const [delivery] = page.deliveries
      assert.strictEqual(delivery?.status, "succeeded")
      assert.strictEqual(delivery?.eventId, r.received[0]?.headers["webhook-id"])
      assert.deepStrictEqual(delivery?.attempts.map((a) => [a.attempt, a.statusCode, a.error]), [
        [1, 500, "HTTP 500"], [2, null, "timed out after 500 ms"], [3, 200, null]
      ])
      assert.isAtLeast(delivery?.attempts[1]?.latencyMs ?? 0, 450)
    }))

  it.effect("rotate-secret: deliveries carry both signatures; a retried delivery keeps its webhook-id", () =>
    Effect.gen(function* () {
      const r = yield* receiver()
      const { test } = yield* fixture
      const created = yield* test.webhooks.create({ payload: { url: r.url(), events: ["login.success"] } })
      const rotated = yield* test.webhooks.rotateSecret({ params: { endpointId: created.endpoint.id } })
      assert.notStrictEqual(rotated.secret, created.secret)
      yield* signIn(test, "rotate@example.com")
      const first = yield* waitFor("a delivery", () => r.received[0])
      assert.doesNotThrow(() => new Webhook(created.secret).verify(first.body, headersOf(first)))
      assert.doesNotThrow(() => new Webhook(rotated.secret).verify(first.body, headersOf(first)))

      const [delivery] = (yield* test.webhooks.deliveries({ params: { endpointId: created.endpoint.id }, query: {} })).deliveries
      const retried = yield* test.webhooks.retry({ params: { deliveryId: delivery?.id ?? "" as never } })
      assert.strictEqual(retried.status, "pending")
      const second = yield* waitFor("the retried delivery", () => r.received[1])
      assert.strictEqual(second.headers["webhook-id"], first.headers["webhook-id"])
      assert.strictEqual(second.body, first.body)
    }))
})

suite("PGlite", pgliteLayer)

describe.skipIf(!hasPostgres)("with PostgreSQL", () => {
  suite("PostgreSQL", postgresLayer)
})
