/**
 * Masks for email addresses and phone numbers in log lines: enough left to tell two recipients apart
 * while reading a log, not enough to contact or identify anyone.
 */

/** `ada@example.com` → `a***@example.com`: the local part's first character and the domain. */
export const maskEmail = (email: string): string => {
  const at = email.lastIndexOf("@")
  return at < 1 ? "***" : `${email.slice(0, 1)}***${email.slice(at)}`
}

/**
 * `+447400123456` → `+4474******56`: the country code and the start of the number (never more than a
 * third of the digits) and the last two digits; every other digit is a `*`.
 */
export const maskPhone = (phone: string): string => {
  const plus = phone.startsWith("+") ? "+" : ""
  const digits = plus === "" ? phone : phone.slice(1)
  if (digits.length < 6) return `${plus}${"*".repeat(digits.length)}`
  const head = Math.min(4, Math.floor(digits.length / 3))
  return `${plus}${digits.slice(0, head)}${"*".repeat(digits.length - head - 2)}${digits.slice(-2)}`
}

/** A message's recipient, whichever channel it is: an email has an `@`, anything else is a phone number. */
export const maskRecipient = (to: string): string => to.includes("@") ? maskEmail(to) : maskPhone(to)

// An address as SMTP servers and providers quote it in their errors, and an E.164-like number
// (7–15 digits after an optional +, not part of a longer run of digits or letters).
const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+/g
const PHONE = /(?<![\w+])\+?\d{7,15}(?!\w)/g

/**
 * Masks every email address and phone number in a free text (a provider's error message, which may
 * quote the recipient: "550 5.1.1 <ada@example.com>: Recipient address rejected").
 */
export const maskText = (text: string): string =>
  text.replace(EMAIL, maskEmail).replace(PHONE, maskPhone)
