/**
 * Property tests on TestClock: access-token, refresh-token and absolute session lifetimes, checked to
 * the second through the real services and SQL (PGlite, and PostgreSQL when configured).
 */
import { assert, describe, it } from "@effect/vitest"
import { Duration, Effect, Layer, Schema } from "effect"
import { TestClock } from "effect/testing"
import { decodeJwt } from "jose"
import type { CurrentKey } from "../../src/api/Security.ts"
import { AllScopes, ApiKeyId, type TenantId } from "../../src/domain/Ids.ts"
import { type Policy, policyOf, type TenantSettings } from "../../src/domain/TenantSettings.ts"
import { randomId } from "../../src/platform/Crypto.ts"
import type { Database } from "../../src/platform/Database.ts"
import { Secrets } from "../../src/platform/Secrets.ts"
import * as TransactionLive from "../../src/platform/Transaction.ts"
import { SessionAdmin } from "../../src/sessions/SessionAdmin.ts"
import { SessionServicesLive } from "../../src/sessions/SessionLayers.ts"
import { Sessions } from "../../src/sessions/Sessions.ts"
import * as SessionsLive from "../../src/sessions/SessionsLive.ts"
import { SessionTokens } from "../../src/sessions/SessionTokens.ts"
import { TokenSigner } from "../../src/sessions/TokenSigner.ts"
import { Tenants } from "../../src/tenants/Tenants.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { configLayer, newTenant, nowDate } from "./Fixtures.ts"

const DAY = 86_400
const Int = (minimum: number, maximum: number) => Schema.Int.check(Schema.isBetween({ minimum, maximum }))

const policies = new Map<string, Policy>()
const TenantsTest = Layer.mock(Tenants, {
  get: (id) => {
    const mode = { settings: {}, policy: policies.get(id) ?? policyOf({}, "Acme") }
    return Effect.succeed({ id, name: "Acme", modes: { live: mode, test: mode }, createdAt: new Date(0) })
  }
})

const services = (db: Layer.Layer<Database>) =>
  Layer.mergeAll(SessionsLive.layer, SessionServicesLive).pipe(
    Layer.provideMerge(Layer.mergeAll(TokenSigner.layerTest, TenantsTest, TransactionLive.layer)),
    Layer.provideMerge(Layer.mergeAll(db, Secrets.layerTest, configLayer))
  )

const callerOf = (tenantId: TenantId): CurrentKey["Service"] =>
  ({ keyId: ApiKeyId.make("key_000000000000000000test"), tenantId, mode: "test", scopes: AllScopes })

/** A fresh tenant with these settings and one signed-in session, at the current TestClock instant. */
const session = (settings: TenantSettings) =>
  Effect.gen(function*() {
    const tenantId = newTenant()
    const policy = policyOf(settings, "Acme")
    policies.set(tenantId, policy)
    const signed = yield* (yield* Sessions).signIn({
      tenantId, mode: "test", channel: "email", email: `${randomId("p").toLowerCase()}@example.com`, phone: null,
      amr: ["otp", "email"], clientIp: null, userAgent: null, policy
    })
    return { tenantId, signed, t0: (yield* nowDate).getTime() }
  })

const freshClock = Effect.provide(TestClock.layer())
const advance = (seconds: number) => TestClock.adjust(Duration.seconds(seconds))
const codeOf = <A, E extends { readonly _tag: string }>(effect: Effect.Effect<A, E>) =>
  Effect.match(effect, { onSuccess: () => "OK", onFailure: (e) => e._tag })

const suite = (db: Layer.Layer<Database>) =>
  // The pool and layers run on the real clock; each property run gets a fresh TestClock of its own, so
  // jumping days ahead replays no pool timers and runs never inherit each other's time.
  it.layer(services(db), { timeout: "120 seconds", excludeTestServices: true })((it) => {
    it.effect.prop(
      "an access token is valid until exp plus 60 s of leeway, then TOKEN_EXPIRED (introspection and userinfo)",
      { ttl: Int(60, DAY), delta: Int(-200, 200) },
      ({ ttl, delta }) =>
        Effect.gen(function*() {
          const { tenantId, signed } = yield* session({ accessTokenTtlSeconds: ttl })
          const elapsed = Math.max(0, ttl + 60 + delta)
          yield* advance(elapsed)
          const verdict = yield* (yield* SessionAdmin).verify(callerOf(tenantId), signed.session.accessToken)
          const auth = yield* codeOf((yield* SessionTokens).authenticate(signed.session.accessToken))
          const valid = elapsed < ttl + 60
          assert.strictEqual(verdict.valid, valid)
          assert.strictEqual(verdict.reason, valid ? undefined : "TOKEN_EXPIRED")
          assert.strictEqual(auth, valid ? "OK" : "TokenExpired")
        }).pipe(freshClock),
      { timeout: 120_000, arbitrary: { runs: 40 } }
    )

    it.effect.prop(
      "a refresh token works until its expiry (to the second), then TOKEN_EXPIRED; each refresh restarts it",
      { refreshTtl: Int(3600, 30 * DAY), delta: Int(-3600, 3600), uses: Int(0, 3) },
      ({ refreshTtl, delta, uses }) =>
        Effect.gen(function*() {
          const tokens = yield* SessionTokens
          const { signed } = yield* session({ refreshTokenTtlSeconds: refreshTtl })
          let refreshToken = signed.session.refreshToken
          for (let i = 0; i < uses; i++) {
            yield* advance(Math.floor(refreshTtl / 2))
            const next = yield* tokens.refresh(refreshToken)
            const now = Math.floor((yield* nowDate).getTime() / 1000)
            assert.strictEqual(next.session.refreshExpiresAt, now + refreshTtl)
            refreshToken = next.session.refreshToken
          }
          const elapsed = Math.max(0, refreshTtl + delta)
          yield* advance(elapsed)
          assert.strictEqual(yield* codeOf(tokens.refresh(refreshToken)), elapsed < refreshTtl ? "OK" : "TokenExpired")
        }).pipe(freshClock),
      { timeout: 120_000, arbitrary: { runs: 25 } }
    )

    it.effect.prop(
      "no refresh outlives the absolute session lifetime; no token issued expires after it",
      {
        lifetimeHours: Int(2, 90 * 24),
        refreshPermille: Int(1, 1000),
        gaps: Schema.Array(Int(1, 999)).check(Schema.isMinLength(1), Schema.isMaxLength(30))
      },
      ({ lifetimeHours, refreshPermille, gaps }) =>
        Effect.gen(function*() {
          const tokens = yield* SessionTokens
          const lifetime = lifetimeHours * 3600
          const refreshTtl = Math.max(3600, Math.floor(lifetime * refreshPermille / 1000))
          const { signed, t0 } = yield* session({ sessionLifetimeSeconds: lifetime, refreshTokenTtlSeconds: refreshTtl })
          const end = Math.floor(t0 / 1000) + lifetime
          assert.isAtMost(signed.session.refreshExpiresAt, end)
          let refreshToken = signed.session.refreshToken
          let elapsed = 0
          for (const permille of gaps) {
            const gap = Math.max(1, Math.floor(refreshTtl * permille / 1000))
            yield* advance(gap)
            elapsed += gap
            const result = yield* Effect.result(tokens.refresh(refreshToken))
            if (elapsed >= lifetime) {
              assert.strictEqual(result._tag === "Failure" ? result.failure._tag : "OK", "TokenExpired")
              return
            }
            assert.strictEqual(result._tag, "Success", `refresh at ${elapsed}s of ${lifetime}s`)
            if (result._tag !== "Success") return
            const { session: s } = result.success
            assert.isAtMost(s.refreshExpiresAt, end)
            assert.isAtMost(s.expiresAt, end)
            assert.isAtMost(decodeJwt(result.success.idToken).exp ?? Infinity, end)
            refreshToken = s.refreshToken
          }
        }).pipe(freshClock),
      { timeout: 120_000, arbitrary: { runs: 30 } }
    )
  })

describe("session expiry on PGlite", () => suite(pgliteLayer))
describe.skipIf(!hasPostgres)("session expiry on PostgreSQL", () => suite(postgresLayer))
