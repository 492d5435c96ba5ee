import { renderEmail } from "../delivery/EmailTemplate.ts"
import type { DeferredPayload, MessagePayload } from "../delivery/Outbox.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import type { AuthRequestRow } from "./CodeStore.ts"
import { composeEmail, type Credentials } from "./Compose.ts"
import { composeSms } from "./SmsText.ts"

/**
 * Enumeration safety (SECURITY.md "Enumeration and abuse"; OWASP Authentication cheat sheet; ASVS
 * 6.3.8). With `allowSignup: false`, an unknown address gets an auth request like any other — same
 * response, same status, same database work — but it is a decoy: no code or link hash is stored, so
 * nothing can ever verify it, and instead of the sign-in message it gets either nothing or, with
 * `noAccountEmail`, a short "there is no account for this address" email.
 *
 * Timing: both paths do the same work. The sign-in message is rendered and sealed for the decoy too
 * (a large stored template takes milliseconds to render: skipping it would tell the two apart), and
 * written as an outbox row of its own — marked `suppressed`, which no worker ever delivers — so both
 * paths run the same statements. With `noAccountEmail`, the notice is rendered on both paths as well.
 */
export const isDecoy = (row: Pick<AuthRequestRow, "codeHash" | "linkHash">): boolean =>
  row.codeHash === null && row.linkHash === null

/** What a send or resend writes to the outbox; `suppressed` ones are never delivered. */
export interface Outgoing {
  readonly payload: MessagePayload | DeferredPayload
  readonly suppressed: boolean
}

/**
 * The message of a send. `deferred` (test keys, whose messages are never delivered): nothing is
 * rendered now — the test outbox renders it when it is read (`renderDeferred`) — on the decoy's path
 * and the member's alike, so both still do the same work.
 */
export const outgoing = (
  row: AuthRequestRow,
  credentials: Credentials,
  policy: Policy,
  nowMs: number,
  /** Where hosted links point (email only). */
  publicUrl = "",
  deferred = false
): Outgoing => {
  const decoy = isDecoy(row)
  // Decoys exist only with sign-up off; then the notice is rendered on both paths.
  // SMS (#4): no "no account" SMS (every SMS costs the tenant money): a decoy SMS is suppressed.
  const noticeOn = row.channel === "email" && policy.noAccountEmail && (decoy || !policy.allowSignup)
  if (deferred) {
    const payload = (notice: boolean): DeferredPayload => ({ deferred: true, code: credentials.code, linkToken: credentials.linkToken, notice })
    if (!decoy) return { payload: payload(false), suppressed: false }
    return noticeOn ? { payload: payload(true), suppressed: false } : { payload: payload(false), suppressed: true }
  }
  // A decoy's credentials verify nothing (no hash is stored), but they are rendered all the same.
  const signIn = render(row, credentials, policy, nowMs, publicUrl)
  const notice = noticeOn ? noAccountEmail(policy) : null
  if (!decoy) return { payload: signIn, suppressed: false }
  return notice === null ? { payload: signIn, suppressed: true } : { payload: notice, suppressed: false }
}

const render = (row: AuthRequestRow, credentials: Credentials, policy: Policy, nowMs: number, publicUrl: string) =>
  row.channel === "sms"
    ? composeSms(row, credentials.code ?? "", policy, nowMs)
    : composeEmail(row, credentials, policy, nowMs, publicUrl)

/** A deferred (test-mode) message rendered as it would have been when it was sent (`sentAtMs`). */
export const renderDeferred = (
  row: AuthRequestRow,
  deferred: DeferredPayload,
  policy: Policy,
  sentAtMs: number,
  publicUrl: string
): MessagePayload =>
  deferred.notice ? noAccountEmail(policy) : render(row, { code: deferred.code, linkToken: deferred.linkToken }, policy, sentAtMs, publicUrl)

const noAccountEmail = (policy: Policy): MessagePayload => {
  const rendered = renderEmail({
    type: "OTP",
    template: "SIGNIN",
    appName: policy.appName,
    expiresInMinutes: 1,
    content: {
      subject: `Sign-in attempt at ${policy.appName}`,
      headerText: "There is no account for this address",
      bodyText: `Someone asked to sign in to ${policy.appName} with this email address, but it has no account there.`,
      ...(policy.senderName === null ? {} : { senderName: policy.senderName }),
      ...(policy.primaryColor === null ? {} : { primaryColor: policy.primaryColor }),
      ...(policy.logoUrl === null ? {} : { logoUrl: policy.logoUrl })
    }
  })
  return {
    subject: rendered.subject,
    fromName: rendered.senderName,
    text: rendered.text,
    html: rendered.html,
    replyTo: policy.replyTo,
    hint: "no account for this address"
  }
}
