import type { SendRequest } from "../api/Passwordless.ts"
import type { AuthRequestId, AuthType, Channel, Mode, TenantId } from "../domain/Ids.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import type { AuthRequestRow } from "./CodeStore.ts"
import type { Credentials } from "./Compose.ts"
import { sealFor } from "./ResendStrategy.ts"

/**
 * The one builder of a new auth request row, for email and SMS alike: what the caller sent, the
 * tenant's policy (attempt cap, resend strategy), the hashes of fresh credentials — none for a decoy
 * (`known: false`, Enumeration.ts), so nothing can ever verify it.
 */
export const newAuthRequest = (input: {
  readonly tenantId: TenantId
  readonly mode: Mode
  readonly id: AuthRequestId
  readonly channel: Channel
  readonly type: AuthType
  readonly identifier: string
  readonly email: string | null
  readonly phone: string | null
  readonly request: SendRequest
  readonly policy: Policy
  readonly credentials: Credentials
  readonly codeHash: Uint8Array | null
  readonly linkHash: Uint8Array | null
  readonly known: boolean
  readonly codeLength: number
  readonly expiresIn: number
  readonly nowMs: number
  readonly seal: (plaintext: string, aad: string) => Buffer
  readonly risk?: { readonly score: number; readonly signals: ReadonlyArray<string> }
}): AuthRequestRow => {
  const { request, policy, nowMs } = input
  const now = new Date(nowMs)
  // the channel's own rendering option (the email's content or the SMS text), and the template variables
  const own = input.channel === "sms"
    ? request.smsMessage === undefined ? {} : { smsMessage: request.smsMessage }
    : {
      ...(request.emailContent === undefined ? {} : { emailContent: request.emailContent }),
      ...(request.linkMode === undefined ? {} : { linkMode: request.linkMode }),
      ...(request.linkParam === undefined ? {} : { linkParam: request.linkParam })
    }
  const renderOptions = Object.keys(own).length === 0 && request.templateVariables === undefined ? null : {
    ...own,
    ...(request.templateVariables === undefined ? {} : { templateVariables: request.templateVariables })
  }
  return {
    tenantId: input.tenantId, id: input.id, mode: input.mode, channel: input.channel, type: input.type,
    identifier: input.identifier, email: input.email, phone: input.phone,
    codeHash: input.known ? input.codeHash : null, codeLength: input.codeLength, linkHash: input.known ? input.linkHash : null,
    // links are email only
    codeChallenge: input.channel === "sms" ? null : request.codeChallenge ?? null,
    redirectUrl: input.channel === "sms" ? null : request.redirectUrl ?? null, state: request.state ?? null,
    template: request.template ?? "SIGNIN", locale: request.locale ?? null, metadata: request.metadata ?? null,
    approval: request.approval ?? null, renderOptions,
    clientIp: request.client?.ipAddress ?? null, userAgent: request.client?.userAgent ?? null,
    attempts: 0, maxAttempts: policy.maxAttempts, resends: 0, lastSentAt: now, createdAt: now,
    expiresAt: new Date(nowMs + input.expiresIn * 1000), verifiedAt: null, userId: null,
    // sealed on both paths (the same work); a decoy's credentials verify nothing either way
    sealedCredentials: sealFor(policy, input.credentials, input.id, input.seal),
    ...(input.risk === undefined ? {} : { riskScore: input.risk.score, riskSignals: input.risk.signals })
  }
}
