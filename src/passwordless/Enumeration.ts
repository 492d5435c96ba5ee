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
 * nothing can ever verify it, and instead of the sign-in email it gets either nothing (the outbox row
 * is replaced by a `send.suppressed` audit row of the same cost) or, with `noAccountEmail`, a short
 * "there is no account for this address" email.
 */
export const isDecoy = (row: Pick<AuthRequestRow, "codeHash" | "linkHash">): boolean =>
  row.codeHash === null && row.linkHash === null

/** What a send or resend puts in the outbox for this request; null: nothing (suppressed). */
export const outgoing = (
  row: AuthRequestRow,
  credentials: Credentials,
  policy: Policy,
  nowMs: number,
  publicUrl: string
): MessagePayload | null => {
  if (row.channel === "sms") {
    // SMS (#4): a decoy gets no message at all (no "no account" SMS: every SMS costs the tenant money).
    return isDecoy(row) || credentials.code === null ? null : composeSms(row, credentials.code, policy, nowMs)
  }
  if (!isDecoy(row)) return composeEmail(row, credentials, policy, nowMs, publicUrl)
  return policy.noAccountEmail ? noAccountEmail(policy) : null
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
