import type { Policy } from "../domain/TenantSettings.ts"
import { appendQuery } from "../domain/Redirect.ts"
import { renderEmail } from "../delivery/EmailTemplate.ts"
import { pickTenantTemplate, renderTenantTemplate } from "../templates/TenantTemplates.ts"
import type { AuthRequestRow } from "./CodeStore.ts"

export interface Credentials {
  readonly code: string | null
  readonly linkToken: string | null
}

/**
 * Where the email's link points: the hosted page `{publicUrl}/l/{token}` or `redirectUrl?link_token=…`
 * (direct; the parameter's name is the request's `linkParam`), per the request's `linkMode`, else the tenant's.
 */
export const linkFor = (row: AuthRequestRow, linkToken: string | null, policy: Policy, publicUrl: string): string | undefined => {
  if (linkToken === null || row.redirectUrl === null) return undefined
  return (row.renderOptions?.linkMode ?? policy.linkMode) === "hosted"
    ? `${publicUrl}/l/${linkToken}`
    : appendQuery(row.redirectUrl, { [row.renderOptions?.linkParam ?? "link_token"]: linkToken })
}

/** The email for an auth request: the code and/or the link (see `linkFor`). */
export const composeEmail = (row: AuthRequestRow, credentials: Credentials, policy: Policy, nowMs: number, publicUrl: string) => {
  const link = linkFor(row, credentials.linkToken, policy, publicUrl)
  const rendered = renderEmail({
    type: row.type,
    template: row.template,
    locale: row.locale,
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
  // The tenant's stored template for this template and locale replaces the parts it defines.
  const stored = pickTenantTemplate(policy.templates, row.template, row.locale)
  const custom = stored === undefined ? undefined : renderTenantTemplate(stored, {
    appName: policy.appName,
    code: credentials.code ?? undefined,
    link,
    expiresInMinutes: Math.max(1, Math.floor((row.expiresAt.getTime() - nowMs) / 60_000)),
    email: row.email,
    approval: row.approval?.summary,
    templateVariables: row.renderOptions?.templateVariables
  })
  const hint = [credentials.code !== null ? `code ${credentials.code}` : "", link !== undefined ? `link ${link}` : ""]
    .filter((s) => s !== "").join(", ")
  return {
    subject: custom?.subject || rendered.subject,
    fromName: rendered.senderName,
    text: custom?.text ?? rendered.text,
    html: custom?.html ?? rendered.html,
    replyTo: policy.replyTo,
    hint
  }
}
