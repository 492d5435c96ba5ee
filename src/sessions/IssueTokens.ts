import { Effect } from "effect"
import type { Approval } from "../api/Passwordless.ts"
import type { Session } from "../api/Shapes.ts"
import type { Mode, SessionId, TenantId } from "../domain/Ids.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import type { TokenSigner } from "./TokenSigner.ts"
import type { UserRow } from "./UserStore.ts"

export interface IssueInput {
  readonly tenantId: TenantId
  /** The session's mode: its tokens come from that mode's issuer and key, and say so in `mode`. */
  readonly mode: Mode
  readonly sessionId: SessionId
  readonly user: UserRow
  readonly amr: ReadonlyArray<string>
  readonly policy: Policy
  readonly now: Date
  readonly refreshToken: string
  readonly refreshExpiresAt: Date
  /** The session's absolute end: no access token outlives it (ASVS 10.4.8). */
  readonly sessionExpiresAt: Date
  /** The auth request's approval, signed into the ID token as `approval_data`. */
  readonly approval?: Approval | null
}

/** The ID token's `approval_data` claim: the approved pairs, else the transaction and its summary. */
export const approvalClaim = (approval: Approval): { readonly [key: string]: string } =>
  approval.data ?? { transactionId: approval.transactionId, summary: approval.summary }

/** The access and id tokens of a session (at sign-in and at every refresh), as the wire `Session`. */
export const issueTokens = (signer: TokenSigner["Service"], input: IssueInput) =>
  Effect.gen(function*() {
    const { tenantId, mode, sessionId, user, policy, now } = input
    const ttl = Math.max(1, Math.min(policy.accessTokenTtlSeconds, Math.floor((input.sessionExpiresAt.getTime() - now.getTime()) / 1000)))
    // Two ES256 signatures (~0.1 ms CPU each, on WebCrypto's thread pool): run them side by side.
    const [access, id] = yield* Effect.all([
      signer.signAccess({
        mode, sub: user.id, aud: tenantId, tid: tenantId, sid: sessionId, amr: input.amr, email: user.email, phone_number: user.phone
      }, ttl, now),
      signer.signId({
        mode,
        sub: user.id,
        aud: tenantId,
        sid: sessionId,
        email: user.email,
        email_verified: user.emailVerifiedAt !== null,
        phone_number: user.phone,
        phone_number_verified: user.phoneVerifiedAt !== null,
        ...(input.approval === null || input.approval === undefined ? {} : { approval_data: approvalClaim(input.approval) })
      }, ttl, now)
    ], { concurrency: 2 })
    const session: Session = {
      id: sessionId,
      accessToken: access.token,
      refreshToken: input.refreshToken,
      tokenType: "Bearer",
      expiresIn: ttl,
      expiresAt: access.expiresAt,
      refreshExpiresAt: Math.floor(input.refreshExpiresAt.getTime() / 1000)
    }
    return { session, idToken: id.token }
  })
