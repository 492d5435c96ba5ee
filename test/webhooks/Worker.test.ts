import { assert, describe, it } from "@effect/vitest"
import { Effect, Fiber, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { Schedule } from "effect"
import { Webhooks } from "../../src/webhooks/Webhooks.ts"
import * as WebhooksLive from "../../src/webhooks/Webhooks.ts"
import { Resolver } from "../../src/webhooks/Resolver.ts"
import { SCHEDULE_SECONDS } from "../../src/webhooks/Schedule.ts"
import * as Sender from "../../src/webhooks/Sender.ts"
import { signStandard } from "../../src/webhooks/Signature.ts"
import { defaults, runOnce } from "../../src/webhooks/Worker.ts"
import { WebhookStore } from "../../src/webhooks/WebhookStore.ts"
import { Secrets } from "../../src/platform/Secrets.ts"
import { backends } from "../delivery/fixtures.ts"
import {
  auditRows, callerOf, clockNow, deliveryRows, fake, ok, record, reset, status, unreachable, webhooksOn
} from "./fixtures.ts"

const hook = (events: ReadonlyArray<"login.success" | "user.created" | "login.failed">, extra: { auth1Signature?: boolean } = {}) =>
  ({ url: "https://hooks.example.com/sesame", events: [...events], ...extra })

const pass = (options = defaults) => runOnce(options)

for (const [name, db] of backends) {
  describe(`webhooks on ${name}`, () => {
    it.layer(webhooksOn(db), { timeout: "120 seconds" })((it) => {
      it.effect("fan-out: one delivery per enabled, subscribed endpoint of the event's tenant and mode; idempotent", () =>
        Effect.gen(function* () {
          yield* reset
          const webhooks = yield* Webhooks
          const live = callerOf("live")
          const test = { ...live, mode: "test" as const }
          const a = yield* webhooks.create(live, hook(["login.success"]))
          const b = yield* webhooks.create(live, hook(["user.created", "login.success"]))
          yield* webhooks.create(test, hook(["login.success"]))
          yield* webhooks.create(callerOf("live"), hook(["login.success"]))
          const off = yield* webhooks.create(live, hook(["login.success"]))
          yield* webhooks.update(live, off.endpoint.id, { enabled: false })
          yield* record(live, "login.success")
          yield* record(live, "user.created")
          yield* record(live, "login.failed")
          yield* TestClock.adjust("1 second")
          yield* webhooks.create(live, hook(["login.success"])) // created after the events: gets none of them

          const store = yield* WebhookStore
          const now = yield* clockNow
          const taken = yield* Effect.all([store.fanOut(now, 2), store.fanOut(now, 2), store.fanOut(now, 2)], { concurrency: "unbounded" })
          assert.strictEqual(taken.reduce((x, y) => x + y, 0), 3)
          assert.strictEqual(yield* store.fanOut(now, 10), 0)
          const rows = yield* deliveryRows(live.tenantId)
          assert.deepStrictEqual(rows.map((r) => [r.endpointId, r.eventType, r.status, r.attempts]).sort(), [
            [a.endpoint.id, "login.success", "pending", 0],
            [b.endpoint.id, "login.success", "pending", 0],
            [b.endpoint.id, "user.created", "pending", 0]
          ].sort())
        }))

      it.effect("a delivery is signed (Standard Webhooks and, if asked, Auth1) and its attempt logged", () =>
        Effect.gen(function* () {
          yield* reset
          const webhooks = yield* Webhooks
          const caller = callerOf()
          const { endpoint, secret } = yield* webhooks.create(caller, hook(["login.success"], { auth1Signature: true }))
          yield* record(caller, "login.success", { userId: "usr_0000000000000000000001", email: "ada@example.com" })
          yield* TestClock.adjust("10 seconds")
          const seconds = String(Math.floor((yield* clockNow).getTime() / 1000))
          assert.strictEqual(yield* pass(), 1)

          const [request] = fake.requests
          assert.strictEqual(request?.url, endpoint.url)
          const body = JSON.parse(request?.body ?? "{}")
          assert.strictEqual(body.event, "login.success")
          assert.strictEqual(body.data.email, "ada@example.com")
          const h = request?.headers ?? {}
          assert.strictEqual(h["webhook-id"], body.id)
          assert.strictEqual(h["webhook-timestamp"], seconds)
          assert.strictEqual(h["webhook-signature"], signStandard(secret, body.id, Number(seconds), request?.body ?? ""))
          assert.match(h["x-auth1-signature"] ?? "", /^[0-9a-f]{64}$/)

          const page = yield* webhooks.deliveries(caller, endpoint.id, {})
          assert.strictEqual(page.deliveries[0]?.status, "succeeded")
          assert.deepStrictEqual(page.deliveries[0]?.attempts.map((a) => [a.attempt, a.statusCode, a.error]), [[1, 200, null]])
          assert.strictEqual(yield* pass(), 0)
        }))

      it.effect("failures retry on the documented schedule with ±20 % jitter; after the 10th attempt the delivery fails", () =>
        Effect.gen(function* () {
          yield* reset
          fake.answer = status(500)
          const caller = callerOf()
          const { endpoint } = yield* (yield* Webhooks).create(caller, hook(["login.success"]))
          yield* record(caller, "login.success")
          let previous = 0
          for (let attempt = 1; attempt <= SCHEDULE_SECONDS.length + 1; attempt++) {
            assert.strictEqual(yield* pass(), 1, `attempt ${attempt}`)
            const [row] = yield* deliveryRows(caller.tenantId)
            const now = (yield* clockNow).getTime()
            if (attempt <= SCHEDULE_SECONDS.length) {
              const gap = ((SCHEDULE_SECONDS[attempt - 1] ?? 0) - previous) * 1000
              previous = SCHEDULE_SECONDS[attempt - 1] ?? 0
              const wait = (row?.nextAttemptAt.getTime() ?? 0) - now
              assert.isTrue(wait >= gap * 0.8 && wait <= gap * 1.2, `attempt ${attempt}: waits ${wait} ms for a gap of ${gap}`)
              assert.strictEqual(row?.status, "pending")
              yield* TestClock.adjust(wait - 1)
              assert.strictEqual(yield* pass(), 0, "not due a millisecond early")
              yield* TestClock.adjust(1)
            } else {
              assert.strictEqual(row?.status, "failed")
            }
          }
          const [delivery] = (yield* (yield* Webhooks).deliveries(caller, endpoint.id, {})).deliveries
          assert.strictEqual(delivery?.attempts.length, 10)
          assert.isTrue(delivery?.attempts.every((a) => a.statusCode === 500 && a.error === "HTTP 500"))
          assert.strictEqual(yield* pass(), 0)
          assert.strictEqual((yield* (yield* Webhooks).get(caller, endpoint.id)).status, "enabled")
        }))

      it.effect("429 Retry-After is honoured; connection errors are logged without a status code", () =>
        Effect.gen(function* () {
          yield* reset
          fake.answer = status(429, "120")
          const caller = callerOf()
          const { endpoint } = yield* (yield* Webhooks).create(caller, hook(["login.success"]))
          yield* record(caller, "login.success")
          yield* pass()
          const [row] = yield* deliveryRows(caller.tenantId)
          assert.isAtLeast((row?.nextAttemptAt.getTime() ?? 0) - (yield* clockNow).getTime(), 120_000)
          fake.answer = unreachable
          yield* TestClock.adjust("2 minutes")
          yield* pass()
          const [delivery] = (yield* (yield* Webhooks).deliveries(caller, endpoint.id, {})).deliveries
          assert.deepStrictEqual(delivery?.attempts.map((a) => [a.statusCode, a.error]), [[429, "HTTP 429"], [null, "connect ECONNREFUSED"]])
        }))

      it.effect("410 Gone disables the endpoint at once, with an audit entry; re-enabling resumes", () =>
        Effect.gen(function* () {
          yield* reset
          fake.answer = status(410)
          const webhooks = yield* Webhooks
          const caller = callerOf()
          const { endpoint } = yield* webhooks.create(caller, hook(["login.success"]))
          yield* record(caller, "login.success")
          yield* pass()
          const disabled = yield* webhooks.get(caller, endpoint.id)
          assert.strictEqual(disabled.status, "disabled")
          assert.strictEqual(disabled.disabledReason, "the endpoint answered 410 Gone")
          assert.deepStrictEqual(yield* auditRows(caller.tenantId), [{
            type: "webhook.disabled", subject: endpoint.id, details: { reason: "the endpoint answered 410 Gone", host: "hooks.example.com" }
          }])
          yield* record(caller, "login.success")
          yield* pass()
          assert.strictEqual((yield* deliveryRows(caller.tenantId)).length, 1, "a disabled endpoint gets no new deliveries")
          fake.answer = ok
          assert.strictEqual((yield* webhooks.update(caller, endpoint.id, { enabled: true })).status, "enabled")
          yield* record(caller, "login.success")
          assert.strictEqual(yield* pass(), 1)
          assert.deepStrictEqual((yield* deliveryRows(caller.tenantId)).map((r) => r.status).sort(), ["failed", "succeeded"])
        }))

      it.effect("an endpoint failing for disableAfterMs is disabled once; a success resets the streak", () =>
        Effect.gen(function* () {
          yield* reset
          const options = { ...defaults, disableAfterMs: 3_600_000 }
          const webhooks = yield* Webhooks
          const caller = callerOf()
          const { endpoint } = yield* webhooks.create(caller, hook(["login.success"]))
          fake.answer = status(503)
          yield* record(caller, "login.success")
          yield* pass(options)
          yield* TestClock.adjust("50 minutes")
          fake.answer = ok
          yield* record(caller, "login.success")
          yield* pass(options) // the retry and the new one both succeed: the streak ends
          fake.answer = status(503)
          yield* TestClock.adjust("50 minutes")
          yield* record(caller, "login.success")
          yield* pass(options)
          assert.strictEqual((yield* webhooks.get(caller, endpoint.id)).status, "enabled", "50 min since the first failure only")
          yield* TestClock.adjust("61 minutes")
          yield* record(caller, "login.success")
          yield* record(caller, "login.success")
          yield* pass(options)
          const after = yield* webhooks.get(caller, endpoint.id)
          assert.strictEqual(after.status, "disabled")
          assert.strictEqual(after.disabledReason, "every delivery failed for 1 h")
          assert.strictEqual((yield* auditRows(caller.tenantId)).length, 1)
        }))

      it.effect("a worker whose lease ran out cannot record its result over the new holder's", () =>
        Effect.gen(function* () {
          yield* reset
          const store = yield* WebhookStore
          const caller = callerOf()
          yield* (yield* Webhooks).create(caller, hook(["login.success"]))
          yield* record(caller, "login.success")
          yield* store.fanOut(yield* clockNow, 10)
          const [first] = yield* store.claim(yield* clockNow, 1000, 10)
          assert.strictEqual(yield* Effect.map(store.claim(yield* clockNow, 1000, 10), (c) => c.length), 0, "leased")
          yield* TestClock.adjust("2 seconds")
          const [second] = yield* store.claim(yield* clockNow, 1000, 10)
          assert.strictEqual(second?.attempts, 2)
          const attempt = { startedAt: yield* clockNow, statusCode: 200, latencyMs: 1, error: null }
          if (first === undefined || second === undefined) return assert.fail("nothing claimed")
          assert.isFalse((yield* store.finish(first, attempt, { _tag: "Succeeded" }, yield* clockNow, 1)).recorded)
          assert.isTrue((yield* store.finish(second, attempt, { _tag: "Succeeded" }, yield* clockNow, 1)).recorded)
        }))

      it.effect("a delivery keeps its short lease, renewed, while its request runs; claimable once renewals stop", () =>
        Effect.gen(function* () {
          yield* reset
          const store = yield* WebhookStore
          const sql = yield* SqlClient.SqlClient
          const caller = callerOf()
          yield* (yield* Webhooks).create(caller, hook(["login.success"]))
          yield* record(caller, "login.success")
          fake.answer = () => Effect.never
          const lockedUntil = sql<{ readonly lockedUntil: Date | null }>`
            SELECT locked_until FROM webhook_deliveries WHERE tenant_id = ${caller.tenantId}`.pipe(
            Effect.map((rows) => rows[0]?.lockedUntil?.getTime() ?? 0), Effect.orDie)
          const t0 = (yield* clockNow).getTime()
          const worker = yield* Effect.forkChild(pass(defaults))
          yield* TestClock.withLive(Effect.repeat(lockedUntil, { until: (ms) => ms > 0 }))
          assert.strictEqual(yield* lockedUntil, t0 + defaults.leaseMs)
          let last = t0 + defaults.leaseMs
          while ((yield* clockNow).getTime() < t0 + defaults.timeoutMs + 4000) {
            yield* TestClock.adjust("4 seconds")
            last = yield* TestClock.withLive(Effect.repeat(lockedUntil, { until: (ms) => ms > last, schedule: Schedule.spaced(10) }))
            assert.strictEqual((yield* store.claim(yield* clockNow, defaults.leaseMs, 10)).length, 0, "renewed: still held")
          }
          // renewals end with the request's timeout (+ one lease for recording): then the lease runs out
          yield* TestClock.adjust(defaults.timeoutMs + 2 * defaults.leaseMs)
          // (a renewal still being written is skipped by SKIP LOCKED: the next poll takes the row)
          const now = yield* clockNow
          const [again] = yield* TestClock.withLive(Effect.repeat(store.claim(now, defaults.leaseMs, 10), {
            until: (claimed) => claimed.length > 0, schedule: Schedule.spaced(20), times: 50
          }))
          assert.strictEqual(again?.attempts, 2)
          yield* Fiber.interrupt(worker)
        }))

      it.effect("rotate-secret: both secrets sign for 24 h, then only the new one", () =>
        Effect.gen(function* () {
          yield* reset
          const webhooks = yield* Webhooks
          const caller = callerOf()
          const created = yield* webhooks.create(caller, hook(["login.success"]))
          const rotated = yield* webhooks.rotateSecret(caller, created.endpoint.id)
          assert.notStrictEqual(rotated.secret, created.secret)
          assert.strictEqual(rotated.previousSecretExpiresAt, new Date((yield* clockNow).getTime() + 86_400_000).toISOString())
          const signatures = Effect.gen(function* () {
            yield* record(caller, "login.success")
            fake.requests = []
            yield* pass()
            const request = fake.requests[0]
            const ts = Number(request?.headers["webhook-timestamp"])
            const id = request?.headers["webhook-id"] ?? ""
            return (request?.headers["webhook-signature"] ?? "").split(" ").map((signature) =>
              [rotated.secret, created.secret].findIndex((s) => signStandard(s, id, ts, request?.body ?? "") === signature))
          })
          assert.deepStrictEqual(yield* signatures, [0, 1])
          yield* TestClock.adjust("24 hours")
          assert.deepStrictEqual(yield* signatures, [0])
        }))

      it.effect("delivery log: newest first, paged by cursor; retry sends a delivery again; other tenants and modes see nothing", () =>
        Effect.gen(function* () {
          yield* reset
          const webhooks = yield* Webhooks
          const caller = callerOf()
          const { endpoint } = yield* webhooks.create(caller, hook(["login.success", "user.created"]))
          for (const type of ["user.created", "login.success", "login.success"] as const) {
            yield* record(caller, type)
            yield* TestClock.adjust("1 second")
          }
          yield* pass()
          const first = yield* webhooks.deliveries(caller, endpoint.id, { limit: 2 })
          assert.strictEqual(first.deliveries.length, 2)
          const second = yield* webhooks.deliveries(caller, endpoint.id, { limit: 2, cursor: first.nextCursor ?? "" })
          assert.strictEqual(second.nextCursor, null)
          assert.deepStrictEqual([...first.deliveries, ...second.deliveries].map((d) => d.eventType), ["login.success", "login.success", "user.created"])
          const oldest = second.deliveries[0]
          if (oldest === undefined) return assert.fail("no delivery")
          const retried = yield* webhooks.retry(caller, oldest.id)
          assert.strictEqual(retried.status, "pending")
          yield* pass()
          const again = (yield* webhooks.deliveries(caller, endpoint.id, { status: "succeeded" })).deliveries.find((d) => d.id === oldest.id)
          assert.strictEqual(again?.attempts.length, 2)
          assert.strictEqual(fake.requests.filter((r) => r.headers["webhook-id"] === oldest.eventId).length, 2)

          const badCursor = yield* Effect.flip(webhooks.deliveries(caller, endpoint.id, { cursor: "nope" }))
          assert.strictEqual(badCursor.code, "VALIDATION_FAILED")
          for (const other of [callerOf(), { ...caller, mode: "test" as const }]) {
            assert.strictEqual((yield* Effect.flip(webhooks.deliveries(other, endpoint.id, {}))).code, "NOT_FOUND")
            assert.strictEqual((yield* Effect.flip(webhooks.retry(other, oldest.id))).code, "NOT_FOUND")
            assert.strictEqual((yield* Effect.flip(webhooks.remove(other, endpoint.id))).code, "NOT_FOUND")
            assert.deepStrictEqual((yield* webhooks.list(other)).endpoints, [])
          }
          yield* webhooks.remove(caller, endpoint.id)
          assert.deepStrictEqual(yield* deliveryRows(caller.tenantId), [])
        }))

      it.effect("registration refuses URLs that are or resolve to private addresses", () =>
        Effect.gen(function* () {
          const webhooks = yield* Webhooks
          const caller = callerOf()
          for (const url of ["http://127.0.0.1/x", "http://[::ffff:127.0.0.1]/x", "http://169.254.169.254/x", "http://loopback.test/x"]) {
            const refused = yield* Effect.flip(webhooks.create(caller, { url, events: ["login.success"] }))
            assert.strictEqual(refused.code, "VALIDATION_FAILED", url)
            assert.strictEqual(refused._tag === "ValidationFailed" ? refused.field : undefined, "url")
          }
          assert.strictEqual((yield* webhooks.create(caller, { url: "https://public.test/x", events: ["login.success"] })).endpoint.status, "enabled")
          // Not resolvable yet: accepted, deliveries retry until it is.
          yield* webhooks.create(caller, { url: "https://later.test/x", events: ["login.success"] })
          const patched = yield* Effect.flip(webhooks.update(caller, (yield* webhooks.list(caller)).endpoints[0]!.id, { url: "http://10.1.2.3/" }))
          assert.strictEqual(patched.code, "VALIDATION_FAILED")
        }).pipe(Effect.provide(Layer.fresh(WebhooksLive.layer).pipe(
          Layer.provide(Sender.layerWith({ allowPrivate: false, requireHttps: false })),
          Layer.provide(Resolver.layerTest({ "loopback.test": ["127.0.0.1"], "public.test": ["93.184.215.14"] })),
          Layer.provide(Secrets.layerTest)
        ))))
    })
  })
}
