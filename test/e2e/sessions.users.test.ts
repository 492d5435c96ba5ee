/** Users: lookup, export, and erasure (no table keeps the email or phone of a deleted user). */
import { assert, describe, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, type Layer } from "effect"
import type { UserId } from "../../src/domain/Ids.ts"
import { policyOf } from "../../src/domain/TenantSettings.ts"
import type { Database } from "../../src/platform/Database.ts"
import { Sessions } from "../../src/sessions/Sessions.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, errorCode, serverLayer } from "../support/Server.ts"
import { endUser, eventsOf, signIn, tenantClients, uniqueEmail } from "../sessions/HttpFixtures.ts"

const outcome = Effect.match({ onSuccess: () => "OK", onFailure: errorCode })

/** Every text, varchar and jsonb column of every table, and the rows in which `value` appears. */
const whereHeld = (value: string) =>
  Effect.gen(function*() {
    const sql = yield* PgClient.PgClient
    const columns = yield* sql<{ tableName: string; columnName: string }>`
      SELECT table_name, column_name FROM information_schema.columns
      WHERE table_schema = current_schema() AND data_type IN ('text', 'character varying', 'jsonb', 'json', 'ARRAY')`
    assert.isAbove(columns.length, 20)
    const found: Array<string> = []
    for (const { tableName, columnName } of columns) {
      const [row] = yield* sql<{ n: number }>`
        SELECT count(*)::int AS n FROM ${sql(tableName)} WHERE strpos(${sql(columnName)}::text, ${value}) > 0`
      if ((row?.n ?? 0) > 0) found.push(`${tableName}.${columnName}`)
    }
    return found
  }).pipe(Effect.orDie)

const suite = (name: string, database: Layer.Layer<Database>) =>
  layer(serverLayer(database), { timeout: 120_000, excludeTestServices: true })(name, (it) => {
    it.effect("get, find by email or phone, validation", () =>
      Effect.gen(function*() {
        const { test, live } = yield* tenantClients
        const email = uniqueEmail("find")
        const s = yield* signIn(test, email)
        assert.deepStrictEqual(yield* test.users.get({ params: { userId: s.user.id } }), s.user)
        assert.deepStrictEqual((yield* test.users.find({ query: { email: email.toUpperCase() } })).users, [s.user])
        assert.deepStrictEqual((yield* live.users.find({ query: { email } })).users, [])
        assert.deepStrictEqual((yield* test.users.find({ query: { email: uniqueEmail("nobody") } })).users, [])
        assert.deepStrictEqual((yield* test.users.find({ query: { phone: "+14155550000" } })).users, [])
        assert.strictEqual(yield* outcome(test.users.find({ query: {} })), "VALIDATION_FAILED")
        assert.strictEqual(yield* outcome(test.users.find({ query: { email, phone: "+14155550000" } })), "VALIDATION_FAILED")
        assert.strictEqual(yield* outcome(test.users.find({ query: { email: "not-an-email" } })), "INVALID_EMAIL")
        assert.strictEqual(yield* outcome(test.users.find({ query: { phone: "call me" } })), "INVALID_PHONE")
        assert.strictEqual(yield* outcome(test.users.get({ params: { userId: "usr_0000000000000000000000" as UserId } })), "NOT_FOUND")
      }))

    it.effect("export holds the user, sessions, auth requests, messages and events", () =>
      Effect.gen(function*() {
        const { test } = yield* tenantClients
        const email = uniqueEmail("export")
        const a = yield* signIn(test, email)
        yield* signIn(test, email)
        const exported = yield* test.users.export({ params: { userId: a.user.id } })
        assert.strictEqual(exported.user.id, a.user.id)
        assert.strictEqual(exported.sessions.length, 2)
        assert.strictEqual(exported.authRequests.length, 2)
        assert.isTrue(exported.authRequests.every((r) => r.identifier === email && r.verifiedAt !== null))
        assert.strictEqual(exported.messages.length, 2)
        assert.deepStrictEqual(exported.events.map((e) => e.type).sort(), ["login.success", "login.success", "user.created", "user.verified", "user.verified"])
      }))

    it.effect("erasure: sessions revoked, no table holds the email or phone, an anonymous audit event stays", () =>
      Effect.gen(function*() {
        const { tenant, test, keys } = yield* tenantClients
        const email = uniqueEmail("erase")
        const phone = `+1415555${String(Math.floor(Math.random() * 10000)).padStart(4, "0")}`
        const keep = yield* signIn(test, uniqueEmail("keep"))
        const first = yield* signIn(test, email)
        // The same person also signs in by SMS (the phone is bound to the account first).
        const sql = yield* PgClient.PgClient
        yield* Effect.orDie(sql`UPDATE users SET phone = ${phone} WHERE tenant_id = ${tenant.id} AND id = ${first.user.id}`)
        const bySms = yield* (yield* Sessions).signIn({
          tenantId: tenant.id, mode: "test", channel: "sms", email: null, phone, amr: ["otp", "sms"],
          clientIp: "198.51.100.7", userAgent: "SMS app", policy: policyOf({}, "Acme")
        })
        assert.strictEqual(bySms.user.id, first.user.id)
        assert.deepStrictEqual((yield* test.users.find({ query: { phone } })).users.map((u) => u.id), [first.user.id])
        // curl-style: an unencoded "+" arrives as a space and is still understood
        const url = yield* baseUrl
        const raw = yield* Effect.promise(() =>
          fetch(`${url}/v1/users?phone=${phone}`, { headers: { authorization: `Bearer ${keys.test}` } }).then((r) => r.json()))
        assert.deepStrictEqual((raw as { users: Array<{ id: string }> }).users.map((u) => u.id), [first.user.id])
        // A pending request, a wrong guess (identifier failure counter) and rate-limit buckets for the email.
        const pending = yield* test.passwordless.send({ payload: { email } })
        const wrong = pending.code === "000000" ? "111111" : "000000"
        yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: pending.authRequestId, code: wrong } }))
        assert.includeMembers(yield* whereHeld(email), [
          "users.email", "auth_requests.identifier", "auth_requests.email", "messages.recipient", "events.payload",
          "identifier_failures.identifier", "rate_limits.bucket"
        ])
        assert.includeMembers(yield* whereHeld(phone), ["users.phone", "events.payload"])

        yield* test.users.delete({ params: { userId: first.user.id } })
        assert.deepStrictEqual(yield* whereHeld(email), [])
        assert.deepStrictEqual(yield* whereHeld(phone), [])
        assert.deepStrictEqual(yield* whereHeld("198.51.100.7"), [])

        assert.strictEqual(yield* outcome(test.users.get({ params: { userId: first.user.id } })), "NOT_FOUND")
        assert.strictEqual(yield* outcome(test.users.delete({ params: { userId: first.user.id } })), "NOT_FOUND")
        assert.deepStrictEqual((yield* test.users.find({ query: { email } })).users, [])
        const verdict = yield* test.sessions.verify({ payload: { token: first.session.accessToken } })
        assert.deepInclude(verdict, { valid: false, reason: "SESSION_REVOKED" })
        assert.notProperty(verdict, "user")
        assert.strictEqual(yield* outcome((yield* endUser(bySms.session.accessToken)).token.userinfo()), "TOKEN_INVALID")
        assert.strictEqual(yield* outcome((yield* endUser()).token.refresh({ payload: { refreshToken: first.session.refreshToken } })), "TOKEN_INVALID")
        assert.deepStrictEqual((yield* eventsOf(tenant.id, "user.deleted")).map((e) => e.payload), [{ userId: first.user.id }])
        const revoked = yield* eventsOf(tenant.id, "session.revoked")
        assert.deepStrictEqual(revoked.map((e) => e.payload["reason"]), ["user_deleted", "user_deleted"])
        // Someone else's data is untouched, and the address can sign up again as a new user.
        assert.isTrue((yield* test.sessions.verify({ payload: { token: keep.session.accessToken } })).valid)
        const again = yield* signIn(test, email)
        assert.isTrue(again.isNewUser)
        assert.notStrictEqual(again.user.id, first.user.id)
      }))
  })

suite("users over HTTP (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => suite("users over HTTP (PostgreSQL)", postgresLayer))
