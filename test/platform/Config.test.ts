import { assert, describe, it } from "@effect/vitest"
import { ConfigProvider, Effect, Layer } from "effect"
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
