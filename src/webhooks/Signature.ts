import { createHmac, randomBytes } from "node:crypto"

const PREFIX = "whsec_"

/** `whsec_` + base64 of 32 random bytes (Standard Webhooks: 24–64 bytes; SECURITY.md "Webhooks"). */
export const newSecret = (): string => PREFIX + randomBytes(32).toString("base64")

const keyOf = (secret: string): Buffer =>
  Buffer.from(secret.startsWith(PREFIX) ? secret.slice(PREFIX.length) : secret, "base64")

/**
 * Standard Webhooks signature: `v1,` + base64 HMAC-SHA256 over `id.timestamp.body`, keyed with the
 * base64-decoded part of the secret (what the spec's own libraries verify).
 */
export const signStandard = (secret: string, id: string, timestampSeconds: number, body: string): string =>
  "v1," + createHmac("sha256", keyOf(secret)).update(`${id}.${timestampSeconds}.${body}`, "utf8").digest("base64")

/**
 * Auth1's `x-auth1-signature`: hex HMAC-SHA256 of the raw body keyed with the secret string itself,
 * so Auth1's published verification snippet works unchanged with the `whsec_…` secret.
 */
export const signAuth1 = (secret: string, body: string): string =>
  createHmac("sha256", secret).update(body, "utf8").digest("hex")

export interface SignedHeaders {
  readonly "webhook-id": string
  readonly "webhook-timestamp": string
  readonly "webhook-signature": string
  readonly "x-auth1-signature"?: string
}

/**
 * The signature headers of one delivery. During a rotation `secrets` holds the new secret first and
 * the previous one second: both signatures go out, space-separated, so receivers verify with either.
 * The Auth1 header has room for one value and uses the newest secret.
 */
export const signatureHeaders = (
  secrets: ReadonlyArray<string>,
  id: string,
  timestampSeconds: number,
  body: string,
  auth1: boolean
): SignedHeaders => {
  const headers = {
    "webhook-id": id,
    "webhook-timestamp": String(timestampSeconds),
    "webhook-signature": secrets.map((s) => signStandard(s, id, timestampSeconds, body)).join(" ")
  }
  const newest = secrets[0]
  return auth1 && newest !== undefined ? { ...headers, "x-auth1-signature": signAuth1(newest, body) } : headers
}
