import Mustache from "mustache"
import { stripBidi } from "../domain/Bidi.ts"
import { builtInTexts, emailTexts, localizedDefaults } from "../templates/EmailTexts.ts"

export interface EmailContent {
  readonly subject?: string | undefined
  readonly senderName?: string | undefined
  readonly primaryColor?: string | undefined
  readonly logoUrl?: string | undefined
  readonly headerText?: string | undefined
  readonly bodyText?: string | undefined
  readonly linkText?: string | undefined
  readonly infoText?: string | undefined
  readonly footerText?: string | undefined
}

export interface EmailInput {
  readonly type: "OTP" | "LINK" | "LINK_OTP"
  readonly template: "SIGNIN" | "SIGNUP"
  readonly appName: string
  readonly code?: string | undefined
  readonly link?: string | undefined
  readonly expiresInMinutes: number
  readonly approval?: { readonly transactionId: string; readonly summary: string } | undefined
  readonly templateVariables?: Readonly<Record<string, string>> | undefined
  readonly content?: EmailContent | undefined
  /** BCP 47; the built-in texts fall back to the primary language, then English (#7). */
  readonly locale?: string | null | undefined
}

export interface RenderedEmail {
  readonly subject: string
  readonly senderName: string
  readonly html: string
  readonly text: string
}

export const DEFAULT_PRIMARY_COLOR = "#4F46E5"
export const MAX_HEADER_LENGTH = 200
/** The English notice (each locale has its own: templates/EmailTexts.ts). */
export const IGNORE_NOTICE = builtInTexts.en.ignoreNotice

const PRIMARY_COLOR = /^#[0-9a-fA-F]{6}$/u
const TAGS: [string, string] = ["{{", "}}"]

// C0 (except where a caller keeps "\n"), DEL, C1, and the Unicode line/paragraph separators.
// In a header these enable header injection (ASVS 1.3.11); elsewhere they only disturb layout.
const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/gu
const HAS_CONTROL_CHAR = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/u
const CONTROL_CHARS_EXCEPT_LF = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u2028\u2029]/gu

const escapeHtml = (value: unknown): string =>
  String(value).replace(/[&<>"'`]/gu, (ch) => {
    switch (ch) {
      case "&":
        return "&amp;"
      case "<":
        return "&lt;"
      case ">":
        return "&gt;"
      case '"':
        return "&quot;"
      case "'":
        return "&#39;"
      default:
        return "&#96;"
    }
  })

const truncate = (value: string, max: number): string => {
  const codePoints = Array.from(value)
  return codePoints.length <= max ? value : codePoints.slice(0, max).join("").trimEnd()
}

const singleLine = (value: string): string => stripBidi(value).replace(CONTROL_CHARS, " ").replace(/\s+/gu, " ").trim()

export const headerValue = (value: string): string => truncate(singleLine(value), MAX_HEADER_LENGTH)

const multiLine = (value: string): ReadonlyArray<string> =>
  stripBidi(value)
    .replace(/\r\n?/gu, "\n")
    .replace(CONTROL_CHARS_EXCEPT_LF, " ")
    .split("\n")
    .map((line) => line.replace(/\s+/gu, " ").trim())

/**
 * Renders tenant- or caller-supplied text to *plain text*. Its output is HTML-escaped as a whole
 * by the layout, so "{{{var}}}" or "{{&var}}" in user text cannot smuggle markup into the HTML.
 * A fresh Writer per call: Mustache's template cache is unbounded and keyed by template text,
 * which user-supplied templates would grow without limit.
 */
const renderUserText = (template: string, view: Readonly<Record<string, string>>): string => {
  try {
    return new Mustache.Writer().render(template, view, {}, { escape: String, tags: TAGS })
  } catch {
    // Malformed template (unclosed tag or section): show it literally rather than fail the send.
    return template
  }
}

/** Whether `template` parses as Mustache; for settings validation. */
export const isValidTemplateText = (template: string): boolean => {
  try {
    new Mustache.Writer().parse(template, TAGS)
    return true
  } catch {
    return false
  }
}

const httpUrl = (value: string | undefined, protocols: ReadonlyArray<string>): string | undefined => {
  if (value === undefined || HAS_CONTROL_CHAR.test(value)) return undefined
  const url = URL.parse(value)
  if (url === null || !protocols.includes(url.protocol) || url.username !== "" || url.password !== "") return undefined
  return url.href
}

const minutesPhrase = (minutes: number): string => (minutes === 1 ? "1 minute" : `${minutes} minutes`)

interface Defaults {
  readonly subject: string
  readonly headerText: string
  readonly bodyText: string
  readonly linkText: string
}

const defaultTexts = (input: EmailInput, appName: string, minutes: number): Defaults => {
  const expiry = minutesPhrase(minutes)
  const signup = input.template === "SIGNUP"
  const purpose = signup ? `confirm your email address and finish signing up for ${appName}` : `sign in to ${appName}`
  const bodyText =
    input.type === "OTP"
      ? `Use this code to ${purpose}. It expires in ${expiry}.`
      : input.type === "LINK"
        ? `Click the button below to ${purpose}. The link expires in ${expiry}.`
        : `Click the button below to ${purpose}, or enter the code shown. Both expire in ${expiry}.`
  const subject = signup
    ? `Confirm your email for ${appName}`
    : input.type === "OTP"
      ? `Your ${appName} sign-in code`
      : `Sign in to ${appName}`
  return {
    subject,
    headerText: signup ? `Confirm your email for ${appName}` : `Sign in to ${appName}`,
    bodyText,
    linkText: signup ? "Confirm email" : `Sign in to ${appName}`
  }
}

const LAYOUT = `<!DOCTYPE html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="x-apple-disable-message-reformatting">
<title>{{subject}}</title>
</head>
<body style="margin:0;padding:0;background-color:#f4f4f7;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="background-color:#f4f4f7;">
<tr><td align="center" style="padding:24px 12px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="max-width:560px;background-color:#ffffff;border-radius:8px;font-family:-apple-system,BlinkMacSystemFont,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;color:#1f2937;">
{{#logoUrl}}
<tr><td align="center" style="padding:32px 32px 0 32px;"><img src="{{logoUrl}}" alt="{{appName}}" height="48" style="display:block;height:48px;width:auto;border:0;"></td></tr>
{{/logoUrl}}
<tr><td style="padding:32px 32px 8px 32px;"><h1 style="margin:0;font-size:22px;line-height:30px;font-weight:700;color:#111827;">{{headerText}}</h1></td></tr>
{{#approvalSummary}}
<tr><td style="padding:16px 32px 0 32px;">
<table role="presentation" width="100%" cellpadding="0" cellspacing="0" border="0" style="border:2px solid {{primaryColor}};border-radius:6px;">
<tr><td style="padding:16px;font-size:16px;line-height:24px;color:#111827;"><strong>{{approvingLabel}}</strong> {{approvalSummary}}</td></tr>
</table>
</td></tr>
{{/approvalSummary}}
{{#bodyParagraphs}}
<tr><td style="padding:16px 32px 0 32px;font-size:16px;line-height:24px;color:#374151;">{{#lines}}{{text}}{{^last}}<br>{{/last}}{{/lines}}</td></tr>
{{/bodyParagraphs}}
{{#code}}
<tr><td align="center" style="padding:24px 32px 8px 32px;">
<div style="display:inline-block;padding:12px 24px;background-color:#f3f4f6;border-radius:6px;font-family:'SFMono-Regular',Consolas,'Liberation Mono',Menlo,Courier,monospace;font-size:32px;line-height:40px;font-weight:700;letter-spacing:8px;color:#111827;">{{code}}</div>
</td></tr>
{{/code}}
{{#link}}
<tr><td align="center" style="padding:24px 32px 8px 32px;">
<table role="presentation" cellpadding="0" cellspacing="0" border="0"><tr>
<td align="center" bgcolor="{{primaryColor}}" style="border-radius:6px;background-color:{{primaryColor}};">
<a href="{{link}}" target="_blank" rel="noopener" style="display:inline-block;padding:12px 28px;font-size:16px;line-height:24px;font-weight:600;color:#ffffff;text-decoration:none;border-radius:6px;">{{linkText}}</a>
</td>
</tr></table>
</td></tr>
<tr><td style="padding:16px 32px 0 32px;font-size:13px;line-height:20px;color:#6b7280;">
{{copyLinkLabel}}<br>
<a href="{{link}}" target="_blank" rel="noopener" style="color:{{primaryColor}};word-break:break-all;">{{link}}</a>
</td></tr>
{{/link}}
{{#infoParagraphs}}
<tr><td style="padding:16px 32px 0 32px;font-size:14px;line-height:22px;color:#374151;">{{#lines}}{{text}}{{^last}}<br>{{/last}}{{/lines}}</td></tr>
{{/infoParagraphs}}
<tr><td style="padding:32px 32px 32px 32px;font-size:13px;line-height:20px;color:#6b7280;">
{{ignoreNotice}}
{{#footerParagraphs}}
<br>{{#lines}}{{text}}{{^last}}<br>{{/last}}{{/lines}}
{{/footerParagraphs}}
</td></tr>
</table>
</td></tr>
</table>
</body>
</html>
`

// The layout is ours and constant, so a long-lived Writer caches exactly one template.
const layoutWriter = new Mustache.Writer()

interface Paragraph {
  readonly lines: ReadonlyArray<{ readonly text: string; readonly last: boolean }>
}

const paragraphs = (text: string): ReadonlyArray<Paragraph> => {
  const result: Array<Paragraph> = []
  let current: Array<string> = []
  const flush = () => {
    if (current.length > 0) result.push({ lines: current.map((line, i) => ({ text: line, last: i === current.length - 1 })) })
    current = []
  }
  for (const line of multiLine(text)) {
    if (line === "") flush()
    else current.push(line)
  }
  flush()
  return result
}

const plainParagraphs = (ps: ReadonlyArray<Paragraph>): ReadonlyArray<string> =>
  ps.map((p) => p.lines.map((line) => line.text).join("\n"))

export const renderEmail = (input: EmailInput): RenderedEmail => {
  const content = input.content ?? {}
  const appName = singleLine(input.appName)
  const minutes = Number.isFinite(input.expiresInMinutes) && input.expiresInMinutes >= 1 ? Math.floor(input.expiresInMinutes) : 1
  const code = input.type !== "LINK" && input.code !== undefined ? singleLine(input.code) : ""
  const link = input.type !== "OTP" ? (httpUrl(input.link, ["https:", "http:"]) ?? "") : ""
  const approvalSummary =
    input.approval === undefined
      ? ""
      : singleLine(input.approval.summary) || singleLine(input.approval.transactionId)

  // Null prototype: Mustache resolves names with `in`, so an ordinary object would expose
  // "constructor", "toString" etc. to user templates. Built-ins are assigned last so a
  // templateVariable named "code" cannot impersonate the real one.
  const view: Record<string, string> = Object.create(null)
  for (const [key, value] of Object.entries(input.templateVariables ?? {})) view[key] = String(value)
  view["appName"] = appName
  view["code"] = code
  view["expiresInMinutes"] = String(minutes)
  // Subjects show on lock screens and in notification previews, and must never let a code be used
  // without the approval summary that is bound to it being read, so the code is never in a subject.
  const subjectView: Record<string, string> = Object.create(null)
  Object.assign(subjectView, view, { code: "" })

  const { locale, texts } = emailTexts(input.locale)
  const defaults = locale === "en" ? defaultTexts(input, appName, minutes) : localizedDefaults(input, appName, minutes)
  const userText = (value: string | undefined, fallback: string, v: Readonly<Record<string, string>> = view): string =>
    value === undefined || value.trim() === "" ? fallback : renderUserText(value, v)

  const subject = headerValue(userText(content.subject, defaults.subject, subjectView)) || headerValue(defaults.subject)
  const senderName = headerValue(content.senderName ?? "") || headerValue(appName) || "Sesame"
  const headerText = singleLine(userText(content.headerText, defaults.headerText))
  const body = paragraphs(userText(content.bodyText, defaults.bodyText))
  const linkText = singleLine(userText(content.linkText, defaults.linkText)) || defaults.linkText
  const footer = content.footerText === undefined ? [] : paragraphs(renderUserText(content.footerText, view))
  const info = content.infoText === undefined ? [] : paragraphs(renderUserText(content.infoText, view))
  const primaryColor =
    content.primaryColor !== undefined && PRIMARY_COLOR.test(content.primaryColor) ? content.primaryColor : DEFAULT_PRIMARY_COLOR
  const logoUrl = httpUrl(content.logoUrl, ["https:"]) ?? ""

  const html = layoutWriter.render(
    LAYOUT,
    {
      lang: locale,
      subject,
      appName,
      logoUrl,
      headerText,
      approvalSummary,
      approvingLabel: texts.approving,
      copyLinkLabel: texts.copyLink,
      bodyParagraphs: body,
      code,
      link,
      linkText,
      primaryColor,
      ignoreNotice: texts.ignoreNotice,
      infoParagraphs: info,
      footerParagraphs: footer
    },
    {},
    { escape: escapeHtml, tags: TAGS }
  )

  const text = [
    headerText,
    approvalSummary === "" ? undefined : `${texts.approving} ${approvalSummary}`,
    ...plainParagraphs(body),
    code === "" ? undefined : `${texts.yourCode} ${code}`,
    link === "" ? undefined : `${linkText}: ${link}`,
    ...plainParagraphs(info),
    texts.ignoreNotice,
    ...plainParagraphs(footer)
  ]
    .filter((part): part is string => part !== undefined && part !== "")
    .join("\n\n")

  return { subject, senderName, html, text: `${text}\n` }
}
