import { Clock, Effect, Layer, Option } from "effect"
import { TenantId } from "../../src/domain/Ids.ts"
import { policyOf } from "../../src/domain/TenantSettings.ts"
import { AppConfig } from "../../src/platform/Config.ts"
import { randomId } from "../../src/platform/Crypto.ts"

export const ISSUER = "http://sesame.test"
/**
 * Times are relative to where TestClock stands (the epoch at first). No test jumps it decades ahead:
 * the SQL pool's idle timer sleeps on the same TestClock and would replay every minute in between.
 */
export const nowDate = Effect.map(Clock.currentTimeMillis, (ms) => new Date(ms))

export const configLayer = Layer.succeed(AppConfig)({
  port: 0,
  host: "127.0.0.1",
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
