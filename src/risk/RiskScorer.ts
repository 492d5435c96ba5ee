import { Context, Effect, Layer } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { Mode, TenantId } from "../domain/Ids.ts"
import type { Phone } from "../sms/Phone.ts"
import { type RiskAssessment, scoreOf } from "./Score.ts"

export interface RiskInput {
  readonly tenantId: TenantId
  readonly mode: Mode
  readonly phone: Phone
  readonly ip: string | null
  /** The bound email's domain, normalised. */
  readonly emailDomain: string | null
  readonly allowedCountries: ReadonlyArray<string>
  readonly nowMs: number
}

/** Scores an SMS send before anything is written or sent (Auth1 "Risk Scoring"). */
export class RiskScorer extends Context.Service<RiskScorer, {
  readonly score: (input: RiskInput) => Effect.Effect<RiskAssessment, ServiceUnavailable>
}>()("sesame/RiskScorer") {
  /** No history: only the number itself, its country and the email domain count. */
  static readonly layerTest = Layer.succeed(RiskScorer)({
    score: (input) => Effect.succeed(scoreOf(staticSignals(input, { phoneSends: 0, ipPhones: 0, prefixSends: 0, failedVerifications: 0 })))
  })
}

// A short, stable list of the biggest throwaway-mail providers. (A maintained list package is the
// follow-up; the signal is one input of several, never a block on its own.)
const DISPOSABLE = new Set([
  "mailinator.com", "guerrillamail.com", "10minutemail.com", "tempmail.com", "temp-mail.org", "yopmail.com",
  "trashmail.com", "sharklasers.com", "getnada.com", "dispostable.com", "maildrop.cc", "throwawaymail.com"
])

export const staticSignals = (
  input: RiskInput,
  history: { readonly phoneSends: number; readonly ipPhones: number; readonly prefixSends: number; readonly failedVerifications: number }
) => ({
  phoneType: input.phone.type,
  countryAllowed: input.allowedCountries.length === 0 || input.allowedCountries.includes(input.phone.country),
  disposableEmail: input.emailDomain !== null && DISPOSABLE.has(input.emailDomain),
  ...history
})
