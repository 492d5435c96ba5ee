import {
  createCipheriv, createDecipheriv, createHash, createHmac, createSecretKey, hkdfSync, type KeyObject, randomBytes, randomFillSync,
  randomInt, timingSafeEqual
} from "node:crypto"

const BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// One CSPRNG call per 4 KiB instead of one per id: a send and a verify draw a dozen ids between them.
const pool = Buffer.alloc(4096)
let poolAt = pool.length
const randomByte = (): number => {
  if (poolAt === pool.length) {
    randomFillSync(pool)
    poolAt = 0
  }
  return pool[poolAt++] ?? 0
}

/** `n` bytes from the pool. */
export const randomPoolBytes = (n: number): Uint8Array => {
  const out = new Uint8Array(n)
  for (let i = 0; i < n; i++) out[i] = randomByte()
  return out
}

/** `prefix_` + 22 base62 chars drawn from the CSPRNG (~131 bits), without modulo bias (bytes ≥ 248 are redrawn). */
export const randomId = (prefix: string): string => {
  let out = prefix + "_"
  for (let i = 0; i < 22;) {
    const b = randomByte()
    if (b >= 248) continue
    out += BASE62[b % 62]
    i++
  }
  return out
}

/** A decimal one-time code from the CSPRNG, leading zeros kept (NIST SP 800-63B-4 §3.1.3.2; ASVS 6.5.3). */
export const randomCode = (length: number): string => {
  let out = ""
  for (let i = 0; i < length; i++) out += String(randomInt(0, 10))
  return out
}

/** A 256-bit secret, base64url (link tokens, refresh tokens, API keys). */
export const randomToken = (bytes = 32): string => randomBytes(bytes).toString("base64url")

export const sha256 = (value: string): Buffer => createHash("sha256").update(value, "utf8").digest()

export const sha256Base64Url = (value: string): string => createHash("sha256").update(value, "ascii").digest("base64url")

/** Keys are KeyObjects made once (`secretKey`): on Node 24 an HMAC with a raw Buffer key costs ~7× more. */
export const hmacSha256 = (key: KeyObject, value: string): Buffer => createHmac("sha256", key).update(value, "utf8").digest()

export const secretKey = (bytes: Uint8Array): KeyObject => createSecretKey(bytes)

export const constantTimeEqual = (a: Uint8Array, b: Uint8Array): boolean => a.length === b.length && timingSafeEqual(a, b)

export const deriveKey = (master: Uint8Array, purpose: string): Buffer =>
  Buffer.from(hkdfSync("sha256", master, Buffer.alloc(0), `sesame/${purpose}`, 32))

/** AES-256-GCM: 12-byte random nonce ‖ ciphertext ‖ 16-byte tag. `aad` binds the ciphertext to its row. */
export const encrypt = (key: KeyObject, plaintext: string, aad: string): Buffer => {
  const iv = randomBytes(12)
  const cipher = createCipheriv("aes-256-gcm", key, iv)
  cipher.setAAD(Buffer.from(aad, "utf8"))
  const body = Buffer.concat([cipher.update(plaintext, "utf8"), cipher.final()])
  return Buffer.concat([iv, body, cipher.getAuthTag()])
}

export const decrypt = (key: KeyObject, data: Uint8Array, aad: string): string => {
  const buf = Buffer.from(data)
  const decipher = createDecipheriv("aes-256-gcm", key, buf.subarray(0, 12))
  decipher.setAAD(Buffer.from(aad, "utf8"))
  decipher.setAuthTag(buf.subarray(buf.length - 16))
  return Buffer.concat([decipher.update(buf.subarray(12, buf.length - 16)), decipher.final()]).toString("utf8")
}
