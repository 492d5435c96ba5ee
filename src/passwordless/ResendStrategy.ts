import { Schema } from "effect"
import type { Policy } from "../domain/TenantSettings.ts"
import type { AuthRequestRow } from "./CodeStore.ts"
import type { Credentials } from "./Compose.ts"
import { isDecoy } from "./Enumeration.ts"

const SealedCredentials = Schema.fromJsonString(Schema.Struct({
  code: Schema.NullOr(Schema.String),
  linkToken: Schema.NullOr(Schema.String)
}))
const decodeSealed = Schema.decodeUnknownOption(SealedCredentials)

export interface Fresh {
  readonly credentials: Credentials
  readonly codeHash: Uint8Array | null
  readonly linkHash: Uint8Array | null
}

/**
 * What a resend sends and stores (API.md "resendStrategy"); no strategy touches the attempt count.
 * - `rotate`: fresh credentials; the store replaces the hashes, so the old code and link stop working.
 * - `keep`: fresh credentials; the store keeps the old hashes valid beside the new ones until the
 *   request expires (slow mail). The attempt cap still covers all of them together.
 * - `reuse`: the same credentials again, opened from `sealed_credentials` (AES-256-GCM under
 *   SESAME_SECRET, AAD = request id, sealed at send only for tenants using `reuse`, wiped on verify).
 *   If there is nothing to open (the tenant switched to `reuse` after the send, or the secret
 *   changed), it falls back to `rotate`.
 * A decoy (sign-up off, unknown address) stays a decoy: no hash is ever stored for it.
 */
export const planResend = (
  existing: AuthRequestRow,
  policy: Policy,
  fresh: Fresh,
  open: (sealed: Uint8Array, aad: string) => string
) => {
  if (isDecoy(existing)) return { credentials: fresh.credentials, codeHash: null, linkHash: null, keep: false }
  if (policy.resendStrategy === "reuse" && existing.sealedCredentials != null) {
    let plaintext: string | undefined
    try {
      plaintext = open(existing.sealedCredentials, existing.id)
    } catch {
      plaintext = undefined
    }
    const reused = plaintext === undefined ? undefined : decodeSealed(plaintext)
    if (reused !== undefined && reused._tag === "Some") {
      return { credentials: reused.value, codeHash: null, linkHash: null, keep: false }
    }
  }
  return { credentials: fresh.credentials, codeHash: fresh.codeHash, linkHash: fresh.linkHash, keep: policy.resendStrategy === "keep" }
}

/** Sealed only when the tenant reuses credentials on resend; otherwise codes exist only as HMAC. */
export const sealFor = (policy: Policy, credentials: Credentials, id: string, seal: (plaintext: string, aad: string) => Buffer) =>
  policy.resendStrategy === "reuse" ? seal(JSON.stringify(credentials), id) : null
