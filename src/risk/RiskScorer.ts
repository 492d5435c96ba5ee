import { disposableEmailBlocklistSet } from "disposable-email-domains-js"
import { Context, Effect, Layer } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { Mode, TenantId } from "../domain/Ids.ts"
import type { Phone } from "../domain/Phone.ts"
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

// The community-maintained disposable-email-domains blocklist (~9k domains, CC0), via an exactly pinned
// package: upgrading it is how the list is refreshed. Loaded once, on the first SMS risk check (not at
// startup); the signal is one input of several, never a block on its own.
let disposable: ReadonlySet<string> | undefined
const blocklist = (): ReadonlySet<string> => disposable ??= disposableEmailBlocklistSet()

/** The domain or any parent of it is on the list (`x.mailinator.com` is as disposable as `mailinator.com`). */
export const isDisposableDomain = (domain: string): boolean => {
  const labels = domain.trim().toLowerCase().replace(/\.$/u, "").split(".")
  const list = blocklist()
  for (let i = 0; i < labels.length - 1; i++) {
    if (list.has(labels.slice(i).join("."))) return true
  }
  return false
}

export const staticSignals = (
  input: RiskInput,
  history: { readonly phoneSends: number; readonly ipPhones: number; readonly prefixSends: number; readonly failedVerifications: number }
) => ({
  phoneType: input.phone.type,
  countryAllowed: input.allowedCountries.length === 0 || input.allowedCountries.includes(input.phone.country),
  disposableEmail: input.emailDomain !== null && isDisposableDomain(input.emailDomain),
  ...history
})
