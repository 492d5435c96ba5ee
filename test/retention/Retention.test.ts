import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { Audit } from "../../src/audit/Audit.ts"
import { Outbox } from "../../src/delivery/Outbox.ts"
import { CodeStore } from "../../src/passwordless/CodeStore.ts"
import { ExchangeCodes } from "../../src/passwordless/ExchangeCodes.ts"
import { AuthRequestId } from "../../src/domain/Ids.ts"
import { randomId, sha256 } from "../../src/platform/Crypto.ts"
import * as RetentionLive from "../../src/retention/Retention.ts"
import { Retention } from "../../src/retention/Retention.ts"
import { Events } from "../../src/webhooks/Events.ts"
import { Webhooks } from "../../src/webhooks/Webhooks.ts"
import { defaults as workerDefaults, runOnce } from "../../src/webhooks/Worker.ts"
import type { WebhookDeliveryId } from "../../src/api/Webhooks.ts"
import { backends, eventually, newMessage, TENANT } from "../delivery/fixtures.ts"
import { rowFor } from "../passwordless/CodeStoreContract.ts"
import { testConfig } from "../support/Server.ts"
import { callerOf } from "../webhooks/fixtures.ts"
import { H, left, policy, resetAll, retentionOn } from "./fixtures.ts"

const at = (ms: number) => new Date(ms)
const key = { tenantId: TENANT, mode: "live" as const }
const caller = { ...callerOf("live"), tenantId: TENANT }

const event = (name: string, type: "login.success" | "user.created", ms: number) =>
  Effect.flatMap(Events, (events) => events.record({ tenantId: TENANT, mode: "live", type, payload: { name } }, at(ms)))

const eventsLeft = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ readonly v: string }>`SELECT COALESCE(payload->>'name', type) AS v FROM events`).pipe(
  Effect.map((rows) => rows.map((r) => r.v).sort()), Effect.orDie)

const eventId = (name: string) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) =>
    sql<{ readonly id: string }>`SELECT id FROM events WHERE payload->>'name' = ${name}`).pipe(
    Effect.map((rows) => rows[0]?.id ?? ""), Effect.orDie)

const withPayload = Effect.flatMap(SqlClient.SqlClient, (sql) =>
  sql<{ readonly id: string }>`SELECT id FROM messages WHERE payload_enc IS NOT NULL`).pipe(
  Effect.map((rows) => rows.map((r) => r.id).sort()), Effect.orDie)

const sorted = (values: ReadonlyArray<string>) => [...values].sort()

/** A live message delivered at `ms`: claimed alone and marked sent, as the worker does. */
const sent = (ms: number) =>
  Effect.gen(function* () {
    const outbox = yield* Outbox
    const id = yield* outbox.enqueue(newMessage(), at(ms))
    yield* outbox.claim({ now: at(ms), leaseMs: 60_000, limit: 1, only: { tenantId: TENANT, id } })
    yield* outbox.markSent({ tenantId: TENANT, id }, "smtp", at(ms))
    return id
  })

/** Old rows of three kinds for the concurrency test: `old` past their period, `young` within it. */
const seedMany = (old: number, young: number) =>
  Effect.gen(function* () {
    const store = yield* CodeStore
    const audit = yield* Audit
    for (let i = 0; i < old + young; i++) {
      const ms = i < old ? H + i : 23 * H + i
      yield* store.insert(rowFor(key, { createdAt: at(0), lastSentAt: at(0), expiresAt: at(ms) }))
      yield* event(`e${i}`, "user.created", ms)
    }
    yield* TestClock.setTime(H)
    for (let i = 0; i < old; i++) yield* audit.record({ tenantId: TENANT, mode: "live", type: "key.created", subject: `a${i}`, details: {} })
    yield* TestClock.setTime(23 * H)
    for (let i = 0; i < young; i++) yield* audit.record({ tenantId: TENANT, mode: "live", type: "key.created", subject: `y${i}`, details: {} })
    yield* Effect.flatMap(SqlClient.SqlClient, (sql) => sql`UPDATE events SET dispatched_at = created_at`).pipe(Effect.orDie)
  })

for (const [name, db] of backends) {
  describe(`retention on ${name}`, () => {
    it.layer(retentionOn(db), { timeout: "120 seconds" })((it) => {
      it.effect("a sweep removes exactly the rows past their period, in batches, and keeps what is still needed", () =>
        Effect.gen(function* () {
          yield* resetAll
          const codes = yield* CodeStore
          const exchange = yield* ExchangeCodes
          const outbox = yield* Outbox
          const audit = yield* Audit
          const webhooks = yield* Webhooks
          const retention = yield* Retention

          // Auth requests: cutoff at 24 h is 22 h (2 h after expiry). One was verified; one is still verifiable.
          const request = (expiresMs: number) => rowFor(key, { createdAt: at(0), lastSentAt: at(0), expiresAt: at(expiresMs) })
          const requests = [H, 2 * H, 3 * H, 21 * H, 22 * H, 22 * H + 1, 30 * H].map(request)
          for (const row of requests) yield* codes.insert(row)
          const verified = yield* codes.consume(key, { id: requests[0]!.id, proof: { _tag: "Code", hash: sha256("code") } }, at(H / 2))
          assert.strictEqual(verified._tag, "Verified")

          // Exchange codes: cutoff 23 h (1 h after expiry). The first is used.
          const exchangeCode = (name: string, expiresMs: number) =>
            exchange.insert({
              codeHash: sha256(name), tenantId: TENANT, mode: "live", authRequestId: AuthRequestId.make(randomId("ar")),
              codeChallenge: null, sealedResponse: new Uint8Array([1]), createdAt: at(0), expiresAt: at(expiresMs)
            })
          yield* exchangeCode("x1", H)
          yield* exchangeCode("x23", 23 * H)
          yield* exchangeCode("x23plus", 23 * H + 1)
          yield* exchangeCode("x25", 25 * H)
          assert.strictEqual((yield* exchange.redeem(key, sha256("x1"), null, null, at(H / 2)))._tag, "Redeemed")

          // Messages: live rows go after 10 h (cutoff 14 h), test ones after 5 h (19 h), held payloads after 1 h (23 h).
          const queued = yield* outbox.enqueue(newMessage(), at(2 * H))
          yield* sent(13 * H)
          yield* sent(14 * H) // the edge: exactly 10 h old at 24 h
          const sent20 = yield* sent(20 * H)
          const failed = yield* outbox.enqueue(newMessage(), at(12 * H))
          yield* outbox.claim({ now: at(12 * H), leaseMs: 60_000, limit: 1, only: { tenantId: TENANT, id: failed } })
          yield* outbox.markFailed({ tenantId: TENANT, id: failed }, 1, "550 mailbox unavailable", at(12 * H))
          yield* outbox.enqueue(newMessage({ suppressed: true }), at(H))
          const decoy23 = yield* outbox.enqueue(newMessage({ suppressed: true }), at(23 * H))
          const decoy23plus = yield* outbox.enqueue(newMessage({ suppressed: true }), at(23 * H + 1))
          yield* outbox.enqueue(newMessage({ mode: "test" }), at(H))
          yield* outbox.enqueue(newMessage({ mode: "test" }), at(19 * H))
          const test19plus = yield* outbox.enqueue(newMessage({ mode: "test" }), at(19 * H + 1))
          const testDecoy = yield* outbox.enqueue(newMessage({ mode: "test", suppressed: true }), at(20 * H))
          assert.deepStrictEqual(yield* left("messages", "status").pipe(Effect.map((s) => new Set(s))),
            new Set(["queued", "sent", "failed", "suppressed"]))

          // Events and deliveries: cutoff 18 h for both (6 h). The endpoint takes login.success only.
          const { endpoint } = yield* webhooks.create(caller, { url: "https://hooks.example.com/a", events: ["login.success"] })
          yield* event("eZ", "user.created", H)
          yield* event("eX", "user.created", 18 * H)
          yield* event("eY", "user.created", 18 * H + 1)
          yield* event("e1", "login.success", H)
          yield* TestClock.adjust(H)
          assert.strictEqual(yield* runOnce(workerDefaults), 1) // d1 finishes at 1 h
          yield* TestClock.adjust(17 * H)
          yield* event("e2", "login.success", 18 * H)
          assert.strictEqual(yield* runOnce(workerDefaults), 1) // d2 finishes at 18 h: the edge
          yield* TestClock.adjust(1)
          yield* event("e3", "login.success", 2 * H)
          yield* event("e4", "login.success", 3 * H)
          assert.strictEqual(yield* runOnce(workerDefaults), 2) // both finish just after the cutoff
          const [e3, e4] = [yield* eventId("e3"), yield* eventId("e4")]
          const d4 = yield* Effect.flatMap(SqlClient.SqlClient, (sql) =>
            sql<{ readonly id: WebhookDeliveryId }>`SELECT id FROM webhook_deliveries WHERE event_id = ${e4}`).pipe(Effect.orDie)
          yield* webhooks.retry(caller, d4[0]!.id) // pending again: its event must stay
          yield* event("eU", "login.success", H) // not fanned out yet

          // Audit: cutoff 16 h (8 h). The clock is at 18 h now.
          const auditAt = (subject: string) => audit.record({ tenantId: TENANT, mode: "live", type: "key.created", subject, details: {} })
          yield* TestClock.setTime(0)
          yield* auditAt("a0")
          yield* TestClock.setTime(16 * H)
          yield* auditAt("a16")
          yield* TestClock.setTime(16 * H + 1)
          yield* auditAt("a16plus")

          yield* TestClock.setTime(24 * H)
          const counts = yield* retention.sweep
          assert.deepStrictEqual(counts, {
            webhookDeliveries: 2, events: 5, authRequests: 5, exchangeCodes: 2,
            testMessages: 2, messages: 4, payloads: 2, audit: 2
          })
          assert.deepStrictEqual(yield* left("auth_requests"), sorted([requests[5]!.id, requests[6]!.id]))
          assert.deepStrictEqual(yield* left("exchange_codes", "code_hash"), sorted(
            ["x23plus", "x25"].map((n) => `\\x${sha256(n).toString("hex")}`)))
          assert.deepStrictEqual(yield* left("messages"), sorted([queued, sent20, decoy23, decoy23plus, test19plus, testDecoy]))
          // payloads: the queued one is the worker's, the young decoy's is within its hour, a test-outbox one stays readable
          assert.deepStrictEqual(yield* withPayload, sorted([queued, decoy23plus, test19plus]))
          const outboxed = yield* outbox.listTest(TENANT, undefined, 10)
          assert.deepStrictEqual(outboxed.map((m) => [m.id, m.payload !== undefined]), [[test19plus, true]])
          assert.deepStrictEqual(yield* eventsLeft, ["e3", "e4", "eU", "eY"])
          assert.deepStrictEqual(yield* left("webhook_deliveries", "event_id"), sorted([e3, e4]))
          assert.deepStrictEqual(yield* left("webhook_attempts", "delivery_id").pipe(Effect.map((ids) => ids.length)), 2)
          assert.deepStrictEqual(yield* left("audit_log", "subject"), ["a16plus"])
          assert.strictEqual((yield* webhooks.deliveries(caller, endpoint.id, {}))?.deliveries.length, 2)

          // Nothing more is due at the same instant; the delivered live message's row goes once its own period ends.
          assert.isTrue(Object.values(yield* retention.sweep).every((n) => n === 0))
          yield* TestClock.setTime(30 * H - 1)
          assert.include(yield* left("messages"), sent20)
          yield* TestClock.setTime(30 * H)
          yield* retention.sweep
          assert.notInclude(yield* left("messages"), sent20)
        }))

      it.effect("concurrent sweeps (several processes) both succeed and together remove exactly the old rows once", () =>
        Effect.gen(function* () {
          yield* resetAll
          const retention = yield* Retention
          yield* seedMany(15, 3)
          const before = { requests: (yield* left("auth_requests")).length, events: (yield* eventsLeft).length }
          assert.deepStrictEqual(before, { requests: 18, events: 18 })
          yield* TestClock.setTime(24 * H + H / 2)
          const [a, b] = yield* Effect.all([retention.sweep, retention.sweep], { concurrency: 2 })
          assert.strictEqual(a.authRequests + b.authRequests, 15)
          assert.strictEqual(a.events + b.events, 15)
          assert.strictEqual(a.audit + b.audit, 15)
          assert.strictEqual((yield* left("auth_requests")).length, 3)
          assert.deepStrictEqual(yield* eventsLeft, ["e15", "e16", "e17"])
          assert.deepStrictEqual(yield* left("audit_log", "subject"), ["y0", "y1", "y2"])
        }))

      // The loop as the server runs it (servicesOn wires RetentionLive.layer), its pauses on the TestClock.
      const serverLoop = (enabled: boolean) =>
        RetentionLive.layer.pipe(Layer.provide(testConfig({ retention: { ...policy, enabled, intervalMs: 600_000 } })))
      const codesLeft = Effect.map(left("exchange_codes", "code_hash"), (rows) => rows.length)
      // The sweep's statements run on the real clock: give them a moment, or wait until `check` holds.
      const settle = TestClock.withLive(Effect.sleep(150))
      const until = <R>(check: Effect.Effect<boolean, never, R>) =>
        TestClock.withLive(eventually(check, 3000))

      // PGlite only: on PostgreSQL the pool's connect timeout runs on the TestClock too, and a connection
      // the woken sweep opens while `adjust` is still moving the clock times out (a test artefact).
      it.effect.skipIf(name !== "PGlite")("the server's loop sweeps after 0.5–1.5 intervals, again and again; RETENTION_ENABLED=false stops it", () =>
        Effect.gen(function* () {
          yield* resetAll
          const expiredCode = Effect.flatMap(ExchangeCodes, (exchange) =>
            exchange.insert({
              codeHash: sha256(randomId("x")), tenantId: TENANT, mode: "live", authRequestId: AuthRequestId.make(randomId("ar")),
              codeChallenge: null, sealedResponse: new Uint8Array([1]), createdAt: at(0), expiresAt: at(1)
            }))
          yield* expiredCode
          yield* Effect.scoped(Effect.gen(function* () {
            yield* Layer.build(serverLoop(false))
            yield* settle
            yield* TestClock.adjust("1 day")
            yield* settle
            assert.strictEqual(yield* codesLeft, 1)
          }))
          yield* Effect.scoped(Effect.gen(function* () {
            yield* Layer.build(serverLoop(true))
            yield* settle // the loop is asleep now
            yield* TestClock.adjust(300_000 - 1)
            yield* settle
            assert.strictEqual(yield* codesLeft, 1)
            yield* TestClock.adjust(600_000 + 1)
            yield* until(Effect.map(codesLeft, (n) => n === 0))
            // and again, a pause later (minute by minute: the loop goes back to sleep on the real clock)
            yield* expiredCode
            let waited = 0
            while ((yield* codesLeft) > 0 && waited < 900_000) {
              yield* TestClock.adjust(60_000)
              waited += 60_000
              yield* settle
            }
            assert.strictEqual(yield* codesLeft, 0)
          }))
        }))
    })
  })
}
