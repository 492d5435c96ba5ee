/**
 * Metrics (issue 13 item 2) through the real server layers with METRICS_PORT: every counter the
 * flows should move is scraped before and after and compared, the labels carry route templates (never
 * a raw path, id or token), and the queue gauges read what is in the database.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { HttpServer } from "effect/http"
import { SqlClient } from "effect/sql"
import { MetricsAddress } from "../../src/observability/MetricsServer.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { has, parseExposition, type Series, valueOf } from "../support/Exposition.ts"
import { baseUrl, clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"
import { wire } from "../support/Wire.ts"

/** The listener's own address, e.g. http://127.0.0.1:41234 */
const metricsOrigin = Effect.gen(function* () {
  const address = yield* MetricsAddress
  if (address === undefined) return yield* Effect.die(new Error("no metrics listener"))
  return HttpServer.formatAddress(address)
})

const scrapeText = Effect.flatMap(metricsOrigin, (origin) =>
  Effect.promise(async () => {
    const response = await fetch(`${origin}/metrics`)
    assert.strictEqual(response.status, 200)
    assert.match(response.headers.get("content-type") ?? "", /^text\/plain; version=0\.0\.4/)
    return response.text()
  }))
const scrape = Effect.map(scrapeText, parseExposition)

/** Scrapes until `ready` holds (the workers deliver in the background); fails after ~10 s. */
const scrapeUntil = (ready: (series: ReadonlyArray<Series>) => boolean) =>
  Effect.gen(function* () {
    for (let i = 0; i < 100; i++) {
      const series = yield* scrape
      if (ready(series)) return series
      yield* Effect.sleep("100 millis")
    }
    return yield* Effect.die(new Error("the series did not change within 10 s"))
  })

const http = (method: string, route: string, status: number) => ["sesame_http_requests_total", { method, route, status: String(status) }] as const

layer(serverLayer(pgliteLayer, { metrics: { port: 0 }, workerPollMs: 100 }), { timeout: 60_000, excludeTestServices: true })(
  "metrics on their own listener (PGlite)",
  (it) => {
    it.effect("the listener is bound to 127.0.0.1, and the API's port has no /metrics", () =>
      Effect.gen(function* () {
        // METRICS_HOST unset: loopback only
        assert.match(yield* metricsOrigin, /^http:\/\/127\.0\.0\.1:\d+$/)
        const onApi = yield* wire(`${yield* baseUrl}/metrics`)
        assert.strictEqual(onApi.status, 404)
        const series = yield* scrape
        // process metrics (collectDefaultMetrics)
        assert.isTrue(has(series, "process_cpu_user_seconds_total"))
        assert.isTrue(has(series, "nodejs_eventloop_lag_seconds"))
        assert.strictEqual(valueOf(series, "sesame_db_pool_max_connections"), 1) // PGlite: one connection
      }))

    it.effect("send, verify (success and a wrong code), refusals and a delivery move their series", () =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture()
        const test = yield* clientFor(keys.test)
        const live = yield* clientFor(keys.live)
        const api = yield* baseUrl
        const before = yield* scrape

        const sent = yield* test.passwordless.send({ payload: { email: "metrics@example.com" } })
        const wrong = sent.code === "000000" ? "111111" : "000000"
        const invalid = yield* Effect.flip(test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: wrong } }))
        assert.strictEqual(errorCode(invalid), "CODE_INVALID")
        yield* test.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })
        yield* test.passwordless.status({ params: { authRequestId: sent.authRequestId } })
        // refused: no key (401), and the per-identifier send limit (10 a minute by default)
        const noKey = yield* wire(`${api}/v1/passwordless/send`, {
          method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ email: "x@example.com" })
        })
        assert.strictEqual(noKey.status, 401)
        for (let i = 0; i < 10; i++) yield* test.passwordless.send({ payload: { email: "limited@example.com" } })
        const limited = yield* Effect.flip(test.passwordless.send({ payload: { email: "limited@example.com" } }))
        assert.strictEqual(errorCode(limited), "RATE_LIMITED")
        const unmatched = yield* wire(`${api}/no/such/${sent.authRequestId}`)
        assert.strictEqual(unmatched.status, 404)
        // refused at the edge, before routing
        const plainText = yield* wire(`${api}/v1/passwordless/send`, { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" })
        assert.strictEqual(plainText.status, 415)
        // a live send goes through the outbox: the worker delivers it to the dev outbox
        yield* live.passwordless.send({ payload: { email: "delivered@example.com" } })

        const delivered = ["sesame_message_deliveries_total", { channel: "email", provider: "dev-outbox", outcome: "sent" }] as const
        const after = yield* scrapeUntil((s) => valueOf(s, ...delivered) > valueOf(before, ...delivered))
        const delta = (name: string, labels: Record<string, string> = {}) => valueOf(after, name, labels) - valueOf(before, name, labels)

        assert.strictEqual(delta(...delivered), 1)
        assert.strictEqual(delta("sesame_send_requests_total", { channel: "email", outcome: "accepted" }), 12)
        assert.strictEqual(delta("sesame_send_requests_total", { channel: "email", outcome: "RATE_LIMITED" }), 1)
        assert.strictEqual(delta("sesame_verify_requests_total", { outcome: "success" }), 1)
        assert.strictEqual(delta("sesame_verify_requests_total", { outcome: "CODE_INVALID" }), 1)
        assert.strictEqual(delta("sesame_rate_limited_total", { limit: "send_per_identifier_minute" }), 1)
        assert.strictEqual(delta(...http("POST", "/v1/passwordless/send", 202)), 12)
        assert.strictEqual(delta(...http("POST", "/v1/passwordless/send", 429)), 1)
        assert.strictEqual(delta(...http("POST", "/v1/passwordless/send", 401)), 1)
        assert.strictEqual(delta(...http("POST", "/v1/passwordless/verify", 200)), 1)
        assert.strictEqual(delta(...http("POST", "/v1/passwordless/verify", 400)), 1)
        assert.strictEqual(delta(...http("GET", "/v1/passwordless/:authRequestId", 200)), 1)
        assert.strictEqual(delta(...http("*", "unmatched", 404)), 1)
        assert.strictEqual(delta(...http("*", "unmatched", 415)), 1)
        assert.strictEqual(delta("sesame_http_request_duration_seconds_count", { method: "POST", route: "/v1/passwordless/send" }), 14)
        // no raw path, id or token in any label
        const text = yield* scrapeText
        assert.notInclude(text, sent.authRequestId)
        assert.notInclude(text, "/no/such")
      }))

    it.effect("queue gauges: depth and oldest age of the outbox and the webhook queue, read at scrape", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const { tenant } = yield* tenantFixture("Queues")
        const now = yield* Clock.currentTimeMillis
        const before = yield* scrape
        assert.strictEqual(valueOf(before, "sesame_db_up"), 1)
        // due in a day: no worker claims them during the test
        const later = new Date(now + 86_400_000)
        yield* sql`INSERT INTO messages (tenant_id, id, mode, channel, recipient, status, attempts, next_attempt_at, created_at)
          VALUES (${tenant.id}, 'msg_metrics_1', 'live', 'email', 'q@example.com', 'queued', 1, ${later}, ${new Date(now - 3_600_000)}),
                 (${tenant.id}, 'msg_metrics_2', 'live', 'email', 'q@example.com', 'queued', 1, ${later}, ${new Date(now - 60_000)})`
        yield* sql`INSERT INTO webhook_endpoints (tenant_id, id, mode, url, events, auth1_signature, secret_enc, status, created_at, updated_at)
          VALUES (${tenant.id}, 'we_metrics', 'live', 'https://hooks.example.com/x', '[]'::jsonb, false, '\\x00'::bytea, 'enabled', ${new Date(now)}, ${new Date(now)})`
        yield* sql`INSERT INTO webhook_deliveries (tenant_id, id, endpoint_id, event_id, event_type, status, attempts, next_attempt_at, created_at)
          VALUES (${tenant.id}, 'wd_metrics', 'we_metrics', 'ev_metrics', 'user.created', 'pending', 1, ${later}, ${new Date(now - 7_200_000)})`
        const after = yield* scrape
        assert.strictEqual(valueOf(after, "sesame_db_up"), 1)
        assert.strictEqual(valueOf(after, "sesame_outbox_queue_depth") - valueOf(before, "sesame_outbox_queue_depth"), 2)
        assert.strictEqual(valueOf(after, "sesame_webhook_queue_depth") - valueOf(before, "sesame_webhook_queue_depth"), 1)
        const outboxAge = valueOf(after, "sesame_outbox_queue_oldest_age_seconds")
        const webhookAge = valueOf(after, "sesame_webhook_queue_oldest_age_seconds")
        assert.isAtLeast(outboxAge, 3600)
        assert.isBelow(outboxAge, 3660)
        assert.isAtLeast(webhookAge, 7200)
        assert.isBelow(webhookAge, 7260)
        yield* sql`DELETE FROM messages WHERE id IN ('msg_metrics_1', 'msg_metrics_2')`
        yield* sql`DELETE FROM webhook_endpoints WHERE id = 'we_metrics'`
      }))
  }
)

describe.skipIf(!hasPostgres)("metrics on PostgreSQL", () => {
  layer(serverLayer(postgresLayer, { metrics: { port: 0 } }), { timeout: 60_000, excludeTestServices: true })("pool", (it) => {
    it.effect("the pool's bound and the connections PostgreSQL reports for Sesame", () =>
      Effect.gen(function* () {
        const series = yield* scrape
        assert.strictEqual(valueOf(series, "sesame_db_up"), 1)
        assert.strictEqual(valueOf(series, "sesame_db_pool_max_connections"), 10)
        // the scrape ran two statements at once: at least the other one's connection is open
        const open = series.filter((s) => s.name === "sesame_db_connections").reduce((sum, s) => sum + s.value, 0)
        assert.isAtLeast(open, 1)
      }))
  })
})
