import { Context, Effect } from "effect"
import type { Mode } from "../domain/Ids.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import type { Check, LimitState } from "./RateLimiter.ts"

const MINUTE = 60_000
const HOUR = 3_600_000

/** The limits a send counts against (API.md "Rate limits"), all decided in one round trip. */
export const sendChecks = (
  policy: Policy,
  input: { readonly mode: Mode; readonly identifier: string; readonly link: boolean; readonly ip: string | undefined }
): ReadonlyArray<Check> => {
  const l = policy.limits
  const id = `${input.mode}:${input.identifier}`
  return [
    { name: "send_per_identifier_minute", bucket: `send_m:${id}`, limit: l.sendPerIdentifierMinute, periodMs: MINUTE },
    { name: "send_per_identifier_hour", bucket: `send_h:${id}`, limit: l.sendPerIdentifierHour, periodMs: HOUR },
    ...(input.link
      ? [{ name: "link_send_per_identifier_hour", bucket: `link_h:${id}`, limit: l.linkSendPerIdentifierHour, periodMs: HOUR }]
      : []),
    ...(input.ip !== undefined
      ? [{ name: "send_per_ip_hour", bucket: `ip_h:${input.mode}:${input.ip}`, limit: l.sendPerIpHour, periodMs: HOUR }]
      : [])
  ]
}

/**
 * The extra limits of an SMS send (SECURITY.md "SMS pumping"): per phone, per destination country and
 * per number prefix (pumping rents ranges of consecutive numbers), and the tenant's hourly SMS budget,
 * which bounds the bill whatever the attacker varies. Decided in the same statement as `sendChecks`.
 */
export const smsChecks = (
  policy: Policy,
  input: { readonly mode: Mode; readonly phone: string; readonly country: string; readonly prefix: string }
): ReadonlyArray<Check> => {
  const l = policy.limits
  return [
    { name: "sms_send_per_phone_hour", bucket: `sms_h:${input.mode}:${input.phone}`, limit: l.smsSendPerPhoneHour, periodMs: HOUR },
    { name: "sms_per_prefix_hour", bucket: `sms_p:${input.mode}:${input.prefix}`, limit: l.smsPerPrefixHour, periodMs: HOUR },
    { name: "sms_per_country_hour", bucket: `sms_c:${input.mode}:${input.country}`, limit: l.smsPerCountryHour, periodMs: HOUR },
    { name: "sms_budget_hour", bucket: `sms_b:${input.mode}`, limit: l.smsBudgetHour, periodMs: HOUR }
  ]
}

/**
 * Every `/v1` request with an API key counts against the key's per-minute limit (API.md: 6000/minute).
 * Above LOG_MAX it is a slotted window: one row of 61 integers per key however busy the key is.
 */
export const keyChecks = (policy: Policy, keyId: string): ReadonlyArray<Check> => [
  { name: "requests_per_key_minute", bucket: `key_m:${keyId}`, limit: policy.limits.requestsPerKeyMinute, periodMs: MINUTE }
]

/** Code guesses per identifier and minute, across all of its auth requests (API.md: 20/minute). */
export const verifyCheck = (policy: Policy, input: { readonly mode: Mode; readonly identifier: string }): Check => ({
  name: "verify_per_identifier_minute",
  bucket: `verify_m:${input.mode}:${input.identifier}`,
  limit: policy.limits.verifyPerIdentifierMinute,
  periodMs: MINUTE
})

/**
 * The request's tightest limit, written by whoever counted the request and read by the HTTP layer
 * for `X-RateLimit-*`. The HTTP middleware provides a fresh box per request.
 */
export const RateLimitBox = Context.Reference<{ current: LimitState | undefined }>("sesame/RateLimitBox", {
  defaultValue: () => ({ current: undefined })
})

/** Keeps the limit with the least room of everything this request counted against, for X-RateLimit-*. */
export const noteLimit = (state: LimitState) =>
  Effect.gen(function* () {
    const box = yield* RateLimitBox
    if (box.current === undefined || state.remaining <= box.current.remaining) box.current = state
  })
