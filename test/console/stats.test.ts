/**
 * The console's read-only SQL (#14) on PGlite, over data written by the real services: the overview's
 * numbers per tenant, mode and window (src/console/Stats.ts) and the auth-request log
 * (src/console/RequestQueries.ts), asserted exactly.
 *
 * The test's clock is set in the year 2100, far ahead of the wall clock that this process's delivery
 * worker runs on: the worker never finds these live messages due, so they stay queued until the test
 * moves them itself, with the Outbox calls a worker makes (claim, then markFailed or markRetry).
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import gl from "google-libphonenumber"
import type { CurrentKey } from "../../src/api/Security.ts"
import { cursorOf, make as makeQueries } from "../../src/console/RequestQueries.ts"
import { emptyStats, make as makeStats, windowOf } from "../../src/console/Stats.ts"
import { Outbox } from "../../src/delivery/Outbox.ts"
import { AllScopes, ApiKeyId, type AuthRequestId, MessageId, type Mode, type TenantId } from "../../src/domain/Ids.ts"
import { servicesOn } from "../../src/Layers.ts"
import { Passwordless } from "../../src/passwordless/Passwordless.ts"
import { Tenants } from "../../src/tenants/Tenants.ts"
import { pgliteLayer } from "../support/Db.ts"
import { testConfig } from "../support/Server.ts"

const util = gl.PhoneNumberUtil.getInstance()
const example = (type: number) => util.format(util.getExampleNumberForType("GB", type), gl.PhoneNumberFormat.E164)
const MOBILE = example(gl.PhoneNumberType.MOBILE)
const PREMIUM = example(gl.PhoneNumberType.PREMIUM_RATE)

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** 2100-01-01 12:30 UTC. */
const T = Date.UTC(2100, 0, 1, 12, 30)

const callerOf = (tenantId: TenantId, mode: Mode): CurrentKey["Service"] =>
  ({ keyId: ApiKeyId.make("key_consolestatstest00"), tenantId, mode, scopes: AllScopes })

const wrong = (code: string | undefined) => code === "000000" ? "111111" : "000000"

const messageOf = (id: AuthRequestId) =>
  Effect.flatMap(SqlClient.SqlClient, (sql) => sql<{ readonly id: string }>`SELECT id FROM messages WHERE auth_request_id = ${id}`).pipe(
    Effect.map((rows) => MessageId.make(rows[0]?.id ?? "")), Effect.orDie)

/** Tenant "Busy": test-mode sends, verifies, wrong codes and a risk block; live sends left queued, failed, retried. */
const seed = Effect.gen(function* () {
  const pw = yield* Passwordless
  const outbox = yield* Outbox
  const tenants = yield* Tenants
  const busy = yield* tenants.create({ name: "Busy", settings: {} })
  const quiet = yield* tenants.create({ name: "Quiet", settings: {} })
  const test = callerOf(busy.id, "test")
  const live = callerOf(busy.id, "live")

  yield* TestClock.setTime(T - 3 * DAY)
  const old = yield* pw.send(test, { email: "old@example.com" })
  yield* pw.verify(test, { authRequestId: old.authRequestId, code: old.code ?? "" })

  yield* TestClock.setTime(T - 2 * HOUR)
  const a = yield* pw.send(test, { email: "a@example.com" })
  yield* pw.verify(test, { authRequestId: a.authRequestId, code: a.code ?? "" })
  const b = yield* pw.send(test, { email: "b@example.com" })
  const bWrong = yield* Effect.flip(pw.verify(test, { authRequestId: b.authRequestId, code: wrong(b.code) }))
  assert.strictEqual(bWrong._tag, "CodeInvalid")
  yield* pw.verify(test, { authRequestId: b.authRequestId, code: b.code ?? "" })
  const c = yield* pw.send(test, { email: "c@example.com" })
  for (let i = 0; i < 5; i++) yield* Effect.flip(pw.verify(test, { authRequestId: c.authRequestId, code: wrong(c.code) }))
  const sms = yield* pw.send(test, { channel: "sms", phone: MOBILE })
  const blocked = yield* Effect.flip(pw.send(test, { channel: "sms", phone: PREMIUM }))
  assert.strictEqual(blocked._tag, "RiskBlocked")

  yield* TestClock.setTime(T - 4 * MINUTE)
  const failed = yield* pw.send(live, { email: "f@example.com" })
  const failedId = yield* messageOf(failed.authRequestId)
  yield* outbox.claim({ now: new Date(T - 4 * MINUTE), leaseMs: MINUTE, limit: 1, only: { tenantId: busy.id, id: failedId } })
  yield* outbox.markFailed({ tenantId: busy.id, id: failedId }, 1, "550 5.1.1 <f@example.com>: Recipient address rejected", new Date(T - 4 * MINUTE))

  yield* TestClock.setTime(T - 3 * MINUTE)
  const queued = yield* pw.send(live, { email: "g@example.com" })

  yield* TestClock.setTime(T - 2 * MINUTE)
  const retried = yield* pw.send(live, { email: "h@example.com" })
  const retriedId = yield* messageOf(retried.authRequestId)
  yield* outbox.claim({ now: new Date(T - 2 * MINUTE), leaseMs: MINUTE, limit: 1, only: { tenantId: busy.id, id: retriedId } })
  yield* outbox.markRetry({ tenantId: busy.id, id: retriedId }, 1, new Date(T + 10 * MINUTE), "421 try again later")
  const pending = yield* pw.send(test, { email: "d@example.com" })

  yield* TestClock.setTime(T)
  return { busy, quiet, old, a, b, c, sms, pending, failed, queued, retried }
})

const zeroFailures = emptyStats(windowOf("24h", T)).failures

describe("console stats and request log", () => {
  layer(servicesOn(pgliteLayer).pipe(Layer.provide(testConfig())), { timeout: 120_000, excludeTestServices: true })((it) => {
    it.effect("counts sends, verifications, failures, risk blocks, delivery failures and the queue per tenant, mode and window", () =>
      Effect.gen(function* () {
        const stats = yield* makeStats
        const { busy, quiet } = yield* seed

        const day = yield* stats.overview("test", "24h")
        assert.deepStrictEqual(day.window, {
          range: "24h", since: new Date(Date.UTC(2099, 11, 31, 13)), until: new Date(T), bucketMs: HOUR, buckets: 24
        })
        assert.isFalse(day.tenants.has(quiet.id))
        const testDay = day.tenants.get(busy.id)
        assert.isDefined(testDay)
        if (testDay === undefined) return
        assert.deepStrictEqual(testDay.sends, { email: 4, sms: 1 })
        assert.deepStrictEqual(testDay.perBucket.map((b, i) => [i, b.email, b.sms]).filter(([, e, s]) => (e ?? 0) + (s ?? 0) > 0), [[21, 3, 1], [23, 1, 0]])
        assert.strictEqual(testDay.created, 5)
        assert.strictEqual(testDay.createdVerified, 2)
        assert.strictEqual(testDay.verified, 2)
        assert.deepStrictEqual(testDay.failures, {
          ...zeroFailures, CODE_INVALID: 6, TOO_MANY_ATTEMPTS: 1, CODE_EXPIRED: 1, RISK_BLOCKED: 1
        })
        assert.deepStrictEqual(testDay.riskBlocks, { premium_rate: 1 })
        assert.strictEqual(testDay.deliveryFailed, 0)
        assert.deepStrictEqual(testDay.queue, { depth: 0, oldest: null })

        const week = yield* stats.overview("test", "7d")
        assert.deepStrictEqual(week.window.since, new Date(Date.UTC(2099, 11, 26)))
        const testWeek = week.tenants.get(busy.id)
        assert.deepStrictEqual(testWeek?.sends, { email: 5, sms: 1 })
        assert.deepStrictEqual(testWeek?.perBucket.map((b) => b.email + b.sms), [0, 0, 0, 1, 0, 0, 5])
        assert.strictEqual(testWeek?.created, 6)
        assert.strictEqual(testWeek?.verified, 3)
        assert.strictEqual(testWeek?.createdVerified, 3)
        assert.strictEqual(testWeek?.failures.CODE_INVALID, 6)

        const liveDay = (yield* stats.overview("live", "24h")).tenants.get(busy.id)
        assert.deepStrictEqual(liveDay?.sends, { email: 3, sms: 0 })
        assert.strictEqual(liveDay?.created, 3)
        assert.strictEqual(liveDay?.verified, 0)
        assert.deepStrictEqual(liveDay?.failures, { ...zeroFailures, DELIVERY_FAILED: 1 })
        assert.strictEqual(liveDay?.deliveryFailed, 1)
        assert.deepStrictEqual(liveDay?.riskBlocks, {})
        assert.deepStrictEqual(liveDay?.queue, { depth: 2, oldest: new Date(T - 3 * MINUTE) })

        // A day later the window holds nothing of this, and the queue is still there.
        yield* TestClock.setTime(T + DAY)
        const next = (yield* stats.overview("live", "24h")).tenants.get(busy.id)
        assert.deepStrictEqual(next?.sends, { email: 0, sms: 0 })
        assert.strictEqual(next?.failures.DELIVERY_FAILED, 0)
        assert.strictEqual(next?.failures.CODE_EXPIRED, 0)
        assert.deepStrictEqual(next?.queue, { depth: 2, oldest: new Date(T - 3 * MINUTE) })
        assert.isFalse((yield* stats.overview("test", "24h")).tenants.has(busy.id))

        const names = (yield* stats.tenants).map((t) => t.name)
        assert.deepStrictEqual(names.filter((n) => n === "Busy" || n === "Quiet").sort(), ["Busy", "Quiet"])
      }).pipe(Effect.provide(TestClock.layer())))

    it.effect("lists a tenant's requests newest first, by status, identifier or id, a page at a time, and tells one request's story", () =>
      Effect.gen(function* () {
        const pw = yield* Passwordless
        const queries = yield* makeQueries
        const tenant = yield* (yield* Tenants).create({ name: "Log", settings: {} })
        const test = callerOf(tenant.id, "test")
        yield* TestClock.setTime(T)
        const first = yield* pw.send(test, { email: "Ann@Example.com" })
        yield* TestClock.setTime(T + MINUTE)
        const second = yield* pw.send(test, { email: "bob@example.com" })
        yield* Effect.flip(pw.verify(test, { authRequestId: second.authRequestId, code: wrong(second.code) }))
        yield* pw.verify(test, { authRequestId: second.authRequestId, code: second.code ?? "" })
        yield* TestClock.setTime(T + 2 * MINUTE)
        const third = yield* pw.send(test, { channel: "sms", phone: MOBILE })
        // the first (5 minutes) has expired; the third has a minute left
        yield* TestClock.setTime(T + 6 * MINUTE)
        const now = new Date(T + 6 * MINUTE)
        const base = { tenantId: tenant.id, mode: "test" as const, now, status: undefined, identifier: undefined, id: undefined, before: undefined, limit: 10 }

        const all = yield* queries.list(base)
        assert.deepStrictEqual(all.map((r) => r.id), [third.authRequestId, second.authRequestId, first.authRequestId])
        assert.deepStrictEqual(all.map((r) => [r.identifier, r.attempts, r.maxAttempts, r.deliveryStatus, r.deliveryProvider]), [
          [MOBILE, 0, 5, "sent", "test-outbox"], ["bob@example.com", 2, 5, "sent", "test-outbox"], ["ann@example.com", 0, 5, "sent", "test-outbox"]
        ])
        assert.isNumber(all[0]?.riskScore)
        assert.isNull(all[1]?.riskScore)
        assert.deepStrictEqual((yield* queries.list({ ...base, mode: "live" })).length, 0)

        const ids = (rows: ReadonlyArray<{ readonly id: string }>) => rows.map((r) => r.id)
        assert.deepStrictEqual(ids(yield* queries.list({ ...base, status: "verified" })), [second.authRequestId])
        assert.deepStrictEqual(ids(yield* queries.list({ ...base, status: "expired" })), [first.authRequestId])
        assert.deepStrictEqual(ids(yield* queries.list({ ...base, status: "pending" })), [third.authRequestId])
        assert.deepStrictEqual(ids(yield* queries.list({ ...base, status: "locked" })), [])
        assert.deepStrictEqual(ids(yield* queries.list({ ...base, identifier: "ann@example.com" })), [first.authRequestId])
        assert.deepStrictEqual(ids(yield* queries.list({ ...base, id: third.authRequestId })), [third.authRequestId])

        const page1 = yield* queries.list({ ...base, limit: 1 })
        assert.strictEqual(page1.length, 2) // one more than the limit: there is an older page
        const cursor = page1[0]
        if (cursor === undefined) return
        const page2 = yield* queries.list({ ...base, limit: 1, before: { createdAt: cursor.createdAt, id: cursor.id } })
        assert.deepStrictEqual(ids(page2), [second.authRequestId, first.authRequestId])
        assert.match(cursorOf(cursor), /^\d+\.ar_/)

        const story = yield* queries.detail(tenant.id, "test", second.authRequestId)
        assert.strictEqual(story?.row.verifiedAt?.getTime(), T + MINUTE)
        assert.deepStrictEqual(story?.messages.map((m) => [m.status, m.provider]), [["sent", "test-outbox"]])
        assert.deepStrictEqual(story?.audit.map((a) => a.type), ["login.failed", "login.success"])
        assert.isUndefined(yield* queries.detail(tenant.id, "live", second.authRequestId))
      }).pipe(Effect.provide(TestClock.layer())))
  })
})
