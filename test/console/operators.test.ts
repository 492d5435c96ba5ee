/** The console's operators and sessions store (#14) on PGlite and, with SESAME_TEST_DATABASE_URL, PostgreSQL (TestClock). */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import * as OperatorsLive from "../../src/console/Operators.ts"
import { Operators, type SessionPolicy, TOUCH_EVERY_MS } from "../../src/console/Operators.ts"
import { randomId, sha256 } from "../../src/platform/Crypto.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"

const MINUTE = 60_000
const policy: SessionPolicy = { idleMs: 30 * MINUTE, absoluteMs: 12 * 60 * MINUTE }
const client = { ip: "203.0.113.5", userAgent: "Test/1.0" }
const email = () => `${randomId("op").toLowerCase()}@example.com`
const now = Effect.map(TestClock.testClockWith((clock) => clock.currentTimeMillis), (ms) => new Date(ms))

const suite = (db: Layer.Layer<PgClient.PgClient>) =>
  it.layer(OperatorsLive.layer.pipe(Layer.provideMerge(db)))((it) => {
    it.effect("adds, changes the role of, lists and removes an operator", () =>
      Effect.gen(function* () {
        const operators = yield* Operators
        const address = email()
        const added = yield* operators.add(address, "viewer")
        assert.match(added.id, /^op_/)
        assert.deepInclude(added, { email: address, role: "viewer" })
        const promoted = yield* operators.add(address, "owner")
        assert.deepInclude(promoted, { id: added.id, role: "owner" }, "adding again changes the role of the same operator")
        assert.deepStrictEqual((yield* operators.list).filter((o) => o.email === address).map((o) => [o.id, o.role]), [[added.id, "owner"]])
        assert.deepStrictEqual(yield* operators.byEmail(address), promoted)

        assert.isTrue(yield* operators.remove(address))
        assert.isFalse(yield* operators.remove(address), "a second remove finds nobody")
        assert.isUndefined(yield* operators.byEmail(address))
        assert.notInclude((yield* operators.list).map((o) => o.email), address)
        // the removed row stays (the audit log names it); adding the address again is a new operator
        const again = yield* operators.add(address, "admin")
        assert.notStrictEqual(again.id, added.id)
        assert.strictEqual(again.role, "admin")
      }))

    it.effect("normalises addresses and refuses invalid ones", () =>
      Effect.gen(function* () {
        const operators = yield* Operators
        const local = randomId("ada").toLowerCase()
        const added = yield* operators.add(`  ${local.toUpperCase()}@Example.COM `, "admin")
        assert.strictEqual(added.email, `${local}@example.com`)
        assert.strictEqual((yield* operators.byEmail(`${local}@EXAMPLE.com`))?.id, added.id)
        assert.strictEqual((yield* operators.add(`${local}@example.com`, "viewer")).id, added.id, "one operator per normalised address")
        for (const bad of ["", "no-at-sign", "two@@example.com", "a@b", "spaced out@example.com"]) {
          const error = yield* Effect.flip(operators.add(bad, "owner"))
          assert.strictEqual(error._tag, "OperatorInvalid", bad)
        }
        assert.isUndefined(yield* operators.byEmail("not an address"))
        assert.isTrue(yield* operators.remove(`${local.toUpperCase()}@example.com`))
      }))

    it.effect("finds a session by its token only (the token itself is not stored)", () =>
      Effect.gen(function* () {
        const operators = yield* Operators
        const sql = yield* PgClient.PgClient
        const operator = yield* operators.add(email(), "viewer")
        const { token, session } = yield* operators.openSession(operator, policy, client)
        assert.match(token, /^[A-Za-z0-9_-]{43}$/)
        assert.match(session.id, /^cs_/)
        const found = yield* operators.session(token, policy)
        assert.strictEqual(found?.id, session.id)
        assert.deepStrictEqual(found?.operator, operator)
        assert.strictEqual(found?.expiresAt.getTime(), (yield* now).getTime() + policy.absoluteMs)
        assert.isUndefined(yield* operators.session(`${token.slice(0, 42)}${token[42] === "A" ? "B" : "A"}`, policy))
        assert.isUndefined(yield* operators.session("short", policy))
        assert.isUndefined(yield* operators.session("", policy))
        const rows = yield* sql<{ tokenHash: Uint8Array; ip: string; userAgent: string }>`
          SELECT token_hash, ip, user_agent FROM console_sessions WHERE id = ${session.id}`
        assert.deepStrictEqual(Buffer.from(rows[0]?.tokenHash ?? new Uint8Array()), sha256(token))
        assert.deepInclude(rows[0], { ip: client.ip, userAgent: client.userAgent })
        const stored = yield* sql<{ n: number }>`SELECT count(*)::int AS n FROM console_sessions WHERE position(${token} in row(console_sessions.*)::text) > 0`
        assert.strictEqual(stored[0]?.n, 0)
      }))

    it.effect("writes last_seen_at at most once a minute, and idleness counts from the last write", () =>
      Effect.gen(function* () {
        const operators = yield* Operators
        const operator = yield* operators.add(email(), "viewer")
        const t0 = yield* now
        const { token, session } = yield* operators.openSession(operator, policy, client)
        const lastSeen = Effect.map(operators.sessionsOf(operator.id), (rows) => rows.find((r) => r.id === session.id)?.lastSeenAt.getTime())

        yield* TestClock.adjust(TOUCH_EVERY_MS - 1000)
        assert.isDefined(yield* operators.session(token, policy))
        assert.strictEqual(yield* lastSeen, t0.getTime(), "not written within the minute")
        yield* TestClock.adjust(1000)
        assert.isDefined(yield* operators.session(token, policy))
        assert.strictEqual(yield* lastSeen, t0.getTime() + TOUCH_EVERY_MS, "written once a minute has passed")

        // idle: alive just before 30 minutes since the last write, ended at 30 minutes
        yield* TestClock.adjust(policy.idleMs - 1000)
        assert.isDefined(yield* operators.session(token, policy))
        yield* TestClock.adjust(policy.idleMs)
        assert.isUndefined(yield* operators.session(token, policy))
        assert.isUndefined(yield* operators.session(token, policy), "an ended session stays ended")
      }))

    it.effect("ends a session at its absolute end however active it is", () =>
      Effect.gen(function* () {
        const operators = yield* Operators
        const operator = yield* operators.add(email(), "admin")
        const { token } = yield* operators.openSession(operator, policy, client)
        const steps = policy.absoluteMs / (20 * MINUTE)
        for (let i = 1; i < steps; i++) {
          yield* TestClock.adjust(20 * MINUTE)
          assert.isDefined(yield* operators.session(token, policy), `alive after ${i * 20} minutes`)
        }
        yield* TestClock.adjust(20 * MINUTE - 1)
        assert.isDefined(yield* operators.session(token, policy))
        yield* TestClock.adjust(1)
        assert.isUndefined(yield* operators.session(token, policy))
      }))

    it.effect("revoking ends one session; removing the operator ends all of theirs", () =>
      Effect.gen(function* () {
        const operators = yield* Operators
        const operator = yield* operators.add(email(), "owner")
        const a = yield* operators.openSession(operator, policy, client)
        const b = yield* operators.openSession(operator, policy, client)
        const c = yield* operators.openSession(operator, policy, client)
        assert.isTrue(yield* operators.revokeSession(a.session.id))
        assert.isFalse(yield* operators.revokeSession(a.session.id))
        assert.isUndefined(yield* operators.session(a.token, policy))
        assert.isDefined(yield* operators.session(b.token, policy))

        assert.isTrue(yield* operators.remove(operator.email))
        assert.isUndefined(yield* operators.session(b.token, policy))
        assert.isUndefined(yield* operators.session(c.token, policy))
        const rows = yield* operators.sessionsOf(operator.id)
        assert.strictEqual(rows.length, 3)
        assert.isTrue(rows.every((r) => r.revokedAt !== null))
        assert.isFalse(yield* operators.revokeSession(c.session.id), "already ended by the removal")
        // the same address added again does not get the old sessions back
        yield* operators.add(operator.email, "owner")
        assert.isUndefined(yield* operators.session(b.token, policy))
      }))

    it.effect("concurrent sign-ins get distinct sessions; concurrent revokes of one session: one wins", () =>
      Effect.gen(function* () {
        const operators = yield* Operators
        const operator = yield* operators.add(email(), "viewer")
        const opened = yield* Effect.all(Array.from({ length: 12 }, () => operators.openSession(operator, policy, client)), { concurrency: "unbounded" })
        assert.strictEqual(new Set(opened.map((o) => o.token)).size, 12)
        assert.strictEqual(new Set(opened.map((o) => o.session.id)).size, 12)
        const found = yield* Effect.forEach(opened, (o) => operators.session(o.token, policy), { concurrency: "unbounded" })
        assert.deepStrictEqual(found.map((s) => s?.id), opened.map((o) => o.session.id))

        const revoked = yield* Effect.forEach(opened, (o) =>
          Effect.all([operators.revokeSession(o.session.id), operators.revokeSession(o.session.id), operators.session(o.token, policy)], { concurrency: "unbounded" }),
        { concurrency: "unbounded" })
        for (const [first, second] of revoked) assert.strictEqual(Number(first) + Number(second), 1, "exactly one revoke ends it")
        const after = yield* Effect.forEach(opened, (o) => operators.session(o.token, policy), { concurrency: "unbounded" })
        assert.isTrue(after.every((s) => s === undefined))

        // concurrent adds of one address: one operator, some role of those asked
        const address = email()
        const added = yield* Effect.all((["viewer", "admin", "owner", "admin"] as const).map((role) => operators.add(address, role)), { concurrency: "unbounded" })
        assert.strictEqual(new Set(added.map((o) => o.id)).size, 1)
        assert.strictEqual((yield* operators.list).filter((o) => o.email === address).length, 1)
      }))
  })

describe("Operators on PGlite", () => suite(pgliteLayer))
describe.skipIf(!hasPostgres)("Operators on PostgreSQL", () => suite(postgresLayer))
