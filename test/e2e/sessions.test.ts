import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import type { Database } from "../../src/platform/Database.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { errorCode, serverLayer } from "../support/Server.ts"
import { client, endUser, eventsOf, scopedClient, signIn, tally, tenantClients } from "../sessions/HttpFixtures.ts"

const outcome = Effect.match({ onSuccess: () => "OK", onFailure: errorCode })

const suite = (name: string, database: Layer.Layer<Database>) =>
  layer(serverLayer(database), { timeout: 120_000, excludeTestServices: true })(name, (it) => {
    it.effect("verify → refresh → logout: introspection, rotation, userinfo, revocation", () =>
      Effect.gen(function*() {
        const { tenant, test } = yield* tenantClients
        const first = yield* signIn(test)
        const checked = yield* test.sessions.verify({ payload: { token: first.session.accessToken } })
        assert.isTrue(checked.valid)
        assert.strictEqual(checked.user?.id, first.user.id)
        assert.deepInclude(checked.session, {
          id: first.session.id, userId: first.user.id, revokedAt: null, amr: ["otp", "email"],
          ipAddress: client.ipAddress, userAgent: client.userAgent
        })
        const listed = yield* test.sessions.list({ params: { userId: first.user.id } })
        assert.deepStrictEqual(listed.sessions.map((s) => s.id), [first.session.id])

        const refreshed = yield* (yield* endUser()).token.refresh({ payload: { refreshToken: first.session.refreshToken } })
        assert.strictEqual(refreshed.session.id, first.session.id)
        assert.notStrictEqual(refreshed.session.refreshToken, first.session.refreshToken)
        assert.notStrictEqual(refreshed.session.accessToken, first.session.accessToken)
        assert.strictEqual(refreshed.user.id, first.user.id)
        assert.isTrue((yield* test.sessions.verify({ payload: { token: refreshed.session.accessToken } })).valid)

        const me = yield* endUser(refreshed.session.accessToken)
        const info = yield* me.token.userinfo()
        assert.deepInclude(info, { sub: first.user.id, sid: first.session.id, email: first.user.email ?? "", email_verified: true })
        assert.notProperty(info, "phone_number")
        yield* me.token.logout()
        assert.strictEqual(errorCode(yield* Effect.flip(me.token.userinfo())), "TOKEN_INVALID")
        const after = yield* test.sessions.verify({ payload: { token: refreshed.session.accessToken } })
        assert.strictEqual(after.valid, false)
        assert.strictEqual(after.reason, "SESSION_REVOKED")
        assert.isNotNull(after.session?.revokedAt)
        const again = yield* Effect.flip((yield* endUser()).token.refresh({ payload: { refreshToken: refreshed.session.refreshToken } }))
        assert.strictEqual(errorCode(again), "TOKEN_INVALID")
        assert.deepStrictEqual((yield* test.sessions.list({ params: { userId: first.user.id } })).sessions, [])
        const revoked = yield* eventsOf(tenant.id, "session.revoked")
        assert.deepStrictEqual(revoked.map((e) => e.payload), [{ sessionId: first.session.id, userId: first.user.id, reason: "logout" }])
      }))

    it.effect("a malformed refresh token of any length is 401 TOKEN_INVALID (never VALIDATION_FAILED)", () =>
      Effect.gen(function*() {
        const app = yield* endUser()
        for (const refreshToken of ["", "rt_short", "x".repeat(600), `rt_${"A".repeat(43)}${"B".repeat(5_000)}`]) {
          const refused = yield* Effect.flip(app.token.refresh({ payload: { refreshToken } }))
          assert.strictEqual(errorCode(refused), "TOKEN_INVALID", `length ${refreshToken.length}`)
        }
      }))

    it.effect("reuse of a rotated refresh token revokes the session (RFC 9700 §4.14.2)", () =>
      Effect.gen(function*() {
        const { tenant, test } = yield* tenantClients
        const anon = yield* endUser()
        const first = yield* signIn(test)
        const second = yield* anon.token.refresh({ payload: { refreshToken: first.session.refreshToken } })
        const reuse = yield* Effect.flip(anon.token.refresh({ payload: { refreshToken: first.session.refreshToken } }))
        assert.strictEqual(errorCode(reuse), "REFRESH_TOKEN_REUSED")
        assert.strictEqual((reuse as { status?: number }).status, 401)
        const successor = yield* Effect.flip(anon.token.refresh({ payload: { refreshToken: second.session.refreshToken } }))
        assert.strictEqual(errorCode(successor), "TOKEN_INVALID")
        const checked = yield* test.sessions.verify({ payload: { token: second.session.accessToken } })
        assert.deepInclude(checked, { valid: false, reason: "SESSION_REVOKED" })
        const events = yield* eventsOf(tenant.id, "session.revoked")
        assert.deepStrictEqual(events.map((e) => [e.mode, e.payload["reason"]]), [["test", "refresh_token_reused"]])
        for (const bad of ["rt_nope", `rt_${"A".repeat(43)}`, ""]) {
          assert.strictEqual(errorCode(yield* Effect.flip(anon.token.refresh({ payload: { refreshToken: bad } }))), "TOKEN_INVALID")
        }
      }))

    it.effect("20 concurrent refreshes with one token: exactly one success; the session is then revoked", () =>
      Effect.gen(function*() {
        const { test } = yield* tenantClients
        const anon = yield* endUser()
        const first = yield* signIn(test)
        const results = yield* Effect.forEach(Array.from({ length: 20 }), () =>
          anon.token.refresh({ payload: { refreshToken: first.session.refreshToken } }).pipe(
            Effect.map((r) => ({ code: "OK", refreshToken: r.session.refreshToken })),
            Effect.catch((e) => Effect.succeed({ code: errorCode(e), refreshToken: "" }))
          ), { concurrency: "unbounded" })
        assert.deepStrictEqual(tally(results.map((r) => r.code)), { OK: 1, REFRESH_TOKEN_REUSED: 19 })
        const winner = results.find((r) => r.code === "OK")?.refreshToken ?? ""
        assert.strictEqual(yield* outcome(anon.token.refresh({ payload: { refreshToken: winner } })), "TOKEN_INVALID")
        assert.strictEqual(yield* outcome(anon.token.refresh({ payload: { refreshToken: first.session.refreshToken } })), "REFRESH_TOKEN_REUSED")
      }))

    it.effect("revocation by session and by user; idempotent; unknown ids are NOT_FOUND", () =>
      Effect.gen(function*() {
        const { tenant, test } = yield* tenantClients
        const a = yield* signIn(test)
        const b = yield* signIn(test, a.user.email ?? "")
        const c = yield* signIn(test, a.user.email ?? "")
        assert.strictEqual((yield* test.sessions.list({ params: { userId: a.user.id } })).sessions.length, 3)
        yield* test.sessions.revoke({ params: { sessionId: a.session.id } })
        yield* test.sessions.revoke({ params: { sessionId: a.session.id } })
        assert.deepInclude(yield* test.sessions.verify({ payload: { token: a.session.accessToken } }), { valid: false, reason: "SESSION_REVOKED" })
        assert.isTrue((yield* test.sessions.verify({ payload: { token: b.session.accessToken } })).valid)
        assert.deepStrictEqual(yield* test.sessions.revokeAll({ params: { userId: a.user.id } }), { revoked: 2 })
        assert.deepStrictEqual(yield* test.sessions.revokeAll({ params: { userId: a.user.id } }), { revoked: 0 })
        assert.isFalse((yield* test.sessions.verify({ payload: { token: c.session.accessToken } })).valid)
        const events = yield* eventsOf(tenant.id, "session.revoked")
        assert.deepStrictEqual(events.map((e) => e.payload["sessionId"]).sort(), [a.session.id, b.session.id, c.session.id].sort())
        assert.strictEqual(yield* outcome(test.sessions.revoke({ params: { sessionId: "ses_0000000000000000000000" as never } })), "NOT_FOUND")
        assert.strictEqual(yield* outcome(test.sessions.revokeAll({ params: { userId: "usr_0000000000000000000000" as never } })), "NOT_FOUND")
        assert.strictEqual(yield* outcome(test.sessions.list({ params: { userId: "usr_0000000000000000000000" as never } })), "NOT_FOUND")
      }))

    it.effect("test and live never mix; scopes are enforced; other tenants' tokens are invalid", () =>
      Effect.gen(function*() {
        const { tenant, test, live } = yield* tenantClients
        const s = yield* signIn(test)
        assert.deepStrictEqual(yield* live.sessions.verify({ payload: { token: s.session.accessToken } }), { valid: false, reason: "TOKEN_INVALID" })
        assert.strictEqual(yield* outcome(live.sessions.list({ params: { userId: s.user.id } })), "NOT_FOUND")
        assert.strictEqual(yield* outcome(live.sessions.revoke({ params: { sessionId: s.session.id } })), "NOT_FOUND")
        assert.strictEqual(yield* outcome(live.users.get({ params: { userId: s.user.id } })), "NOT_FOUND")
        assert.isTrue((yield* test.sessions.verify({ payload: { token: s.session.accessToken } })).valid)
        const other = yield* tenantClients
        assert.deepStrictEqual(yield* other.test.sessions.verify({ payload: { token: s.session.accessToken } }), { valid: false, reason: "TOKEN_INVALID" })
        const sendOnly = yield* scopedClient(tenant.id, ["passwordless:send"])
        assert.strictEqual(yield* outcome(sendOnly.sessions.verify({ payload: { token: s.session.accessToken } })), "SCOPE_MISSING")
        const readOnly = yield* scopedClient(tenant.id, ["sessions:read", "users:read"])
        assert.strictEqual(yield* outcome(readOnly.sessions.revoke({ params: { sessionId: s.session.id } })), "SCOPE_MISSING")
        assert.strictEqual(yield* outcome(readOnly.users.delete({ params: { userId: s.user.id } })), "SCOPE_MISSING")
        assert.isTrue((yield* readOnly.sessions.verify({ payload: { token: s.session.accessToken } })).valid)
        // The end-user endpoints take no API key: a key in place of an access token is just an invalid token.
        assert.strictEqual(yield* outcome((yield* endUser(undefined)).token.userinfo()), "TOKEN_INVALID")
      }))
  })

suite("sessions over HTTP (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => suite("sessions over HTTP (PostgreSQL)", postgresLayer))
