/**
 * Email addresses as Sesame accepts them: one `@`, a local part of at most 64 octets and a whole
 * address of at most 254 (RFC 5321 §4.5.3.1), no whitespace or control characters (nothing that could
 * reach a mail header: ASVS 1.3.11), and a domain of dot-separated DNS labels. Normalised to lower case,
 * which is also the identity key: users, attempts and limits are counted per normalised address.
 */
const LOCAL = /^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]+$/
const LABEL = /^(?!-)[A-Za-z0-9-]{1,63}(?<!-)$/

export const normalizeEmail = (input: string): string | undefined => {
  const email = input.trim().toLowerCase()
  if (email.length > 254) return undefined
  const at = email.lastIndexOf("@")
  if (at <= 0 || at !== email.indexOf("@")) return undefined
  const local = email.slice(0, at)
  const domain = email.slice(at + 1)
  if (Buffer.byteLength(local, "utf8") > 64 || !LOCAL.test(local)) return undefined
  if (local.startsWith(".") || local.endsWith(".") || local.includes("..")) return undefined
  const labels = domain.split(".")
  if (labels.length < 2 || !labels.every((l) => LABEL.test(l))) return undefined
  if (!/^[a-z]{2,63}$|^xn--[a-z0-9-]+$/.test(labels[labels.length - 1] ?? "")) return undefined
  return email
}
