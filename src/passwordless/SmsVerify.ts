import type { CurrentKey } from "../api/Security.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import { smsChecks } from "../limits/Limits.ts"
import type { Check } from "../limits/RateLimiter.ts"
import type { AuthRequestRow } from "./CodeStore.ts"
import { classifyPhone } from "../domain/Phone.ts"

/** A resend of an SMS request is one more SMS: it counts against the pumping limits too. */
export const resendSmsChecks = (policy: Policy, caller: CurrentKey["Service"], row: AuthRequestRow): ReadonlyArray<Check> => {
  if (row.channel !== "sms") return []
  const phone = classifyPhone(row.identifier)
  if (phone === undefined) return []
  return smsChecks(policy, { mode: caller.mode, phone: phone.e164, country: phone.country, prefix: phone.prefix })
}
