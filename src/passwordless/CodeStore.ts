import { Context, Data, type Effect, type Schema } from "effect"
import type { Approval, SendRequest } from "../api/Passwordless.ts"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { AuthRequestId, AuthType, Channel, Mode, Template, TenantId, UserId } from "../domain/Ids.ts"

export type RenderOptions = Pick<SendRequest, "emailContent" | "templateVariables" | "smsMessage" | "linkMode" | "linkParam">

export interface AuthRequestRow {
  readonly tenantId: TenantId
  readonly id: AuthRequestId
  readonly mode: Mode
  readonly channel: Channel
  readonly type: AuthType
  /** The normalised email or E.164 phone that attempts and limits are counted by. */
  readonly identifier: string
  readonly email: string | null
  readonly phone: string | null
  readonly codeHash: Uint8Array | null
  readonly codeLength: number
  readonly linkHash: Uint8Array | null
  readonly codeChallenge: string | null
  readonly redirectUrl: string | null
  readonly state: string | null
  readonly template: Template
  readonly locale: string | null
  readonly metadata: { readonly [k: string]: Schema.Json } | null
  readonly approval: Approval | null
  /** What the message was rendered from, so a resend can render it again. */
  readonly renderOptions: RenderOptions | null
  readonly clientIp: string | null
  readonly userAgent: string | null
  readonly attempts: number
  readonly maxAttempts: number
  readonly resends: number
  readonly lastSentAt: Date
  readonly createdAt: Date
  readonly expiresAt: Date
  readonly verifiedAt: Date | null
  readonly userId: UserId | null
  /** resendStrategy `reuse`: the credentials sealed with AES-256-GCM (AAD = request id); wiped on verify. */
  readonly sealedCredentials?: Uint8Array | null
  /** resendStrategy `keep`: hashes of earlier codes and links that stay valid until the request expires. */
  readonly keptCodeHashes?: ReadonlyArray<Uint8Array>
  readonly keptLinkHashes?: ReadonlyArray<Uint8Array>
  /** SMS sends (#4): the risk score in [0,1] (3 decimals) and the signals that raised it; absent/null for email. */
  readonly riskScore?: number | null
  readonly riskSignals?: ReadonlyArray<string> | null
}

/** What the caller proves: a code (its HMAC) or a link token (its SHA-256, plus the PKCE challenge it recomputed). */
export type Proof =
  | { readonly _tag: "Code"; readonly hash: Uint8Array }
  | { readonly _tag: "Link"; readonly hash: Uint8Array; readonly challenge: string | null }

export interface IdentifierPolicy {
  readonly maxFailures: number
  readonly lockMs: number
}

export type ConsumeResult = Data.TaggedEnum<{
  Verified: { readonly request: AuthRequestRow }
  Invalid: { readonly attemptsRemaining: number; readonly identifier: string }
  Expired: {}
  AlreadyUsed: {}
  Locked: { readonly retryAfterMs: number }
  NotFound: {}
  OriginMismatch: {}
}>
export const ConsumeResult = Data.taggedEnum<ConsumeResult>()

export type ResendResult = Data.TaggedEnum<{
  Resent: { readonly request: AuthRequestRow }
  TooSoon: { readonly retryAfterMs: number }
  TooMany: {}
  Expired: {}
  AlreadyUsed: {}
  Locked: { readonly retryAfterMs: number }
  NotFound: {}
}>
export const ResendResult = Data.taggedEnum<ResendResult>()

export interface Key {
  readonly tenantId: TenantId
  readonly mode: Mode
}

/**
 * Auth requests and the per-identifier failure count. Every method that decides single use, attempt
 * limits or resend rules is ONE atomic step of the store, so the rules hold under concurrent calls
 * from many processes.
 */
export class CodeStore extends Context.Service<CodeStore, {
  readonly insert: (row: AuthRequestRow) => Effect.Effect<void, ServiceUnavailable>
  readonly get: (key: Key, id: AuthRequestId) => Effect.Effect<AuthRequestRow | undefined, ServiceUnavailable>
  /**
   * The newest unverified request for an identifier (verify by email/phone + code); with `boundEmail`,
   * the newest unverified SMS request bound to that email.
   */
  readonly latestFor: (key: Key, identifier: string, boundEmail?: boolean) => Effect.Effect<AuthRequestRow | undefined, ServiceUnavailable>
  /**
   * Counts one attempt and marks the request verified iff the proof matches, the request is unexpired at
   * `now` (`now < expiresAt`), unused, under its attempt cap, and its identifier is not locked.
   * With a link proof and no id, the request is found by the link hash.
   */
  readonly consume: (
    key: Key,
    target: { readonly id: AuthRequestId | null; readonly proof: Proof },
    now: Date
  ) => Effect.Effect<ConsumeResult, ServiceUnavailable>
  /**
   * Records a wrong guess against the identifier; locks it for `lockMs` after `maxFailures` consecutive
   * ones. True when this failure locked it.
   */
  readonly recordFailure: (key: Key, identifier: string, policy: IdentifierPolicy, now: Date) => Effect.Effect<boolean, ServiceUnavailable>
  readonly resetFailures: (key: Key, identifier: string, now: Date) => Effect.Effect<void, ServiceUnavailable>
  /** Replaces the credentials (when given) and counts a resend, if the cooldown and the resend cap allow it. */
  readonly resend: (
    key: Key,
    id: AuthRequestId,
    update: {
      readonly codeHash: Uint8Array | null
      readonly linkHash: Uint8Array | null
      readonly cooldownMs: number
      readonly maxResends: number
      /** Keep the replaced code and link valid beside the new ones (resendStrategy `keep`). */
      readonly keep?: boolean
    },
    now: Date
  ) => Effect.Effect<ResendResult, ServiceUnavailable>
}>()("sesame/CodeStore") {}
