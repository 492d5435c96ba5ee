import { assert, describe, it } from "@effect/vitest"
import { Data, Effect } from "effect"
import { SqlClient } from "effect/sql"
import { AuthRequestId } from "../../src/domain/Ids.ts"
import { Outbox } from "../../src/delivery/Outbox.ts"
import { randomId } from "../../src/platform/Crypto.ts"
import { backends, events, newMessage, reset, row, TENANT, withOutbox } from "./fixtures.ts"

const T0 = new Date("2030-01-01T00:00:00Z")
const at = (ms: number) => new Date(T0.getTime() + ms)
const LEASE = 60_000

class Boom extends Data.TaggedError("Boom") {}

for (const [name, db] of backends) {
  describe(`OutboxPg on ${name}`, () => {
    it.layer(withOutbox(db), { excludeTestServices: true, timeout: "120 seconds" })((it) => {
      it.effect("test mode: stored as sent by test-outbox, listed decrypted newest first, never claimed", () =>
        Effect.gen(function* () {
          yield* reset
          const outbox = yield* Outbox
          const first = yield* outbox.enqueue(newMessage({ mode: "test", recipient: "a@example.com" }), at(0))
          const second = yield* outbox.enqueue(newMessage({ mode: "test", recipient: "b@example.com" }), at(1000))
          yield* outbox.enqueue(newMessage({ mode: "live", recipient: "a@example.com" }), at(2000))

          const stored = yield* row(first)
          assert.strictEqual(stored?.status, "sent")
          assert.strictEqual(stored?.provider, "test-outbox")
          assert.strictEqual(stored?.sentAt?.getTime(), at(0).getTime())

          const all = yield* outbox.listTest(TENANT, undefined, 10)
          assert.deepStrictEqual(all.map((m) => m.id), [second, first])
          const payload = all[1]?.payload
          assert.isTrue(payload !== undefined && !("deferred" in payload))
          if (payload !== undefined && !("deferred" in payload)) {
            assert.strictEqual(payload.subject, "Your sign-in code")
            assert.strictEqual(payload.text, "Your code: 123456")
            assert.strictEqual(payload.html, "<p>Your code: <b>123456</b></p>")
          }
          assert.strictEqual(all[1]?.createdAt.getTime(), at(0).getTime())
          assert.deepStrictEqual((yield* outbox.listTest(TENANT, "a@example.com", 10)).map((m) => m.id), [first])
          assert.strictEqual((yield* outbox.listTest(TENANT, undefined, 1)).length, 1)

          const claimed = yield* outbox.claim({ now: at(60_000), leaseMs: LEASE, limit: 10 })
          assert.strictEqual(claimed.length, 1)
          assert.strictEqual(claimed[0]?._tag === "Deliver" && claimed[0].recipient, "a@example.com")
        }))

      it.effect("the payload is sealed and bound to its row", () =>
        Effect.gen(function* () {
          yield* reset
          const outbox = yield* Outbox
          const sql = yield* SqlClient.SqlClient
          const a = yield* outbox.enqueue(newMessage(), at(0))
          const b = yield* outbox.enqueue(newMessage({ recipient: "eve@example.com" }), at(0))
          assert.isFalse(Buffer.from((yield* row(a))?.payloadEnc ?? []).toString("latin1").includes("123456"))
          yield* sql`UPDATE messages SET payload_enc = (SELECT payload_enc FROM messages WHERE id = ${a}) WHERE id = ${b}`
          const [claimed] = yield* outbox.claim({ now: at(0), leaseMs: LEASE, limit: 1, only: { tenantId: TENANT, id: b } })
          assert.strictEqual(claimed?._tag, "Unreadable")
        }))

      it.effect("claim holds a lease; when a crashed worker's lease runs out the row is claimed again", () =>
        Effect.gen(function* () {
          yield* reset
          const outbox = yield* Outbox
          const id = yield* outbox.enqueue(newMessage(), at(0))
          const [first] = yield* outbox.claim({ now: at(0), leaseMs: LEASE, limit: 10 })
          assert(first?._tag === "Deliver")
          assert.strictEqual(first.id, id)
          assert.strictEqual(first.attempts, 1)
          assert.strictEqual(first.email.text, "Your code: 123456")
          assert.strictEqual((yield* row(id))?.status, "sending")
          assert.strictEqual((yield* row(id))?.lockedUntil?.getTime(), at(LEASE).getTime())

          assert.strictEqual((yield* outbox.claim({ now: at(LEASE - 1), leaseMs: LEASE, limit: 10 })).length, 0)
          const [again] = yield* outbox.claim({ now: at(LEASE), leaseMs: LEASE, limit: 10 })
          assert.strictEqual(again?._tag === "Deliver" && again.attempts, 2)
        }))

      it.effect("claim takes only due rows, oldest first, up to the limit, or just the one asked for", () =>
        Effect.gen(function* () {
          yield* reset
          const outbox = yield* Outbox
          const a = yield* outbox.enqueue(newMessage(), at(0))
          const b = yield* outbox.enqueue(newMessage(), at(10))
          const c = yield* outbox.enqueue(newMessage(), at(20))
          const claim = (now: number, limit: number, only?: string) =>
            outbox.claim({ now: at(now), leaseMs: LEASE, limit, only: only === c ? { tenantId: TENANT, id: c } : undefined })
              .pipe(Effect.map((rows) => rows.map((r) => r.id)))
          assert.deepStrictEqual(yield* claim(15, 1), [a])
          assert.deepStrictEqual(yield* claim(15, 5, c), [])
          assert.deepStrictEqual(yield* claim(15, 5), [b])
          assert.deepStrictEqual(yield* claim(30, 5, c), [c])
        }))

      it.effect("an expired request's message is skipped at claim time and its payload dropped", () =>
        Effect.gen(function* () {
          yield* reset
          const outbox = yield* Outbox
          const expiring = yield* outbox.enqueue(newMessage({ expiresAt: at(300_000) }), at(0))
          const fresh = yield* outbox.enqueue(newMessage({ expiresAt: at(600_000) }), at(0))
          const claimed = yield* outbox.claim({ now: at(300_000), leaseMs: LEASE, limit: 10 })
          assert.deepStrictEqual(claimed.map((c) => [c.id, c._tag]).sort(), [[expiring, "Skipped"], [fresh, "Deliver"]].sort())
          const skipped = yield* row(expiring)
          assert.strictEqual(skipped?.status, "skipped")
          assert.strictEqual(skipped?.payloadEnc, null)
          assert.strictEqual(skipped?.attempts, 0)
        }))

      it.effect("markSent closes the message and wipes a live payload; deliveryOf reports the newest message", () =>
        Effect.gen(function* () {
          yield* reset
          const outbox = yield* Outbox
          const authRequestId = AuthRequestId.make(randomId("ar"))
          yield* outbox.enqueue(newMessage({ authRequestId }), at(0))
          const resent = yield* outbox.enqueue(newMessage({ authRequestId }), at(1000))
          yield* outbox.claim({ now: at(1000), leaseMs: LEASE, limit: 1, only: { tenantId: TENANT, id: resent } })
          yield* outbox.markSent({ tenantId: TENANT, id: resent }, "smtp", at(2000))
          const sent = yield* row(resent)
          assert.strictEqual(sent?.payloadEnc, null)
          assert.strictEqual(sent?.sentAt?.getTime(), at(2000).getTime())
          assert.deepStrictEqual(yield* outbox.deliveryOf(TENANT, authRequestId), {
            status: "sent", provider: "smtp", attempts: 1, lastError: null
          })
          assert.isUndefined(yield* outbox.deliveryOf(TENANT, AuthRequestId.make(randomId("ar"))))
        }))

      it.effect("retry and failure are fenced by their attempt; failing raises delivery.failed without the recipient", () =>
        Effect.gen(function* () {
          yield* reset
          const outbox = yield* Outbox
          const message = newMessage()
          const id = yield* outbox.enqueue(message, at(0))
          const key = { tenantId: TENANT, id }
          yield* outbox.claim({ now: at(0), leaseMs: LEASE, limit: 1 })
          yield* outbox.markRetry(key, 1, at(10_000), "ECONNECTION: refused")
          const queued = yield* row(id)
          assert.strictEqual(queued?.status, "queued")
          assert.strictEqual(queued?.lastError, "ECONNECTION: refused")
          assert.strictEqual(queued?.nextAttemptAt.getTime(), at(10_000).getTime())
          assert.strictEqual(queued?.lockedUntil, null)

          yield* outbox.claim({ now: at(10_000), leaseMs: LEASE, limit: 1 })
          yield* outbox.markFailed(key, 1, "stale worker", at(11_000))
          assert.strictEqual((yield* row(id))?.status, "sending")
          assert.strictEqual((yield* events).length, 0)

          yield* outbox.markFailed(key, 2, "EENVELOPE 550: mailbox unavailable", at(11_000))
          const failed = yield* row(id)
          assert.strictEqual(failed?.status, "failed")
          assert.strictEqual(failed?.payloadEnc, null)
          const [event] = yield* events
          assert.strictEqual(event?.type, "delivery.failed")
          assert.strictEqual(event?.mode, "live")
          assert.deepStrictEqual(event?.payload, {
            messageId: id, authRequestId: message.authRequestId, channel: "email", error: "EENVELOPE 550: mailbox unavailable"
          })
        }))

      it.effect("enqueue runs in the caller's transaction", () =>
        Effect.gen(function* () {
          yield* reset
          const outbox = yield* Outbox
          const sql = yield* SqlClient.SqlClient
          const authRequestId = AuthRequestId.make(randomId("ar"))
          yield* sql.withTransaction(
            Effect.andThen(outbox.enqueue(newMessage({ authRequestId }), at(0)), Effect.fail(new Boom()))
          ).pipe(Effect.flip)
          assert.isUndefined(yield* outbox.deliveryOf(TENANT, authRequestId))
          yield* sql.withTransaction(outbox.enqueue(newMessage({ authRequestId }), at(0)))
          assert.strictEqual((yield* outbox.deliveryOf(TENANT, authRequestId))?.status, "queued")
        }))
    })
  })
}
