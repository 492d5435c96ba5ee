import type { Policy } from "../domain/TenantSettings.ts"
import { appendQuery } from "../domain/Redirect.ts"
import { renderEmail } from "../delivery/EmailTemplate.ts"
import type { AuthRequestRow } from "./CodeStore.ts"

export interface Credentials {
  readonly code: string | null
  readonly linkToken: string | null
}

/** The email for an auth request: the code and/or the link (direct mode: `redirectUrl?link_token=…`). */
export const composeEmail = (row: AuthRequestRow, credentials: Credentials, policy: Policy, nowMs: number) => {
  const link = credentials.linkToken !== null && row.redirectUrl !== null
    ? appendQuery(row.redirectUrl, { link_token: credentials.linkToken })
    : undefined
  const rendered = renderEmail({
    type: row.type,
    template: row.template,
    appName: policy.appName,
    code: credentials.code ?? undefined,
    link,
    expiresInMinutes: Math.max(1, Math.floor((row.expiresAt.getTime() - nowMs) / 60_000)),
    approval: row.approval ?? undefined,
    templateVariables: row.renderOptions?.templateVariables,
    content: {
      ...row.renderOptions?.emailContent,
      ...(row.renderOptions?.emailContent?.senderName === undefined && policy.senderName !== null
        ? { senderName: policy.senderName }
        : {})
    }
  })
  const hint = [credentials.code !== null ? `code ${credentials.code}` : "", link !== undefined ? `link ${link}` : ""]
    .filter((s) => s !== "").join(", ")
  return {
    subject: rendered.subject,
    fromName: rendered.senderName,
    text: rendered.text,
    html: rendered.html,
    replyTo: policy.replyTo,
    hint
  }
}
