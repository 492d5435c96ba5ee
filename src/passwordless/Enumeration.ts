import { renderEmail } from "../delivery/EmailTemplate.ts"
import type { MessagePayload } from "../delivery/Outbox.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import type { AuthRequestRow } from "./CodeStore.ts"
import { composeEmail, type Credentials } from "./Compose.ts"
import { composeSms } from "../sms/SmsText.ts"

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

/** What a send or resend writes to the outbox: always a rendered message; `suppressed` ones are never delivered. */
export interface Outgoing {
  readonly payload: MessagePayload
  readonly suppressed: boolean
}

export const outgoing = (
  row: AuthRequestRow,
  credentials: Credentials,
  policy: Policy,
  nowMs: number,
  /** Where hosted links point (email only). */
  publicUrl = ""
): Outgoing => {
  const decoy = isDecoy(row)
  // A decoy's credentials verify nothing (no hash is stored), but they are rendered all the same.
  const signIn = row.channel === "sms"
    ? composeSms(row, credentials.code ?? "", policy, nowMs)
    : composeEmail(row, credentials, policy, nowMs, publicUrl)
  // Decoys exist only with sign-up off; then the notice is rendered on both paths.
  // SMS (#4): no "no account" SMS (every SMS costs the tenant money): a decoy SMS is suppressed.
  const notice = row.channel === "email" && policy.noAccountEmail && (decoy || !policy.allowSignup)
    ? noAccountEmail(policy)
    : null
  if (!decoy) return { payload: signIn, suppressed: false }
  return notice === null ? { payload: signIn, suppressed: true } : { payload: notice, suppressed: false }
}
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
