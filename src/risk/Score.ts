import type { PhoneType } from "../domain/Phone.ts"
import { LINE_TYPE_RISK, WEIGHTS } from "./Weights.ts"

/** The facts a score is computed from; counts are over the last hour (Weights.ts `VELOCITY_WINDOW_MS`). */
export interface RiskSignals {
  readonly phoneType: PhoneType
  readonly countryAllowed: boolean
  readonly phoneSends: number
  readonly ipPhones: number
  readonly prefixSends: number
  readonly failedVerifications: number
  readonly disposableEmail: boolean
}

export interface RiskAssessment {
  /** In [0, 1], rounded to 3 decimals. */
  readonly score: number
  /** The signals that raised it, strongest first (e.g. `line_type:voip`, `ip_velocity`). */
  readonly signals: ReadonlyArray<string>
}

const saturate = (value: number, at: number) => Math.min(1, Math.max(0, value) / at)

/** A pure function of the signals: the same inputs always give the same score. */
export const scoreOf = (s: RiskSignals): RiskAssessment => {
  const parts: Array<readonly [string, number]> = [
    [`line_type:${s.phoneType}`, LINE_TYPE_RISK[s.phoneType]],
    ["country_not_allowed", s.countryAllowed ? 0 : WEIGHTS.countryNotAllowed.weight],
    ["phone_velocity", WEIGHTS.phoneVelocity.weight * saturate(s.phoneSends, WEIGHTS.phoneVelocity.saturation)],
    ["ip_velocity", WEIGHTS.ipVelocity.weight * saturate(s.ipPhones, WEIGHTS.ipVelocity.saturation)],
    ["prefix_velocity", WEIGHTS.prefixVelocity.weight * saturate(s.prefixSends, WEIGHTS.prefixVelocity.saturation)],
    ["failed_verifications", WEIGHTS.failedVerifications.weight * saturate(s.failedVerifications, WEIGHTS.failedVerifications.saturation)],
    ["disposable_email", s.disposableEmail ? WEIGHTS.disposableEmail.weight : 0]
  ]
  const raised = parts.filter(([, c]) => c > 0)
  const safe = raised.reduce((p, [, c]) => p * (1 - c), 1)
  // Rounding is monotone, so the rounded score stays monotone in every signal.
  const score = Math.min(1, Math.max(0, Math.round((1 - safe) * 1000) / 1000))
  return { score, signals: [...raised].sort((a, b) => b[1] - a[1]).map(([name]) => name) }
}
