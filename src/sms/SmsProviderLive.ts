import { Effect, Layer, Option } from "effect"
import { AppConfig } from "../platform/Config.ts"
import { failover } from "./Failover.ts"
import { layerDevOutbox, SmsProvider } from "./SmsProvider.ts"
import * as Twilio from "./Twilio.ts"
import * as SmsWebhook from "./Webhook.ts"

/** The configured providers in failover order (Twilio, then the signed webhook); none configured → the dev outbox (logged, not sent). */
export const layer: Layer.Layer<SmsProvider, never, AppConfig> = Layer.unwrap(Effect.map(AppConfig, (config) => {
  const sms = config.sms
  const providers = sms === undefined ? [] : [
    ...Option.toArray(Option.map(sms.twilio, (t) => Twilio.make({ ...t, timeoutMs: sms.timeoutMs }))),
    ...Option.toArray(Option.map(sms.webhook ?? Option.none(), (w) => SmsWebhook.make({ ...w, timeoutMs: sms.timeoutMs })))
  ]
  if (providers.length === 0) {
    return Layer.effectDiscard(Effect.logWarning("No SMS provider is configured: SMS go to the dev outbox (logged, not sent).")).pipe(
      Layer.provideMerge(layerDevOutbox)
    )
  }
  return Layer.succeed(SmsProvider)(providers.length === 1 ? providers[0]! : failover(providers))
}))
