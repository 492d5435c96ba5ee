import { Clock, Effect, Layer, Option } from "effect"
import { TestClock } from "effect/testing"
import { TenantId } from "../../src/domain/Ids.ts"
import { policyOf } from "../../src/domain/TenantSettings.ts"
import { AppConfig } from "../../src/platform/Config.ts"
import { randomId } from "../../src/platform/Crypto.ts"

export const ISSUER = "http://sesame.test"
/** A fixed start for TestClock (it starts at the epoch otherwise). */
export const T0 = Date.parse("2026-11-25T12:00:00.000Z")
export const atT0 = (offsetMs = 0) => TestClock.setTime(T0 + offsetMs)
export const nowDate = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

export const configLayer = Layer.succeed(AppConfig)({
  port: 0,
  publicUrl: ISSUER,
  databaseUrl: Option.none(),
  dataDir: "./.sesame-test",
  secret: Option.none(),
  smtpUrl: Option.none(),
  smtpFrom: "Sesame Test <no-reply@sesame.test>",
  production: false,
  workerPollMs: 200,
  deliveryRetryBaseMs: 100,
  logFormat: "pretty"
})

export const newTenant = () => TenantId.make(randomId("ten"))
export const policy = policyOf({}, "Acme")
