import { parsePhoneNumberFromString } from "libphonenumber-js/max"

export const PHONE_TYPES = [
  "mobile", "landline", "voip", "toll_free", "premium_rate", "shared_cost", "personal", "pager", "uan", "unknown"
] as const
export type PhoneType = typeof PHONE_TYPES[number]

export interface Phone {
  /** E.164, e.g. +14155550123 */
  readonly e164: string
  /** ISO 3166-1 alpha-2, or "001" for non-geographic numbers. */
  readonly country: string
  readonly type: PhoneType
  readonly isVoip: boolean
  /** The number without its last 4 digits: the unit SMS-pumping ranges are rented and capped in. */
  readonly prefix: string
}

const TYPES: Readonly<Record<string, PhoneType>> = {
  MOBILE: "mobile",
  // NANP and a few other plans cannot tell mobile from fixed by number: SMS reaches either.
  FIXED_LINE_OR_MOBILE: "mobile",
  FIXED_LINE: "landline",
  VOIP: "voip",
  TOLL_FREE: "toll_free",
  PREMIUM_RATE: "premium_rate",
  SHARED_COST: "shared_cost",
  PERSONAL_NUMBER: "personal",
  PAGER: "pager",
  UAN: "uan"
}

/**
 * Validates and classifies a phone number with libphonenumber's full ("max") metadata. Only E.164
 * input is accepted (a leading `+`; spaces, dashes and brackets are tolerated and dropped): no default
 * country is guessed, so the same digits never mean two different numbers.
 */
export const classifyPhone = (raw: string): Phone | undefined => {
  const input = raw.trim()
  if (!input.startsWith("+")) return undefined
  const parsed = parsePhoneNumberFromString(input)
  if (parsed === undefined || !parsed.isValid()) return undefined
  const type = TYPES[parsed.getType() ?? ""] ?? "unknown"
  const e164 = parsed.number
  return {
    e164,
    country: parsed.country ?? "001",
    type,
    isVoip: type === "voip",
    prefix: e164.slice(0, Math.max(4, e164.length - 4))
  }
}
