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
