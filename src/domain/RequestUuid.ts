import { randomPoolBytes } from "../platform/Crypto.ts"
import { AuthRequestId } from "./Ids.ts"

/**
 * Auth request ids with a UUID view. A new id is a random RFC 9562 version-4 UUID (122 random bits)
 * written as 22 base62 characters after `ar_`, so every request has a stable UUID alias — with no
 * column and no lookup: Auth1's clients store `phoneVerificationId` as a UUID and send it back.
 * Ids made before this (131 random bits) have no UUID view.
 */
const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
const DIGITS = 22
const UUID = /^([0-9a-f]{8})-([0-9a-f]{4})-(4[0-9a-f]{3})-([89ab][0-9a-f]{3})-([0-9a-f]{12})$/i

const toBase62 = (n: bigint): string => {
  let out = ""
  for (let i = 0; i < DIGITS; i++) {
    out = BASE62[Number(n % 62n)] + out
    n /= 62n
  }
  return out
}

const fromBase62 = (text: string): bigint | undefined => {
  let n = 0n
  for (const char of text) {
    const digit = BASE62.indexOf(char)
    if (digit === -1) return undefined
    n = n * 62n + BigInt(digit)
  }
  return n
}

const hexOf = (n: bigint) => n.toString(16).padStart(32, "0")

/** A fresh auth request id whose random part is a version-4 UUID. */
export const newAuthRequestId = (): AuthRequestId => {
  const bytes = randomPoolBytes(16)
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x40
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80
  return AuthRequestId.make(`ar_${toBase62(BigInt(`0x${Buffer.from(bytes).toString("hex")}`))}`)
}

/** The UUID alias of an id made by `newAuthRequestId`; undefined for any other id. */
export const uuidOfAuthRequest = (id: string): string | undefined => {
  if (!id.startsWith("ar_") || id.length !== 3 + DIGITS) return undefined
  const n = fromBase62(id.slice(3))
  if (n === undefined || n >= 1n << 128n) return undefined
  const hex = hexOf(n)
  const uuid = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
  return UUID.test(uuid) ? uuid : undefined
}

/** The auth request id a UUID alias stands for; undefined when the text is not a version-4 UUID. */
export const authRequestOfUuid = (uuid: string): AuthRequestId | undefined => {
  if (!UUID.test(uuid)) return undefined
  return AuthRequestId.make(`ar_${toBase62(BigInt(`0x${uuid.replaceAll("-", "")}`))}`)
}
