import { assert, describe, it, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { layerPostgres } from "../../src/platform/Database.ts"
import { TestClock } from "effect/testing"
import { NodeHttpServer } from "@effect/platform-node"
import { HttpClient, HttpRouter } from "effect/http"
import { HttpApi, HttpApiBuilder, HttpApiEndpoint, HttpApiGroup } from "effect/http-api"
import { RequestGuard } from "../../src/api/Security.ts"
import { RequestGuardLive } from "../../src/http/Middleware.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"
import { freePort } from "../support/Processes.ts"

const fixture = Effect.gen(function* () {
  const { keys } = yield* tenantFixture()
  return { test: yield* clientFor(keys.test), live: yield* clientFor(keys.live) }
})

// Default test services: the server runs on TestClock, so expiry and cooldowns are driven by TestClock.adjust.
layer(serverLayer(pgliteLayer), { timeout: 60_000 })("error codes on TestClock", (it) => {
  it.effect("CODE_EXPIRED at expiresIn; RESEND_TOO_SOON inside the cooldown; resend after it", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const a = yield* test.passwordless.send({ payload: { email: "exp@example.com", expiresIn: 60 } })
      const b = yield* test.passwordless.send({ payload: { email: "cool@example.com" } })
      const soon = yield* Effect.flip(test.passwordless.resend({ payload: { authRequestId: b.authRequestId } }))
      assert.strictEqual(errorCode(soon), "RESEND_TOO_SOON")
      yield* TestClock.adjust("30 seconds")
      const resent = yield* test.passwordless.resend({ payload: { authRequestId: b.authRequestId } })
      assert.notStrictEqual(resent.code, undefined)
      yield* TestClock.adjust("30 seconds")
      const expired = yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: a.authRequestId, code: a.code ?? "" } }))
      assert.strictEqual(errorCode(expired), "CODE_EXPIRED")
      const status = yield* test.passwordless.status({ params: { authRequestId: a.authRequestId } })
      assert.strictEqual(status.status, "expired")
    }))

  it.effect("CHANNEL_DISABLED for SMS on a tenant with sms off; ORIGIN_MISMATCH for a link verified against another request", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      yield* test.tenant.update({ payload: { settings: { channels: { sms: false } } } })
      const sms = yield* Effect.flip(test.passwordless.send({ payload: { channel: "sms", phone: "+14155550123" } }))
      assert.strictEqual(errorCode(sms), "CHANNEL_DISABLED")
      const one = yield* test.passwordless.send({ payload: { email: "o1@example.com", type: "LINK", redirectUrl: "https://app.example.com/cb" } })
      const two = yield* test.passwordless.send({ payload: { email: "o2@example.com", type: "LINK", redirectUrl: "https://app.example.com/cb" } })
      const crossed = yield* Effect.flip(test.passwordless.verify({ payload: { linkToken: one.linkToken ?? "", authRequestId: two.authRequestId } }))
      assert.strictEqual(errorCode(crossed), "ORIGIN_MISMATCH")
      const ok = yield* test.passwordless.verify({ payload: { linkToken: one.linkToken ?? "", authRequestId: one.authRequestId } })
      assert.strictEqual(ok.user.email, "o1@example.com")
    }))
})

describe("DELIVERY_FAILED", () => {
  it.effect("deliver: \"sync\" with SMTP down answers 502 DELIVERY_FAILED; the message stays queued for retries", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      yield* Effect.gen(function* () {
        const { live } = yield* fixture
        const failed = yield* Effect.flip(live.passwordless.send({ payload: { email: "sync@example.com", deliver: "sync" } }))
        assert.strictEqual(errorCode(failed), "DELIVERY_FAILED")
      }).pipe(Effect.provide(serverLayer(pgliteLayer, { smtpUrl: `smtp://127.0.0.1:${port}`, deliveryRetryBaseMs: 60_000 })))
    }).pipe(TestClock.withLive), { timeout: 60_000 })
})

describe.skipIf(!hasPostgres)("SERVICE_UNAVAILABLE", () => {
  layer(serverLayer(postgresLayer), { timeout: 60_000, excludeTestServices: true })("database gone", (it) => {
    it.effect("a request while the database refuses connections is 503 SERVICE_UNAVAILABLE with Retry-After, no SQL in the body", () =>
      Effect.gen(function* () {
        const { test } = yield* fixture
        const sql = yield* SqlClient.SqlClient
        const [db] = yield* sql<{ name: string }>`SELECT current_database() AS name`
        const name = db?.name ?? ""
        // From an admin connection: refuse new connections and drop the server's, as an outage would.
        yield* Effect.gen(function* () {
          const admin = yield* SqlClient.SqlClient
          yield* admin`ALTER DATABASE ${admin(name)} ALLOW_CONNECTIONS false`
          yield* admin`SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${name}`
        }).pipe(Effect.provide(layerPostgres(Redacted.make(process.env.SESAME_TEST_DATABASE_URL ?? ""), { maxConnections: 1 })))
        const failed = yield* Effect.flip(test.passwordless.send({ payload: { email: "down@example.com" } }))
        assert.strictEqual(errorCode(failed), "SERVICE_UNAVAILABLE")
        assert.strictEqual(failed._tag === "ServiceUnavailable" ? failed.retryAfter : 0, 1)
        assert.notInclude(JSON.stringify(failed), "SELECT")
      }))
  })
})

// A one-endpoint API with Sesame's RequestGuard whose handler has a bug (a defect).
const Buggy = HttpApi.make("buggy").add(HttpApiGroup.make("g").add(HttpApiEndpoint.get("boom", "/boom"))).middleware(RequestGuard)
const BuggyServer = HttpRouter.serve(
  HttpApiBuilder.layer(Buggy).pipe(
    Layer.provide(HttpApiBuilder.group(Buggy, "g", (h) => h.handle("boom", () => Effect.die(new Error("secret detail from a bug"))))),
    Layer.provide(RequestGuardLive)
  ),
  { disableLogger: true, disableListenLog: true }
).pipe(Layer.provideMerge(NodeHttpServer.layerTest))

layer(BuggyServer, { excludeTestServices: true })("INTERNAL", (it) => {
  it.effect("a defect becomes a bare 500 INTERNAL: no stack, no detail", () =>
    Effect.gen(function* () {
      const client = yield* HttpClient.HttpClient
      const response = yield* client.get("/boom")
      const body = yield* response.text
      assert.strictEqual(response.status, 500)
      assert.deepStrictEqual(JSON.parse(body), { code: "INTERNAL", message: "An internal error occurred.", status: 500 })
      assert.notInclude(body, "secret detail")
    }))
})
