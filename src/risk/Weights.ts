import type { PhoneType } from "../domain/Phone.ts"

/**
 * Every weight and threshold of the risk score, in one place (documented in the README).
 *
 * Each signal contributes `weight × min(1, value / saturation)` and contributions combine as
 * independent evidence: score = 1 − Π(1 − contribution). So the score is in [0, 1], never decreases
 * when any one signal grows, and one strong signal is not diluted by many quiet ones.
 */
export const LINE_TYPE_RISK: Readonly<Record<PhoneType, number>> = {
  mobile: 0,
  landline: 0.2,
  personal: 0.3,
  pager: 0.3,
  uan: 0.3,
  unknown: 0.3,
  toll_free: 0.4,
  shared_cost: 0.5,
  voip: 0.5,
  premium_rate: 0.7
}

export const WEIGHTS = {
  /** SMS sends to this number in the last hour (this one excluded). */
  phoneVelocity: { weight: 0.4, saturation: 5 },
  /** Distinct numbers the same end-user IP asked codes for in the last hour: the pumping burst. */
  ipVelocity: { weight: 0.9, saturation: 10 },
  /** SMS sends to the same number prefix (number minus its last 4 digits) in the last hour. */
  prefixVelocity: { weight: 0.5, saturation: 10 },
  /** Consecutive wrong codes recorded for the number. */
  failedVerifications: { weight: 0.5, saturation: 10 },
  /** The number's country is not in the tenant's `smsAllowedCountries`. */
  countryNotAllowed: { weight: 0.6 },
  /** The bound email is on a disposable-address list. */
  disposableEmail: { weight: 0.5 }
} as const

/** The look-back window of the velocity signals. */
export const VELOCITY_WINDOW_MS = 3_600_000
