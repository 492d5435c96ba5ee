import Mustache from "mustache"
import type { Template } from "../domain/Ids.ts"
import type { TenantTemplate } from "../domain/TenantSettings.ts"
import { headerValue } from "../delivery/EmailTemplate.ts"
import { stripBidi } from "../domain/Bidi.ts"
import { renderSms, smsLength, smsTemplateProblem } from "./Sms.ts"
import { unsafeUrlAttribute } from "./TemplateUrls.ts"

const TAGS: [string, string] = ["{{", "}}"]

/** The values a stored template may use; built-ins win over `templateVariables` of the same name. */
export interface TemplateView {
  readonly appName: string
  readonly code?: string | undefined
  readonly link?: string | undefined
  readonly expiresInMinutes: number
  readonly email?: string | null | undefined
  readonly approval?: string | undefined
  readonly templateVariables?: Readonly<Record<string, string>> | undefined
}

const viewOf = (v: TemplateView): Record<string, string> => {
  // no prototype: `{{constructor}}` and friends render empty instead of leaking functions
  const view: Record<string, string> = Object.create(null)
  Object.assign(view, v.templateVariables ?? {}, {
    appName: v.appName,
    code: v.code ?? "",
    link: v.link ?? "",
    expiresInMinutes: String(v.expiresInMinutes),
    email: v.email ?? "",
    approval: v.approval ?? ""
  })
  return view
}

/**
 * The tenant's template for (template, locale): the exact locale, then its primary language. None
 * found means the built-in texts (which have their own locale fallback) are used.
 */
export const pickTenantTemplate = (templates: ReadonlyArray<TenantTemplate>, template: Template, locale: string | null) => {
  const candidates = templates.filter((t) => t.template === template)
  const wanted = (locale ?? "en").toLowerCase()
  return candidates.find((t) => t.locale.toLowerCase() === wanted)
    ?? candidates.find((t) => t.locale.toLowerCase() === wanted.split("-")[0])
}

// Bidi controls go from the whole output, the tenant's own text included (domain/Bidi.ts).
const render = (template: string, view: Record<string, string>, escape: (s: string) => string) =>
  stripBidi(new Mustache.Writer().render(template, view, {}, { escape, tags: TAGS }))

/** HTML escaping for `{{var}}` in HTML bodies (Mustache's own); `{{{var}}}` is refused when saving. */
const escapeHtml = (s: string) => Mustache.escape(s)

/** Renders the parts a stored template defines; undefined parts fall back to the built-in ones. */
export const renderTenantTemplate = (t: TenantTemplate, v: TemplateView) => {
  const view = viewOf(v)
  return {
    // the code never goes into a subject (lock screens and notification previews show subjects)
    subject: t.subject === undefined ? undefined : headerValue(render(t.subject, { ...view, code: "" }, String)),
    html: t.html === undefined ? undefined : render(t.html, view, escapeHtml),
    text: t.text === undefined ? undefined : render(t.text, view, String),
    sms: t.sms === undefined ? undefined : renderSms(t.sms, view)
  }
}

const parses = (template: string): string | undefined => {
  try {
    const tokens = new Mustache.Writer().parse(template, TAGS)
    // `{{{x}}}` / `{{& x}}` would put a value into HTML unescaped
    const raw = (list: ReadonlyArray<unknown>): boolean =>
      list.some((t) => Array.isArray(t) && (t[0] === "&" || (Array.isArray(t[4]) && raw(t[4]))))
    return raw(tokens) ? "must not use unescaped {{{…}}} or {{& …}}" : undefined
  } catch (e) {
    return `does not parse: ${e instanceof Error ? e.message : String(e)}`
  }
}

const usesCredential = (template: string) => /\{\{\s*(code|link)\s*\}\}/u.test(template)

/**
 * Why stored templates would be refused when saved (a template that cannot render is refused here,
 * not when a message depends on it): `[field, problem]` or undefined.
 */
export const tenantTemplateProblem = (templates: ReadonlyArray<TenantTemplate>): readonly [string, string] | undefined => {
  const seen = new Set<string>()
  for (const [i, t] of templates.entries()) {
    const at = `settings.templates.${i}`
    const key = `${t.template}:${t.locale.toLowerCase()}`
    if (seen.has(key)) return [`${at}.locale`, `a second ${t.template} template for locale ${t.locale}`]
    seen.add(key)
    for (const part of ["subject", "html", "text"] as const) {
      const value = t[part]
      if (value === undefined) continue
      const problem = parses(value)
      if (problem !== undefined) return [`${at}.${part}`, problem]
      if (part !== "subject" && !usesCredential(value)) return [`${at}.${part}`, "must contain {{code}} or {{link}}"]
    }
    if (t.html !== undefined) {
      const unsafe = unsafeUrlAttribute(t.html)
      if (unsafe !== undefined) return [`${at}.html`, unsafe]
    }
    // ASVS 1.3.11: nothing that becomes a header may carry CR/LF
    if (t.subject !== undefined && /[\u0000-\u001f\u007f]/u.test(t.subject)) return [`${at}.subject`, "must not contain control characters"]
    // every HTML email carries a text alternative
    if (t.html !== undefined && t.text === undefined) return [`${at}.text`, "is required with html (the plain-text alternative)"]
    if (t.sms !== undefined) {
      const problem = smsTemplateProblem(t.sms)
      if (problem !== undefined) return [`${at}.sms`, problem]
      const sample = renderSms(t.sms, viewOf({ appName: "Sesame", code: "12345678", expiresInMinutes: 15 }))
      if (smsLength(sample).segments > 3) return [`${at}.sms`, "is longer than 3 SMS segments"]
    }
  }
  return undefined
}
