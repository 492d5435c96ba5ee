import { Effect } from "effect"
import { ValidationFailed } from "../api/Errors.ts"
import type { CurrentKey } from "../api/Security.ts"
import { normalizeEmail } from "../domain/Email.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import { smsChecks } from "../limits/Limits.ts"
import type { Check } from "../limits/RateLimiter.ts"
import type { AuthRequestRow } from "../passwordless/CodeStore.ts"
import { classifyPhone } from "./Phone.ts"

/**
 * Auth1: an SMS code sent with an email binds that identity, and verify must present the same email.
 * Checked before the code is consumed, so a wrong email costs no attempt; it reveals nothing the
 * caller (the tenant's backend, which sent it) did not already know.
 */
export const checkBoundEmail = (row: AuthRequestRow | undefined, request: { readonly email?: string | undefined }) =>
  Effect.gen(function* () {
    if (row === undefined || row.channel !== "sms" || row.email === null) return
    const given = request.email === undefined ? undefined : normalizeEmail(request.email)
    if (given !== row.email) {
      return yield* new ValidationFailed({ message: "This code must be verified with the email it was sent with.", field: "email" })
    }
  })

/** A resend of an SMS request is one more SMS: it counts against the pumping limits too. */
export const resendSmsChecks = (policy: Policy, caller: CurrentKey["Service"], row: AuthRequestRow): ReadonlyArray<Check> => {
  if (row.channel !== "sms") return []
  const phone = classifyPhone(row.identifier)
  if (phone === undefined) return []
  return smsChecks(policy, { mode: caller.mode, phone: phone.e164, country: phone.country, prefix: phone.prefix })
}
