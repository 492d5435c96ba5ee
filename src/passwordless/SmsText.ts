import type { MessagePayload } from "../delivery/Outbox.ts"
import type { Policy } from "../domain/TenantSettings.ts"
import type { AuthRequestRow } from "./CodeStore.ts"
import type { Template } from "../domain/Ids.ts"
import { emailTexts } from "../templates/EmailTexts.ts"
import { pickTenantTemplate } from "../templates/TenantTemplates.ts"
import { renderSms, smsLength } from "../templates/Sms.ts"

/** Carriers concatenate long texts, but every segment is billed and delivery gets flakier: 3 at most. */
export const MAX_SEGMENTS = 3

export interface SmsTextInput {
  readonly template: string | undefined
  readonly locale: string | null
  readonly appName: string
  readonly code: string
  readonly expiresInMinutes: number
  readonly approvalSummary: string | undefined
  readonly templateVariables: Readonly<Record<string, string>> | undefined
}

/**
 * The SMS body: the request's `smsMessage` or the locale's built-in text, with `{{code}}`, `{{appName}}`,
 * `{{expiresInMinutes}}` (and `{{approvalSummary}}`). An approval's summary that the template does not
 * place itself goes first, so the user sees what the code approves before the code.
 */
export const smsText = (input: SmsTextInput): string => {
  const template = input.template ?? emailTexts(input.locale).texts.sms
  const view: Record<string, string> = {
    ...input.templateVariables,
    appName: input.appName,
    code: input.code,
    expiresInMinutes: String(input.expiresInMinutes),
    ...(input.approvalSummary === undefined ? {} : { approvalSummary: input.approvalSummary })
  }
  const text = renderSms(template, view)
  return input.approvalSummary !== undefined && !/\{\{\s*approvalSummary\s*\}\}/u.test(template)
    ? `${renderSms("{{s}}", { s: input.approvalSummary })}\n${text}`
    : text
}

/** The request's `smsMessage`, else the tenant's stored SMS template for the template and locale, else built-in. */
export const smsTemplateFor = (smsMessage: string | undefined, policy: Policy, template: Template, locale: string | null) =>
  smsMessage ?? pickTenantTemplate(policy.templates, template, locale)?.sms

/** The outbox payload of an SMS auth request (only `text` and `hint` are used for SMS). */
export const composeSms = (row: AuthRequestRow, code: string, policy: Policy, nowMs: number): MessagePayload => ({
  subject: "",
  fromName: policy.appName,
  text: smsText({
    template: smsTemplateFor(row.renderOptions?.smsMessage, policy, row.template, row.locale),
    locale: row.locale,
    appName: policy.appName,
    code,
    expiresInMinutes: Math.max(1, Math.floor((row.expiresAt.getTime() - nowMs) / 60_000)),
    approvalSummary: row.approval?.summary,
    templateVariables: row.renderOptions?.templateVariables
  }),
  html: "",
  replyTo: null,
  hint: `code ${code}`
})

export const segmentsOf = (text: string) => smsLength(text).segments
