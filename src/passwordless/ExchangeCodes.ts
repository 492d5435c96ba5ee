import { Context, Data, type Effect } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { AuthRequestId, Mode, TenantId } from "../domain/Ids.ts"
import type { AuthRequestRow, Key } from "./CodeStore.ts"

export interface ExchangeCodeRow {
  readonly codeHash: Uint8Array
  readonly tenantId: TenantId
  readonly mode: Mode
  readonly authRequestId: AuthRequestId
  /** The PKCE challenge of the link: the exchange needs its verifier. */
  readonly codeChallenge: string | null
  /** The verify response, AES-256-GCM sealed with the code hash as AAD. */
  readonly sealedResponse: Uint8Array
  readonly createdAt: Date
  readonly expiresAt: Date
}

export type RedeemResult = Data.TaggedEnum<{
  Redeemed: { readonly authRequestId: AuthRequestId; readonly sealedResponse: Uint8Array }
  Expired: {}
  AlreadyUsed: {}
  /** The code belongs to another auth request than the one named: left unused. */
  OtherRequest: {}
  NotFound: {}
}>
export const RedeemResult = Data.taggedEnum<RedeemResult>()

/** Exchange codes of the hosted link page, and the page's look-up of a link without its tenant. */
export class ExchangeCodes extends Context.Service<ExchangeCodes, {
  /** The auth request a link token (its SHA-256) belongs to, in any tenant; never changes it. */
  readonly requestForLink: (linkHash: Uint8Array) => Effect.Effect<AuthRequestRow | undefined, ServiceUnavailable>
  readonly insert: (row: ExchangeCodeRow) => Effect.Effect<void, ServiceUnavailable>
  /**
   * Uses the code iff it exists for this tenant and mode, is unused, unexpired at `now` and (when the
   * link had a PKCE challenge) `challenge` matches: ONE statement, so it succeeds at most once ever.
   */
  readonly redeem: (
    key: Key,
    codeHash: Uint8Array,
    /** When given, the code is used only if it belongs to this auth request (same-origin binding). */
    authRequestId: AuthRequestId | null,
    challenge: string | null,
    now: Date
  ) => Effect.Effect<RedeemResult, ServiceUnavailable>
  /** When the unused, unexpired exchange code of an auth request was created (cross-device completion). */
  readonly pendingFor: (key: Key, authRequestId: AuthRequestId, now: Date) => Effect.Effect<Date | undefined, ServiceUnavailable>
}>()("sesame/ExchangeCodes") {}

/**
 * The exchange code of an auth request, derived rather than stored: an HMAC under the server secret of
 * the request id and the creation time (256 bits, unguessable without SESAME_SECRET). Only its SHA-256
 * is stored, yet the customer's backend can be handed it again through `GET /v1/passwordless/{id}`,
 * which is how the tab that started a sign-in completes it when the link was opened on another device.
 */
export const exchangeCodeOf = (mac: (purpose: string, value: string) => Uint8Array, authRequestId: AuthRequestId, createdAtMs: number) =>
  Buffer.from(mac("exchange-code", `${authRequestId}:${createdAtMs}`)).toString("base64url")
