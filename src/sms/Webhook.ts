import { Clock, Effect, Layer, Redacted } from "effect"
import { randomId } from "../platform/Crypto.ts"
import { signatureHeaders } from "../webhooks/Signature.ts"
import { SmsError, SmsProvider } from "./SmsProvider.ts"

export interface SmsWebhookConfig {
  /** SMS_WEBHOOK_URL: the tenant operator's own gateway, which sends the SMS. */
  readonly url: string
  /** SMS_WEBHOOK_SECRET: a Standard Webhooks secret (`whsec_` + base64 of 24–64 random bytes). */
  readonly secret: Redacted.Redacted<string>
  readonly timeoutMs: number
}

/** The JSON body POSTed to SMS_WEBHOOK_URL. */
export interface SmsWebhookPayload {
  readonly to: string
  readonly body: string
  readonly authRequestId?: string
  /** Stable across retries of the same message: receivers deduplicate on it (it is also `webhook-id`). */
  readonly messageId: string
}

/**
 * The generic signed webhook provider: POSTs `{ to, body, authRequestId?, messageId }` as JSON, signed
 * the Standard Webhooks way (`webhook-id`, `webhook-timestamp`, `webhook-signature: v1,<base64 HMAC-SHA256
 * of "id.timestamp.body">`, src/webhooks/Signature.ts). 2xx delivered; 4xx permanent (the receiver
 * refused this message: another attempt would be refused too) except 408/429; 5xx, timeouts and network errors retryable.
 */
export const make = (config: SmsWebhookConfig) =>
  SmsProvider.of({
    name: "webhook",
    send: (sms) =>
      Effect.flatMap(Clock.currentTimeMillis, (nowMs) => Effect.tryPromise({
        try: async (signal) => {
          const messageId = sms.messageId ?? randomId("smsg")
          const payload: SmsWebhookPayload = {
            to: sms.to,
            body: sms.body,
            ...(sms.authRequestId === undefined || sms.authRequestId === null ? {} : { authRequestId: sms.authRequestId }),
            messageId
          }
          const body = JSON.stringify(payload)
          const headers = signatureHeaders([Redacted.value(config.secret)], messageId, Math.floor(nowMs / 1000), body, false)
          const response = await fetch(config.url, {
            method: "POST",
            headers: { ...headers, "content-type": "application/json", "user-agent": "Sesame-SMS-Webhook/1" },
            body,
            redirect: "manual",
            signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)])
          })
          await response.body?.cancel()
          if (response.status >= 200 && response.status < 300) return { provider: "webhook" }
          throw new SmsError({
            reason: `sms webhook ${response.status}`,
            // 408 and 429 say "not now", not "never".
            permanent: response.status >= 400 && response.status < 500 && response.status !== 408 && response.status !== 429
          })
        },
        catch: (e) => e instanceof SmsError ? e
          : new SmsError({ reason: `sms webhook unreachable: ${e instanceof Error ? e.name : "error"}`, permanent: false })
      }))
  })

export const layer = (config: SmsWebhookConfig): Layer.Layer<SmsProvider> => Layer.succeed(SmsProvider)(make(config))
