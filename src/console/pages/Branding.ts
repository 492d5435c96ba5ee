/**
 * Branding (#14): the tenant's brand settings (app name, colour, logo, sender) with a live preview of
 * the email, the SMS and the hosted link page per locale, and the stored templates with their editor.
 * Saving goes through TenantAdmin.update (PATCH /v1/tenant's rules); previews run the product's own
 * renderers: the TemplatePreview service (POST /v1/tenant/templates/preview), the stored-template
 * overlay of a send (Compose.ts) and renderLinkPage for `/l/…`.
 */
import { Clock, Effect, Schema } from "effect"
import { HttpServerResponse } from "effect/http"
import type { TenantSettingsPatch } from "../../api/Tenant.ts"
import { displayNameProblem, httpsUrlProblem } from "../../domain/Branding.ts"
import { normalizeEmail } from "../../domain/Email.ts"
import { AuthType, Template } from "../../domain/Ids.ts"
import { policyOf, TenantSettings, type TenantTemplate } from "../../domain/TenantSettings.ts"
import { renderLinkPage } from "../../http/LinkPageHtml.ts"
import { LinkPage } from "../../passwordless/Exchange.ts"
import { BUILT_IN_LOCALES, type BuiltInLocale } from "../../templates/Locale.ts"
import * as PreviewLive from "../../templates/Preview.ts"
import { smsTemplateProblem } from "../../templates/Sms.ts"
import { pickTenantTemplate, renderTenantTemplate, tenantTemplateProblem } from "../../templates/TenantTemplates.ts"
import { TenantAdmin } from "../../tenants/TenantAdmin.ts"
import { type Tenant, Tenants } from "../../tenants/Tenants.ts"
import { html, type Html, raw } from "../Html.ts"
import { type ConsoleContext, consoleHeaders, csrfField, htmlResponse, type Kit, modeField, previewHeaders, tenantPath, type TenantScope } from "../Kit.ts"
import { mayAct } from "../Operators.ts"

const FIELDS = ["appName", "primaryColor", "logoUrl", "senderName", "replyTo"] as const
type Field = (typeof FIELDS)[number]
type Values = Readonly<Record<Field, string>>

const LABELS: Readonly<Record<Field, string>> = {
  appName: "App name", primaryColor: "Primary colour", logoUrl: "Logo URL", senderName: "Sender name", replyTo: "Reply-to address"
}
const LOCALE_NAMES: Readonly<Record<BuiltInLocale, string>> = { en: "English", fr: "French (français)", de: "German (Deutsch)", es: "Spanish (español)" }
const TEMPLATE_NAMES: Readonly<Record<Template, string>> = { SIGNIN: "Sign-in", SIGNUP: "Sign-up" }
const TYPE_NAMES: Readonly<Record<AuthType, string>> = { OTP: "Code", LINK: "Link", LINK_OTP: "Link and code" }
const PARTS = ["subject", "html", "text", "sms"] as const
type Part = (typeof PARTS)[number]
const SAMPLE_EMAIL = "jane@example.com"

/** What the previews show: which message, in which language. */
interface Choice {
  readonly locale: string
  readonly template: Template
  readonly type: AuthType
}

const isTemplate = Schema.is(Template)
const isType = Schema.is(AuthType)
const isSettings = Schema.is(TenantSettings)

const choiceOf = (params: URLSearchParams): Choice => {
  const t = params.get("template")
  const type = params.get("type")
  const l = params.get("locale") ?? ""
  return {
    locale: BUILT_IN_LOCALES.find((b) => b === l) ?? "en",
    template: isTemplate(t) ? t : "SIGNIN",
    type: isType(type) ? type : "LINK_OTP"
  }
}

const perField = <V>(f: (field: Field) => V): Readonly<Record<Field, V>> =>
  ({ appName: f("appName"), primaryColor: f("primaryColor"), logoUrl: f("logoUrl"), senderName: f("senderName"), replyTo: f("replyTo") })

/** The form's values: what the request carries (a draft), else what is saved. */
const valuesOf = (params: URLSearchParams, saved: TenantSettings): Values =>
  perField((f) => params.has(f) ? (params.get(f) ?? "").trim() : saved[f] ?? "")

/** Whether saving `value` as `field` would be refused (the schema and the Branding checks the API runs). */
const refused = (field: Field, value: string): boolean => {
  if (!isSettings({ [field]: value }) || /[\u0000-\u001f\u007f]/u.test(value)) return true
  if (field === "logoUrl") return httpsUrlProblem(value) !== undefined
  if (field === "senderName") return displayNameProblem(value) !== undefined
  if (field === "replyTo") return normalizeEmail(value) === undefined
  return false
}

/** The settings a preview renders: the saved ones with the draft's valid values; the refused ones are named. */
const draftSettings = (saved: TenantSettings, values: Values) => {
  const settings: { -readonly [K in keyof TenantSettings]: TenantSettings[K] } = { ...saved }
  const skipped: Array<Field> = []
  for (const f of FIELDS) {
    const value = values[f]
    if (value === "") delete settings[f]
    else if (refused(f, value)) skipped.push(f)
    else settings[f] = value
  }
  const changed = FIELDS.some((f) => values[f] !== (saved[f] ?? ""))
  return { settings, skipped, changed }
}

const previewQuery = (values: Values, choice: Choice, scope: TenantScope): string => {
  const q = new URLSearchParams()
  for (const f of FIELDS) q.set(f, values[f])
  q.set("locale", choice.locale)
  q.set("template", choice.template)
  q.set("type", choice.type)
  if (scope.mode === "test") q.set("mode", "test")
  return q.toString()
}

const smsInfo = (sms: { readonly encoding: string; readonly units: number; readonly segments: number }) =>
  `${sms.encoding} · ${sms.units} ${sms.encoding === "GSM-7" ? "characters" : "UTF-16 units"} · ${sms.segments} segment${sms.segments === 1 ? "" : "s"}`

/** A document's CSP without its own frame-ancestors: `previewHeaders` lets the console (only) frame it. */
const framable = (csp: string) => csp.split("; ").filter((d) => !d.startsWith("frame-ancestors")).join("; ")
// The email's (and the sheet's) inline styles run in a sandboxed document that can load nothing but https images.
const EMAIL_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:"

const fieldOf = (field: string | undefined) => field?.replace(/^settings\./u, "")

const fieldError = (id: string, message: string | undefined): Html | null =>
  message === undefined ? null : html`<p class="field-error" id="${id}-error">${message}</p>`

const described = (id: string, hint: boolean, error: string | undefined): Html => {
  const ids = [hint ? `${id}-hint` : "", error === undefined ? "" : `${id}-error`].filter((s) => s !== "").join(" ")
  return html`${ids === "" ? null : html`aria-describedby="${ids}"`} ${error === undefined ? null : raw('aria-invalid="true"')}`
}

const select = (id: string, label: string, options: ReadonlyArray<readonly [string, string]>, value: string) => html`
<label for="${id}">${label}</label>
<select id="${id}" name="${id}">${options.map(([v, text]) => html`<option value="${v}" ${v === value ? raw("selected") : null}>${text}</option>`)}</select>`

const subnav = (scope: TenantScope, current: "branding" | "templates") => html`<nav aria-label="Branding pages"><ul class="tabs">
  <li><a href="${tenantPath(scope, "branding")}" ${current === "branding" ? raw('aria-current="page"') : null}>Brand and previews</a></li>
  <li><a href="${tenantPath(scope, "branding/templates")}" ${current === "templates" ? raw('aria-current="page"') : null}>Stored templates</a></li>
</ul></nav>`

/** A tenant page's path without its `?mode=` (to append a query of one's own). */
const pathOf = (scope: TenantScope, path: string) => tenantPath({ tenant: scope.tenant, mode: "live" }, path)

const textOf = (form: URLSearchParams, name: string) => (form.get(name) ?? "").replace(/\r\n?/gu, "\n")

/** The product's renderers over draft settings, and the saved settings (GET /v1/tenant's). */
const previewsOf = (tenants: Tenants["Service"], admin: TenantAdmin["Service"]) => {
  /**
   * The TemplatePreview service as POST /v1/tenant/templates/preview runs it, over the draft settings:
   * its own `make`, given a Tenants whose copy of this tenant carries them (policyOf applies the defaults).
   */
  const previewService = (scope: TenantScope, settings: TenantSettings) => {
    const modes = { ...scope.tenant.modes, [scope.mode]: { settings, policy: policyOf(settings, scope.tenant.name) } }
    const draft: Tenant = { ...scope.tenant, modes }
    return PreviewLive.make.pipe(Effect.provideService(Tenants, Tenants.of({
      ...tenants,
      get: (id) => id === draft.id ? Effect.succeed(draft) : tenants.get(id)
    })))
  }

  /** The email and SMS as a send would make them (Compose.ts): the built-in message, then the stored template's parts. */
  const compose = (scope: TenantScope, settings: TenantSettings, choice: Choice, stored: TenantTemplate | undefined) =>
    Effect.gen(function* () {
      const policy = policyOf(settings, scope.tenant.name)
      const service = yield* previewService(scope, settings)
      const smsMessage = stored?.sms !== undefined && smsTemplateProblem(stored.sms) === undefined ? stored.sms : undefined
      const base = yield* service.preview(scope.caller, {
        template: choice.template, type: choice.type, locale: choice.locale, ...(smsMessage === undefined ? {} : { smsMessage })
      }).pipe(Effect.catchTag("ValidationFailed", Effect.die)) // only an invalid smsMessage fails, and that was checked
      const custom = stored === undefined ? undefined : renderTenantTemplate(stored, {
        appName: policy.appName,
        code: choice.type === "LINK" ? undefined : PreviewLive.SAMPLE.code,
        link: choice.type === "OTP" ? undefined : PreviewLive.SAMPLE.link,
        expiresInMinutes: PreviewLive.SAMPLE.expiresInMinutes,
        email: SAMPLE_EMAIL
      })
      return {
        subject: custom?.subject || base.subject,
        from: base.senderName,
        replyTo: policy.replyTo,
        html: custom?.html ?? base.html,
        text: custom?.text ?? base.text,
        sms: base.sms,
        stored: stored !== undefined
      }
    })

  const saved = (scope: TenantScope) => Effect.map(admin.get(scope.caller), (view) => view.settings)
  return { compose, saved }
}
type Previews = ReturnType<typeof previewsOf>

export const brandingPages = (kit: Kit) =>
  Effect.gen(function* () {
    const admin = yield* TenantAdmin
    const previews = previewsOf(yield* Tenants, admin)
    const { compose, saved } = previews

    /** The request's draft over the saved settings, as the preview routes read it. */
    const draftOf = (ctx: ConsoleContext) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const settings = yield* saved(scope)
        const values = valuesOf(ctx.url.searchParams, settings)
        const choice = choiceOf(ctx.url.searchParams)
        const draft = draftSettings(settings, values)
        const stored = pickTenantTemplate(draft.settings.templates ?? [], choice.template, choice.locale)
        return { scope, choice, draft, stored }
      })

    const noteOf = ({ skipped, changed }: ReturnType<typeof draftSettings>, stored: boolean, choice: Choice) =>
      [
        changed ? "A draft: nothing is saved until Save branding is pressed." : "",
        skipped.length === 0 ? "" : `Not in the preview (saving would be refused): ${skipped.map((f) => LABELS[f].toLowerCase()).join(", ")}.`,
        stored ? `A stored ${TEMPLATE_NAMES[choice.template].toLowerCase()} template for this language replaces parts of the built-in message.` : ""
      ].filter((s) => s !== "").join(" ")

    const brandingPage = (ctx: ConsoleContext, scope: TenantScope, values: Values, choice: Choice,
      error?: { readonly field: string | undefined; readonly message: string }) =>
      Effect.gen(function* () {
        const settings = yield* saved(scope)
        const draft = draftSettings(settings, values)
        const stored = pickTenantTemplate(draft.settings.templates ?? [], choice.template, choice.locale)
        const preview = yield* compose(scope, draft.settings, choice, stored)
        const base = pathOf(scope, "branding/preview/")
        const q = previewQuery(values, choice, scope)
        const errorFor = (f: Field) => fieldOf(error?.field) === f ? error?.message : undefined
        const general = error !== undefined && !FIELDS.some((f) => f === fieldOf(error.field)) ? error.message : undefined
        const mayEdit = mayAct(ctx.operator.role, "admin")
        const text = (f: Field, type: string, hint: string, extra: Html | null = null) => html`
<label for="${f}">${LABELS[f]}</label>
<input id="${f}" name="${f}" type="${type}" value="${values[f]}" ${described(f, true, errorFor(f))} ${extra}>
<p class="hint" id="${f}-hint">${hint}</p>${fieldError(f, errorFor(f))}`
        const body = html`<h1>Branding</h1>
${subnav(scope, "branding")}
${error === undefined ? null : html`<p class="error" role="alert">Not saved: ${general ?? "fix the field marked below."}</p>`}
<div class="branding">
<form method="post" action="${tenantPath(scope, "branding")}" class="panel" id="branding-form" data-preview-base="${base}">
  ${csrfField(ctx)}${modeField(scope)}
  <fieldset><legend>Brand (${scope.mode} mode)</legend>
  ${text("appName", "text", `Shown in the emails, the SMS and the hosted page. Empty: the tenant's name, ${scope.tenant.name}.`, raw('maxlength="100" autocomplete="off"'))}
  ${text("primaryColor", "text", "Six hex digits: #rrggbb. Empty: Sesame's indigo. The hosted page darkens a pale colour until white text on it is readable.",
    html`maxlength="7" autocomplete="off" spellcheck="false" placeholder="#4F46E5"`)}
  <p class="picker" hidden><label for="primaryColorPicker">Pick the primary colour</label><input type="color" id="primaryColorPicker" value="${/^#[0-9a-fA-F]{6}$/u.test(values.primaryColor) ? values.primaryColor.toLowerCase() : "#4f46e5"}"></p>
  ${text("logoUrl", "url", "An https:// image, shown 48 pixels high above the email and the hosted page.", raw('maxlength="2048" inputmode="url" autocomplete="off"'))}
  ${text("senderName", "text", "The name the email comes from. Empty: the app name.", raw('maxlength="100" autocomplete="off"'))}
  ${text("replyTo", "email", "Where replies to the email go. Empty: no Reply-To.", raw('maxlength="254" autocomplete="off"'))}
  </fieldset>
  <fieldset><legend>Preview as</legend>
  ${select("locale", "Language", BUILT_IN_LOCALES.map((l) => [l, LOCALE_NAMES[l]] as const), choice.locale)}
  ${select("template", "Message", Object.entries(TEMPLATE_NAMES), choice.template)}
  ${select("type", "Sign-in method", Object.entries(TYPE_NAMES), choice.type)}
  </fieldset>
  <div class="actions">
    <button type="submit" class="secondary" formaction="${tenantPath(scope, "branding/preview")}">Preview</button>
    ${mayEdit ? html`<button type="submit">Save branding</button>` : null}
  </div>
  ${mayEdit ? null : html`<p class="hint">Your role (${ctx.operator.role}) may preview; saving needs admin.</p>`}
</form>
<section aria-labelledby="preview-heading" class="branding-previews">
  <h2 id="preview-heading">Preview</h2>
  <p class="hint" id="preview-note" role="status">${noteOf(draft, preview.stored, choice)}</p>
  <h3>Email</h3>
  <dl class="envelope"><dt>Subject</dt><dd id="preview-subject">${preview.subject}</dd><dt>From</dt><dd id="preview-from">${preview.from}</dd>
  <dt>Reply-To</dt><dd id="preview-reply-to">${preview.replyTo ?? "—"}</dd></dl>
  <iframe class="preview" id="preview-email" title="Email preview" src="${base}email?${q}"></iframe>
  <h3>SMS</h3>
  <p class="sms-bubble" id="preview-sms">${preview.sms.text}</p>
  <p class="hint" id="preview-sms-info">${smsInfo(preview.sms)}</p>
  <h3>Hosted link page</h3>
  <iframe class="preview" id="preview-page" title="Hosted page preview" src="${base}page?${q}"></iframe>
</section>
</div>`
        return yield* kit.render(ctx, {
          title: "Branding", section: "branding", scope, body, scripts: ["branding.js"], styles: ["branding.css"], status: error === undefined ? 200 : 400
        })
      })

    yield* kit.page("/console/t/:tenantId/branding", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const settings = yield* saved(scope)
        return yield* brandingPage(ctx, scope, valuesOf(ctx.url.searchParams, settings), choiceOf(ctx.url.searchParams))
      }))

    // The "Preview" button without script: back to the page with the draft in the query (no CSRF token in a URL).
    yield* kit.action("/console/t/:tenantId/branding/preview", "viewer", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const values = valuesOf(ctx.form, {})
        return kit.redirect(ctx, `${pathOf(scope, "branding")}?${previewQuery(values, choiceOf(ctx.form), scope)}`)
      }))

    yield* kit.action("/console/t/:tenantId/branding", "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const values = valuesOf(ctx.form, {})
        const choice = choiceOf(ctx.form)
        // A merge patch of the fields the form sent: an empty one resets the setting to its default.
        const patch: TenantSettingsPatch = Object.fromEntries(FIELDS.filter((f) => ctx.form.has(f)).map((f) => [f, values[f] === "" ? null : values[f]]))
        return yield* kit.asOperator(ctx, admin.update(scope.caller, { settings: patch })).pipe(
          Effect.map(() => kit.redirect(ctx, tenantPath(scope, "branding", { locale: choice.locale, template: choice.template, type: choice.type }), "Branding saved.")),
          Effect.catchTags({
            ValidationFailed: (e) => brandingPage(ctx, scope, values, choice, { field: e.field, message: e.message }),
            ScopeMissing: (e) => brandingPage(ctx, scope, values, choice, { field: undefined, message: e.message })
          })
        )
      }))

    yield* kit.page("/console/t/:tenantId/branding/preview/email", (ctx) =>
      Effect.gen(function* () {
        const { scope, choice, draft, stored } = yield* draftOf(ctx)
        const preview = yield* compose(scope, draft.settings, choice, stored)
        return htmlResponse(preview.html, 200, previewHeaders(EMAIL_CSP))
      }))

    yield* kit.page("/console/t/:tenantId/branding/preview/sms", (ctx) =>
      Effect.gen(function* () {
        const { scope, choice, draft, stored } = yield* draftOf(ctx)
        const preview = yield* compose(scope, draft.settings, choice, stored)
        return HttpServerResponse.text(preview.sms.text, { headers: consoleHeaders, contentType: "text/plain; charset=utf-8" })
      }))

    // What branding.js shows beside the frames: the envelope, the SMS's length and the notes.
    yield* kit.page("/console/t/:tenantId/branding/preview/meta", (ctx) =>
      Effect.gen(function* () {
        const { scope, choice, draft, stored } = yield* draftOf(ctx)
        const preview = yield* compose(scope, draft.settings, choice, stored)
        const meta = { subject: preview.subject, from: preview.from, replyTo: preview.replyTo ?? "—", smsInfo: smsInfo(preview.sms), note: noteOf(draft, preview.stored, choice) }
        return HttpServerResponse.text(JSON.stringify(meta), { headers: consoleHeaders, contentType: "application/json" })
      }))

    yield* kit.page("/console/t/:tenantId/branding/preview/page", (ctx) =>
      Effect.gen(function* () {
        const { scope, choice, draft } = yield* draftOf(ctx)
        const policy = policyOf(draft.settings, scope.tenant.name)
        const page = renderLinkPage(LinkPage.Ready({
          page: {
            appName: policy.appName, email: SAMPLE_EMAIL, locale: choice.locale, primaryColor: policy.primaryColor,
            logoUrl: policy.logoUrl, backUrl: null, redirectOrigin: null
          },
          csrf: "preview",
          renderedAt: yield* Clock.currentTimeMillis
        }))
        return htmlResponse(page.html, 200, previewHeaders(framable(page.headers["content-security-policy"] ?? "default-src 'none'")))
      }))

    yield* templatePages(kit, admin, previews)
  })

type Draft = Readonly<Record<"template" | "locale" | Part, string>>

const entryOf = (d: Draft): TenantTemplate => ({
  template: isTemplate(d.template) ? d.template : "SIGNIN",
  locale: d.locale,
  ...Object.fromEntries(PARTS.filter((p) => d[p] !== "").map((p) => [p, d[p]]))
})

const draftOfEntry = (t: TenantTemplate | undefined): Draft => ({
  template: t?.template ?? "SIGNIN", locale: t?.locale ?? "", subject: t?.subject ?? "", html: t?.html ?? "", text: t?.text ?? "", sms: t?.sms ?? ""
})

const draftOfForm = (form: URLSearchParams): Draft => ({
  template: form.get("template") ?? "", locale: (form.get("locale") ?? "").trim(),
  subject: (form.get("subject") ?? "").trim(), html: textOf(form, "html"), text: textOf(form, "text"), sms: textOf(form, "sms")
})

const sameKey = (t: TenantTemplate, template: string, locale: string) => t.template === template && t.locale.toLowerCase() === locale.toLowerCase()

const SHEET_CSS = `body{margin:0;padding:16px;font:15px/1.5 -apple-system,BlinkMacSystemFont,"Segoe UI",Roboto,Helvetica,Arial,sans-serif;color:#111827;background:#fff}
h1{font-size:18px;margin:0 0 12px}h2{font-size:15px;margin:20px 0 8px}dl{display:grid;grid-template-columns:auto 1fr;gap:4px 12px;margin:0}
dt{font-weight:600;color:#4b5563}dd{margin:0;overflow-wrap:anywhere}iframe{width:100%;height:420px;border:1px solid #d1d5db;border-radius:6px}
pre{white-space:pre-wrap;background:#f3f4f6;padding:12px;border-radius:6px;margin:0}.sms{background:#f3f4f6;border-radius:16px;padding:12px 16px;max-width:22rem;white-space:pre-wrap;margin:0}
.muted{color:#4b5563;font-size:14px}.problem{background:#fef2f2;color:#b91c1c;border:1px solid #fca5a5;border-radius:6px;padding:8px 12px}`

/** The stored templates: list, edit (template × locale), preview sheet, save and remove. */
const templatePages = (kit: Kit, admin: TenantAdmin["Service"], { compose, saved }: Previews) =>
  Effect.gen(function* () {
    /** The preview sheet (framed): subject, sender, the HTML part (nested, as sent), the text part and the SMS. */
    const sheet = (scope: TenantScope, draft: Draft, type: AuthType, storedNote: string) =>
      Effect.gen(function* () {
        const settings = yield* saved(scope)
        const entry = entryOf(draft)
        const hasParts = PARTS.some((p) => draft[p] !== "")
        const problem = !hasParts ? undefined
          : !isSettings({ templates: [entry] }) || !isTemplate(draft.template) ? "the message or the language tag is not valid"
          : tenantTemplateProblem([entry])?.join(": ").replace(/^settings\.templates\.0\./u, "")
        const choice: Choice = { locale: draft.locale === "" ? "en" : draft.locale, template: entry.template, type }
        const preview = yield* compose(scope, settings, choice, problem === undefined && hasParts ? entry : undefined)
        const doc = html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Template preview</title><style>${raw(SHEET_CSS)}</style></head><body><main>
<h1>${TEMPLATE_NAMES[choice.template]} · ${draft.locale === "" ? "no language" : draft.locale} · ${TYPE_NAMES[type]}</h1>
${problem === undefined ? null : html`<p class="problem" role="alert">Saving would be refused: ${problem}. The built-in message is shown.</p>`}
${storedNote === "" ? null : html`<p class="muted">${storedNote}</p>`}
<dl><dt>Subject</dt><dd>${preview.subject}</dd><dt>From</dt><dd>${preview.from}</dd></dl>
<h2>HTML part</h2><iframe title="HTML part of the email" srcdoc="${preview.html}"></iframe>
<h2>Plain-text part</h2><pre>${preview.text}</pre>
<h2>SMS</h2><p class="sms">${preview.sms.text}</p><p class="muted">${smsInfo(preview.sms)}</p>
</main></body></html>`
        return htmlResponse(doc.value, 200, previewHeaders(EMAIL_CSP))
      })

    const templatesPage = (ctx: ConsoleContext, scope: TenantScope, draft: Draft, original: { readonly template: string; readonly locale: string } | undefined,
      error?: { readonly field: string | undefined; readonly message: string }) =>
      Effect.gen(function* () {
        const settings = yield* saved(scope)
        const stored = settings.templates ?? []
        const mayEdit = mayAct(ctx.operator.role, "admin")
        const path = tenantPath(scope, "branding/templates")
        const errorFor = (f: string) => error !== undefined && error.field === f ? error.message : undefined
        const general = error !== undefined && !["template", "locale", ...PARTS].includes(error.field ?? "") ? error.message : undefined
        const type = choiceOf(ctx.request.method === "POST" ? ctx.form : ctx.url.searchParams).type
        const sheetSrc = `${pathOf(scope, "branding/templates/preview")}?${new URLSearchParams({
          template: original?.template ?? draft.template, locale: original?.locale ?? draft.locale, type, ...(scope.mode === "test" ? { mode: "test" } : {})
        }).toString()}`
        const area = (p: Exclude<Part, "subject">, label: string, hint: string, max: number) => html`
<label for="${p}">${label}</label>
<textarea id="${p}" name="${p}" maxlength="${max}" spellcheck="false" ${described(p, true, errorFor(p))}>${draft[p]}</textarea>
<p class="hint" id="${p}-hint">${hint}</p>${fieldError(p, errorFor(p))}`
        const body = html`<h1>Stored templates</h1>
${subnav(scope, "templates")}
<p>A stored template replaces the parts it defines of the built-in ${scope.mode}-mode message for one message and language
(the exact tag, else its primary language: a <code>fr</code> template serves <code>fr-CA</code>). Templates may use
<code>{{appName}}</code>, <code>{{code}}</code>, <code>{{link}}</code>, <code>{{expiresInMinutes}}</code>, <code>{{email}}</code> and the request's template variables.</p>
<div class="table-wrap" tabindex="0"><table>
<caption>Stored templates (${stored.length} of 40)</caption>
<thead><tr><th scope="col">Message</th><th scope="col">Language</th><th scope="col">Subject</th><th scope="col">Parts</th><th scope="col">Actions</th></tr></thead>
<tbody>
${stored.length === 0 ? html`<tr><td colspan="5" class="muted">None: every message uses the built-in texts.</td></tr>` : stored.map((t) => html`<tr>
  <td>${TEMPLATE_NAMES[t.template]}</td><td><code>${t.locale}</code></td><td>${t.subject ?? html`<span class="muted">built-in</span>`}</td>
  <td>${PARTS.filter((p) => t[p] !== undefined).map((p) => html`<span class="badge">${p}</span> `)}</td>
  <td class="actions"><a href="${tenantPath(scope, "branding/templates", { template: t.template, locale: t.locale })}">Edit<span class="visually-hidden"> ${t.template} ${t.locale}</span></a>
  ${mayEdit ? html`<form method="post" action="${tenantPath(scope, "branding/templates/delete")}" data-confirm="Remove the ${t.template} template for ${t.locale}?">
    ${csrfField(ctx)}${modeField(scope)}<input type="hidden" name="template" value="${t.template}"><input type="hidden" name="locale" value="${t.locale}">
    <button type="submit" class="link">Remove<span class="visually-hidden"> ${t.template} ${t.locale}</span></button></form>` : null}</td>
</tr>`)}
</tbody></table></div>
<p><a href="${tenantPath(scope, "branding/templates", { new: "1" })}">Add a template</a></p>
${error === undefined ? null : html`<p class="error" role="alert">Not saved: ${general ?? "fix the field marked below."}</p>`}
<div class="branding">
<form method="post" action="${path}" class="panel" id="template-form">
  ${csrfField(ctx)}${modeField(scope)}
  ${original === undefined ? null : html`<input type="hidden" name="originalTemplate" value="${original.template}"><input type="hidden" name="originalLocale" value="${original.locale}">`}
  <h2>${original === undefined ? "New template" : html`Edit ${TEMPLATE_NAMES[isTemplate(original.template) ? original.template : "SIGNIN"]} · <code>${original.locale}</code>`}</h2>
  <label for="template">Message</label>
  <select id="template" name="template" ${described("template", false, errorFor("template"))}>${Object.entries(TEMPLATE_NAMES).map(([v, t]) => html`<option value="${v}" ${draft.template === v ? raw("selected") : null}>${t}</option>`)}</select>
  ${fieldError("template", errorFor("template"))}
  <label for="locale">Language tag</label>
  <input id="locale" name="locale" required maxlength="35" list="locales" autocomplete="off" spellcheck="false" value="${draft.locale}" ${described("locale", true, errorFor("locale"))}>
  <datalist id="locales">${BUILT_IN_LOCALES.map((l) => html`<option value="${l}">${LOCALE_NAMES[l]}</option>`)}</datalist>
  <p class="hint" id="locale-hint">A BCP 47 tag such as <code>fr</code> or <code>pt-BR</code>; one template per message and tag.</p>${fieldError("locale", errorFor("locale"))}
  <label for="subject">Subject</label>
  <input id="subject" name="subject" maxlength="200" autocomplete="off" value="${draft.subject}" ${described("subject", true, errorFor("subject"))}>
  <p class="hint" id="subject-hint">Empty: the built-in subject. The code is never put in a subject.</p>${fieldError("subject", errorFor("subject"))}
  ${area("html", "HTML body", "A whole HTML email; must contain {{code}} or {{link}}, and needs the plain-text body. Empty: the built-in email.", 100_000)}
  ${area("text", "Plain-text body", "Must contain {{code}} or {{link}}. Empty: the built-in text.", 20_000)}
  ${area("sms", "SMS text", "Must contain {{code}}; at most 3 SMS segments. Empty: the built-in SMS.", 1_000)}
  ${select("type", "Preview with sign-in method", Object.entries(TYPE_NAMES), type)}
  <div class="actions">
    <button type="submit" class="secondary" id="template-preview-button" formaction="${tenantPath(scope, "branding/templates/preview")}" formtarget="template-preview">Preview</button>
    ${mayEdit ? html`<button type="submit">Save template</button>` : null}
  </div>
  ${mayEdit ? null : html`<p class="hint">Your role (${ctx.operator.role}) may preview; saving needs admin.</p>`}
</form>
<section aria-labelledby="template-preview-heading" class="branding-previews">
  <h2 id="template-preview-heading">Preview</h2>
  <p class="hint">Sample code ${PreviewLive.SAMPLE.code}, link and ${PreviewLive.SAMPLE.expiresInMinutes} minutes; the draft is shown after Preview.</p>
  <iframe class="preview tall" name="template-preview" title="Template preview" src="${sheetSrc}"></iframe>
</section>
</div>`
        return yield* kit.render(ctx, {
          title: "Stored templates", section: "branding", scope, body, scripts: ["branding.js"], styles: ["branding.css"], status: error === undefined ? 200 : 400
        })
      })

    yield* kit.page("/console/t/:tenantId/branding/templates", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const params = ctx.url.searchParams
        const stored = (yield* saved(scope)).templates ?? []
        const editing = params.get("new") === "1" ? undefined
          : stored.find((t) => sameKey(t, params.get("template") ?? "", params.get("locale") ?? "")) ?? stored[0]
        return yield* templatesPage(ctx, scope, draftOfEntry(editing), editing === undefined ? undefined : { template: editing.template, locale: editing.locale })
      }))

    // The saved template (GET: the frame's first document) or the form's draft (POST, targeted at the frame).
    yield* kit.page("/console/t/:tenantId/branding/templates/preview", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const params = ctx.url.searchParams
        const stored = (yield* saved(scope)).templates ?? []
        const found = stored.find((t) => sameKey(t, params.get("template") ?? "", params.get("locale") ?? ""))
        const draft = found === undefined ? { ...draftOfEntry(undefined), template: params.get("template") ?? "SIGNIN", locale: params.get("locale") ?? "" } : draftOfEntry(found)
        return yield* sheet(scope, draft, choiceOf(params).type, found === undefined ? "No stored template yet: the built-in message." : "The saved template.")
      }))

    yield* kit.action("/console/t/:tenantId/branding/templates/preview", "viewer", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        return yield* sheet(scope, draftOfForm(ctx.form), choiceOf(ctx.form).type, "The draft (not saved).")
      }))

    yield* kit.action("/console/t/:tenantId/branding/templates", "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const draft = draftOfForm(ctx.form)
        const originalTemplate = ctx.form.get("originalTemplate")
        const originalLocale = ctx.form.get("originalLocale")
        const original = originalTemplate === null || originalLocale === null ? undefined : { template: originalTemplate, locale: originalLocale }
        if (!isTemplate(draft.template)) {
          return yield* templatesPage(ctx, scope, draft, original, { field: "template", message: "Choose sign-in or sign-up." })
        }
        // Arrays are replaced whole by a merge patch: the list as saved, with this entry replaced or added.
        const current = (yield* saved(scope)).templates ?? []
        const at = original === undefined ? -1 : current.findIndex((t) => sameKey(t, original.template, original.locale))
        const index = at === -1 ? current.length : at
        const next = [...current.slice(0, index), entryOf(draft), ...current.slice(index + 1)]
        return yield* kit.asOperator(ctx, admin.update(scope.caller, { settings: { templates: next } })).pipe(
          Effect.map(() => kit.redirect(ctx, tenantPath(scope, "branding/templates", { template: draft.template, locale: draft.locale }),
            `The ${TEMPLATE_NAMES[entryOf(draft).template].toLowerCase()} template for ${draft.locale} was saved.`)),
          Effect.catchTags({
            ValidationFailed: (e) => {
              const match = /^settings\.templates\.(\d+)\.(\w+)$/u.exec(e.field ?? "")
              const field = match !== null && Number(match[1]) === index ? match[2] : undefined
              return templatesPage(ctx, scope, draft, original, { field, message: e.message })
            },
            ScopeMissing: (e) => templatesPage(ctx, scope, draft, original, { field: undefined, message: e.message })
          })
        )
      }))

    yield* kit.action("/console/t/:tenantId/branding/templates/delete", "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const template = ctx.form.get("template") ?? ""
        const locale = ctx.form.get("locale") ?? ""
        const current = (yield* saved(scope)).templates ?? []
        const next = current.filter((t) => !sameKey(t, template, locale))
        if (next.length !== current.length) yield* kit.asOperator(ctx, admin.update(scope.caller, { settings: { templates: next } }))
        return kit.redirect(ctx, tenantPath(scope, "branding/templates"),
          next.length === current.length ? "There was no such template." : `The ${isTemplate(template) ? TEMPLATE_NAMES[template].toLowerCase() : template} template for ${locale} was removed.`)
      }))
  })
