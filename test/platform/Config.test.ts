import { assert, describe, it } from "@effect/vitest"
import { Cause, ConfigProvider, Effect, Exit, Layer, Option } from "effect"
import * as AppConfigLive from "../../src/platform/Config.ts"
import { AppConfig } from "../../src/platform/Config.ts"

const hostWith = (env: Record<string, string>) =>
  Effect.map(AppConfig, (config) => config.host).pipe(
    Effect.provide(AppConfigLive.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))))
  )

describe("HOST", () => {
  it.effect("defaults to loopback; every interface only when asked", () =>
    Effect.gen(function* () {
      assert.strictEqual(yield* hostWith({}), "127.0.0.1")
      assert.strictEqual(yield* hostWith({ HOST: "0.0.0.0" }), "0.0.0.0")
      assert.strictEqual(yield* hostWith({ HOST: "::" }), "::")
    }))
})

const retentionWith = (env: Record<string, string>) =>
  Effect.map(AppConfig, (config) => config.retention).pipe(
    Effect.provide(AppConfigLive.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))))
  )

describe("RETENTION_*", () => {
  it.effect("documented defaults; hours and days in the environment, milliseconds in the config", () =>
    Effect.gen(function* () {
      const H = 3_600_000
      assert.deepStrictEqual(yield* retentionWith({}), {
        enabled: true, intervalMs: 600_000, batchSize: 1000, authRequestsMs: 168 * H, exchangeCodesMs: 24 * H,
        payloadsMs: 0, messagesMs: 30 * 24 * H, testMessagesMs: 7 * 24 * H, eventsMs: 30 * 24 * H,
        webhookDeliveriesMs: 30 * 24 * H, auditMs: 365 * 24 * H
      })
      const set = yield* retentionWith({ RETENTION_ENABLED: "false", RETENTION_AUTH_REQUESTS_HOURS: "2", RETENTION_AUDIT_DAYS: "1" })
      assert.deepStrictEqual([set?.enabled, set?.authRequestsMs, set?.auditMs], [false, 2 * H, 24 * H])
    }))

  it.effect("a negative period or a zero batch is refused at start", () =>
    Effect.gen(function* () {
      const refused = (env: Record<string, string>) => Effect.map(Effect.exit(retentionWith(env)), (exit) => exit._tag)
      assert.strictEqual(yield* refused({ RETENTION_EVENTS_DAYS: "-1" }), "Failure")
      assert.strictEqual(yield* refused({ RETENTION_BATCH_SIZE: "0" }), "Failure")
      assert.strictEqual(yield* refused({ RETENTION_EVENTS_DAYS: "0" }), "Success")
    }))
})

const configWith = (env: Record<string, string>) =>
  Effect.map(AppConfig, (config) => config).pipe(
    Effect.provide(AppConfigLive.layer.pipe(Layer.provide(ConfigProvider.layer(ConfigProvider.fromEnv({ env })))))
  )

describe("METRICS_PORT, METRICS_HOST, OTEL_*", () => {
  it.effect("metrics and tracing are off unless set; metrics on loopback unless METRICS_HOST; service name defaults to sesame", () =>
    Effect.gen(function* () {
      const none = yield* configWith({})
      assert.isTrue(Option.isNone(none.metrics ?? Option.none()))
      assert.isTrue(Option.isNone(none.otel ?? Option.none()))
      const on = yield* configWith({ METRICS_PORT: "9464", OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })
      assert.deepStrictEqual(Option.getOrUndefined(on.metrics ?? Option.none()), { port: 9464, host: "127.0.0.1" })
      assert.deepStrictEqual(Option.getOrUndefined(on.otel ?? Option.none()), { endpoint: "http://collector:4318", serviceName: "sesame" })
      const open = yield* configWith({ METRICS_PORT: "9464", METRICS_HOST: "0.0.0.0", OTEL_EXPORTER_OTLP_ENDPOINT: "https://c", OTEL_SERVICE_NAME: "auth" })
      assert.strictEqual(Option.getOrUndefined(open.metrics ?? Option.none())?.host, "0.0.0.0")
      assert.strictEqual(Option.getOrUndefined(open.otel ?? Option.none())?.serviceName, "auth")
    }))

  it.effect("refused at start: METRICS_PORT equal to PORT, METRICS_PORT with WORKERS > 1, an endpoint that is not http(s)", () =>
    Effect.gen(function* () {
      const refusal = (env: Record<string, string>) =>
        Effect.map(Effect.exit(configWith(env)), (exit) => Exit.isFailure(exit) ? String(Cause.squash(exit.cause)) : "started")
      assert.include(yield* refusal({ PORT: "8787", METRICS_PORT: "8787" }), "METRICS_PORT must differ from PORT")
      assert.include(yield* refusal({ METRICS_PORT: "9464", WORKERS: "2", DATABASE_URL: "postgres://x/y" }), "METRICS_PORT needs WORKERS=1")
      assert.include(yield* refusal({ OTEL_EXPORTER_OTLP_ENDPOINT: "collector:4318" }), "OTEL_EXPORTER_OTLP_ENDPOINT must be an http(s) URL")
    }))
})

describe("DATABASE_POOL_SIZE", () => {
  it.effect("10 by default; a size in 1..1000 is taken; anything else is refused at start", () =>
    Effect.gen(function* () {
      assert.strictEqual((yield* configWith({})).databasePoolSize, 10)
      assert.strictEqual((yield* configWith({ DATABASE_POOL_SIZE: "4" })).databasePoolSize, 4)
      for (const size of ["0", "1001", "-3"]) {
        const exit = yield* Effect.exit(configWith({ DATABASE_POOL_SIZE: size }))
        assert.isTrue(Exit.isFailure(exit), size)
        if (Exit.isFailure(exit)) assert.include(String(Cause.squash(exit.cause)), "DATABASE_POOL_SIZE must be 1..1000")
      }
    }))
})
