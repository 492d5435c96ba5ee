import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { createLocalJWKSet, decodeProtectedHeader, jwtVerify } from "jose"
import type { Mode, TenantId } from "../../src/domain/Ids.ts"
import { randomId, sha256 } from "../../src/platform/Crypto.ts"
import { Secrets } from "../../src/platform/Secrets.ts"
import { Sessions, type SignInInput } from "../../src/sessions/Sessions.ts"
import * as SessionsLive from "../../src/sessions/SessionsLive.ts"
import { TokenSigner } from "../../src/sessions/TokenSigner.ts"
import * as TokenSignerLive from "../../src/sessions/TokenSignerLive.ts"
import * as UserStoreLive from "../../src/sessions/UserStore.ts"
import { UserStore } from "../../src/sessions/UserStore.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { configLayer, ISSUER, newTenant, nowDate, policy } from "./Fixtures.ts"

const DAY = 86_400
const seconds = (d: Date) => Math.floor(d.getTime() / 1000)
const email = () => `${randomId("ada").toLowerCase()}@example.com`

const input = (tenantId: TenantId, overrides: Partial<SignInInput> = {}): SignInInput => ({
  tenantId, mode: "live", channel: "email", email: email(), phone: null, amr: ["otp", "email"],
  clientIp: "203.0.113.7", userAgent: "Test/1.0", policy, ...overrides
})

const signIn = (i: SignInInput) => Effect.flatMap(Sessions, (s) => s.signIn(i))
const query = <A extends object>(f: (sql: PgClient.PgClient) => Effect.Effect<ReadonlyArray<A>, unknown>) =>
  Effect.orDie(Effect.flatMap(PgClient.PgClient, f))

const services = (db: Layer.Layer<PgClient.PgClient>) =>
  Layer.mergeAll(SessionsLive.layer, UserStoreLive.layer).pipe(
    Layer.provideMerge(TokenSignerLive.layer),
    Layer.provideMerge(Layer.mergeAll(db, Secrets.layerTest, configLayer))
  )

const suite = (db: Layer.Layer<PgClient.PgClient>) =>
  it.layer(services(db))((it) => {
    it.effect("first sign-in creates the user, the next one reuses it", () =>
      Effect.gen(function*() {
        const tenant = newTenant()
        const first = input(tenant)
        const t0 = yield* nowDate
        const a = yield* signIn(first)
        assert.isTrue(a.isNewUser)
        assert.match(a.user.id, /^usr_/)
        assert.deepInclude(a.user, {
          email: first.email, phone: null, emailVerifiedAt: t0.toISOString(), phoneVerifiedAt: null,
          createdAt: t0.toISOString(), lastLoginAt: t0.toISOString()
        })
        assert.match(a.session.id, /^ses_/)
        assert.match(a.session.refreshToken, /^rt_[A-Za-z0-9_-]{43}$/)
        assert.deepInclude(a.session, {
          tokenType: "Bearer", expiresIn: 3600, expiresAt: seconds(t0) + 3600, refreshExpiresAt: seconds(t0) + 30 * DAY
        })

        yield* TestClock.adjust("2 hours")
        const t1 = yield* nowDate
        const b = yield* signIn({ ...first, amr: ["link"] })
        assert.isFalse(b.isNewUser)
        assert.strictEqual(b.user.id, a.user.id)
        assert.strictEqual(b.user.lastLoginAt, t1.toISOString())
        assert.strictEqual(b.user.emailVerifiedAt, t0.toISOString())
        assert.strictEqual(b.user.createdAt, t0.toISOString())
        assert.notStrictEqual(b.session.id, a.session.id)
        assert.deepStrictEqual(yield* (yield* UserStore).find({ tenantId: tenant, mode: "live" }, a.user.id), Option.some(b.user))
      }))

    it.effect("tokens: the access token verifies through the JWKS, the id token carries OpenID claims", () =>
      Effect.gen(function*() {
        const tenant = newTenant()
        const now = yield* nowDate
        const { user, session, idToken } = yield* signIn(input(tenant))
        const signer = yield* TokenSigner
        const jwks = createLocalJWKSet({ keys: [...(yield* signer.jwks("live")).keys] })
        const access = yield* Effect.promise(() =>
          jwtVerify(session.accessToken, jwks, { issuer: ISSUER, audience: tenant, typ: "at+jwt", algorithms: ["ES256"], currentDate: now }))
        assert.deepInclude(access.payload, { mode: "live", sub: user.id, aud: tenant, tid: tenant, sid: session.id, amr: ["otp", "email"], email: user.email, exp: session.expiresAt })
        assert.notProperty(access.payload, "phone_number")
        assert.strictEqual((yield* signer.verifyAccess(session.accessToken, now, tenant)).sid, session.id)

        const id = yield* Effect.promise(() => jwtVerify(idToken, jwks, { issuer: ISSUER, audience: tenant, currentDate: now }))
        assert.strictEqual(decodeProtectedHeader(idToken).typ, "JWT")
        assert.deepInclude(id.payload, { mode: "live", sub: user.id, sid: session.id, email: user.email, email_verified: true, auth_time: seconds(now) })
        assert.strictEqual((yield* Effect.flip(signer.verifyAccess(idToken, now)))._tag, "TokenInvalid")
      }))

    it.effect("tenants and modes never share users", () =>
      Effect.gen(function*() {
        const tenant = newTenant()
        const same = input(tenant)
        const live = yield* signIn(same)
        const test = yield* signIn({ ...same, mode: "test" })
        const other = yield* signIn({ ...same, tenantId: newTenant() })
        assert.isTrue(live.isNewUser && test.isNewUser && other.isNewUser)
        assert.strictEqual(new Set([live.user.id, test.user.id, other.user.id]).size, 3)
        const users = yield* UserStore
        const testMode: Mode = "test"
        assert.isTrue(Option.isNone(yield* users.find({ tenantId: tenant, mode: testMode }, live.user.id)))
        assert.isTrue(Option.isSome(yield* users.find({ tenantId: tenant, mode: testMode }, test.user.id)))
      }))

    it.effect("sms: the user is found by phone and the phone is marked verified", () =>
      Effect.gen(function*() {
        const tenant = newTenant()
        const phone = `+1415555${String(Math.floor(Math.random() * 10_000)).padStart(4, "0")}`
        const now = yield* nowDate
        const sms = input(tenant, { channel: "sms", email: null, phone, amr: ["otp", "sms"] })
        const a = yield* signIn(sms)
        assert.deepInclude(a.user, { email: null, phone, emailVerifiedAt: null, phoneVerifiedAt: now.toISOString() })
        const claims = yield* (yield* TokenSigner).verifyAccess(a.session.accessToken, now)
        assert.strictEqual(claims.phone_number, phone)
        assert.strictEqual(claims.email, null)
        const b = yield* signIn(sms)
        assert.isFalse(b.isNewUser)
        assert.strictEqual(b.user.id, a.user.id)
      }))

    it.effect("rows: refresh token stored hashed, session lifetime absolute, events written", () =>
      Effect.gen(function*() {
        const tenant = newTenant()
        const now = yield* nowDate
        const first = input(tenant, { policy: { ...policy, refreshTokenTtlSeconds: 365 * DAY } })
        const a = yield* signIn(first)
        // The refresh token never outlives the session's absolute lifetime (ASVS 10.4.8).
        assert.strictEqual(a.session.refreshExpiresAt, seconds(now) + 90 * DAY)
        const [session] = yield* query((sql) => sql<{ mode: string; userId: string; amr: unknown; clientIp: string; userAgent: string; expiresAt: Date; revokedAt: Date | null }>`
          SELECT mode, user_id, amr, client_ip, user_agent, expires_at, revoked_at FROM sessions WHERE tenant_id = ${tenant} AND id = ${a.session.id}`)
        assert.deepStrictEqual(session, {
          mode: "live", userId: a.user.id, amr: ["otp", "email"], clientIp: "203.0.113.7", userAgent: "Test/1.0",
          expiresAt: new Date(now.getTime() + 90 * DAY * 1000), revokedAt: null
        })
        const tokens = yield* query((sql) => sql<{ tenantId: string; tokenHash: Uint8Array; sessionId: string }>`SELECT tenant_id, token_hash, session_id FROM refresh_tokens`)
        const mine = tokens.filter((t) => t.sessionId === a.session.id)
        assert.strictEqual(mine.length, 1)
        assert.deepStrictEqual(Buffer.from(mine[0]!.tokenHash), sha256(a.session.refreshToken))
        const secret = a.session.refreshToken.slice(3)
        assert.isFalse(tokens.some((t) => Buffer.from(t.tokenHash).includes(secret) || Buffer.from(t.tokenHash).includes(Buffer.from(secret, "base64url"))))

        yield* TestClock.adjust("1 minute")
        yield* signIn({ ...first, clientIp: null })
        const events = yield* query((sql) => sql<{ id: string; mode: string; type: string; payload: unknown; createdAt: Date }>`
          SELECT id, mode, type, payload, created_at FROM events WHERE tenant_id = ${tenant} ORDER BY created_at, type DESC`)
        assert.deepStrictEqual(events.map((e) => [e.type, e.mode]), [
          ["user.verified", "live"], ["user.created", "live"], ["login.success", "live"], ["user.verified", "live"], ["login.success", "live"]
        ])
        assert.isTrue(events.every((e) => e.id.startsWith("evt_")))
        const payload = { userId: a.user.id, email: first.email, phone: null, method: ["otp", "email"], ip: "203.0.113.7", riskScore: null, isVoip: null }
        assert.deepStrictEqual(events[0]?.payload, payload)
        assert.deepStrictEqual(events[1]?.payload, payload)
        assert.deepStrictEqual(events[4]?.payload, { ...payload, ip: null })
      }))

    it.effect("runs inside the caller's transaction: a rollback leaves no user, session or event", () =>
      Effect.gen(function*() {
        const tenant = newTenant()
        const sql = yield* PgClient.PgClient
        const failed = yield* Effect.flip(sql.withTransaction(Effect.andThen(signIn(input(tenant)), Effect.fail("rollback" as const))))
        assert.strictEqual(failed, "rollback")
        for (const table of ["users", "sessions", "refresh_tokens", "events"]) {
          const rows = yield* query((sql) => sql`SELECT 1 FROM ${sql(table)} WHERE tenant_id = ${tenant}`)
          assert.strictEqual(rows.length, 0, table)
        }
      }))

    it.effect("concurrent first sign-ins for one email end with one user", () =>
      Effect.gen(function*() {
        const tenant = newTenant()
        const same = input(tenant)
        const results = yield* Effect.all(Array.from({ length: 6 }, () => signIn(same)), { concurrency: "unbounded" })
        assert.strictEqual(new Set(results.map((r) => r.user.id)).size, 1)
        assert.strictEqual(results.filter((r) => r.isNewUser).length, 1)
        const created = yield* query((sql) => sql`SELECT 1 FROM events WHERE tenant_id = ${tenant} AND type = 'user.created'`)
        assert.strictEqual(created.length, 1)
      }))
  })

describe("Sessions on PGlite", () => suite(pgliteLayer))
describe.skipIf(!hasPostgres)("Sessions on PostgreSQL", () => suite(postgresLayer))
