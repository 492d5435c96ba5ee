import { Effect, Layer, Redacted } from "effect"
import { SmsError, SmsProvider } from "./SmsProvider.ts"

export interface TwilioConfig {
  readonly accountSid: string
  readonly authToken: Redacted.Redacted<string>
  /** A sender number (E.164) or alphanumeric id; or use `messagingServiceSid`. */
  readonly from: string | undefined
  readonly messagingServiceSid: string | undefined
  /** https://api.twilio.com, or a local server in tests. */
  readonly baseUrl: string
  readonly timeoutMs: number
}

/**
 * Twilio error codes that mean this number can never receive the message: retrying or failing over
 * only costs money (21211 invalid To, 21614 not a mobile number, 21610 unsubscribed, 21408 region
 * not enabled, 21612 unreachable route).
 */
const PERMANENT_CODES = new Set([21211, 21214, 21408, 21610, 21612, 21614])

const failureOf = async (response: Response): Promise<SmsError> => {
  let code: number | undefined
  try {
    const body = await response.json() as { code?: unknown }
    if (typeof body.code === "number") code = body.code
  } catch { /* not JSON: the status alone decides */ }
  const permanent = code !== undefined && PERMANENT_CODES.has(code)
  return new SmsError({ reason: `twilio ${response.status}${code === undefined ? "" : ` (code ${code})`}`, permanent })
}

/** Twilio Programmable Messaging: `POST /2010-04-01/Accounts/{sid}/Messages.json`, form-encoded, HTTP Basic auth. */
export const make = (config: TwilioConfig) =>
  SmsProvider.of({
    name: "twilio",
    send: (sms) =>
      Effect.tryPromise({
        try: async (signal) => {
          const form = new URLSearchParams({ To: sms.to, Body: sms.body })
          if (config.messagingServiceSid !== undefined) form.set("MessagingServiceSid", config.messagingServiceSid)
          else if (config.from !== undefined) form.set("From", config.from)
          const auth = Buffer.from(`${config.accountSid}:${Redacted.value(config.authToken)}`).toString("base64")
          const url = `${config.baseUrl.replace(/\/+$/, "")}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`
          const response = await fetch(url, {
            method: "POST",
            headers: { authorization: `Basic ${auth}`, "content-type": "application/x-www-form-urlencoded", accept: "application/json" },
            body: form.toString(),
            signal: AbortSignal.any([signal, AbortSignal.timeout(config.timeoutMs)])
          })
          if (response.ok) {
            await response.body?.cancel()
            return { provider: "twilio" }
          }
          throw await failureOf(response)
        },
        catch: (e) => e instanceof SmsError ? e
          : new SmsError({ reason: `twilio unreachable: ${e instanceof Error ? e.name : "error"}`, permanent: false })
      })
  })

export const layer = (config: TwilioConfig): Layer.Layer<SmsProvider> => Layer.succeed(SmsProvider)(make(config))
