/**
 * Tenants (#14): every tenant, and creating one (`createTenantWithKeys`, as `sesame tenant create`;
 * its two secret keys are shown once); a tenant's settings, per mode, and its redirect allowlist.
 * Settings change through TenantAdmin, the service of `PATCH /v1/tenant`, after the form is decoded
 * with the API's own request schema: the console refuses exactly what the API refuses, with the
 * API's message, and TenantAdmin audits `tenant.updated` itself.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Option, Schema, SchemaIssue } from "effect"
import { SqlSchema } from "effect/sql"
import { ValidationFailed } from "../../api/Errors.ts"
import { type TenantView, UpdateTenantRequest } from "../../api/Tenant.ts"
import { AuthType, TenantId } from "../../domain/Ids.ts"
import { type Policy, policyOf, TenantSettings } from "../../domain/TenantSettings.ts"
import { ApiKeys } from "../../keys/ApiKeys.ts"
import { unavailable } from "../../platform/Sql.ts"
import { createTenantWithKeys, InvalidRedirectEntry } from "../../tenants/Bootstrap.ts"
import { TenantAdmin } from "../../tenants/TenantAdmin.ts"
import { Tenants } from "../../tenants/Tenants.ts"
import { html, type Html, raw, when } from "../Html.ts"
import { type ConsoleContext, csrfField, type Kit, modeField, type TenantScope, tenantPath } from "../Kit.ts"
import { mayAct, Operators } from "../Operators.ts"
import { validationFailedOf } from "../../http/Middleware.ts"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const at = (root: unknown, dotted: string): unknown => dotted.split(".").reduce<unknown>((v, key) => (isRecord(v) ? v[key] : undefined), root)

// ---- the settings form: which fields, how they read, how they decode --------------------------------

type Kind = "int" | "number" | "bool" | "choice" | "text" | "countries" | "types"

interface Field {
  /** The form field's name: the path in the settings document (`limits.sendPerIpHour`); `name` is the tenant's. */
  readonly name: string
  readonly label: string
  readonly kind: Kind
  readonly unit?: string
  readonly about?: string
  readonly choices?: ReadonlyArray<readonly [value: string, label: string]>
  /** Only where the JSON Schema cannot say (a plain Number's bounds are left out of it). */
  readonly range?: readonly [number, number]
}

const S = "seconds"
const GROUPS: ReadonlyArray<{ readonly legend: string; readonly fields: ReadonlyArray<Field> }> = [
  { legend: "Name", fields: [
    { name: "name", label: "Tenant name", kind: "text", about: "Shared by live and test; the app name until you set one." },
    { name: "appName", label: "App name", kind: "text", about: "Shown to users in emails and SMS. Up to 100 characters." }
  ] },
  { legend: "Channels and sign-up", fields: [
    { name: "channels.email", label: "Email sign-in", kind: "bool", about: "Off: email sends answer 403 CHANNEL_DISABLED." },
    { name: "channels.sms", label: "SMS sign-in", kind: "bool", about: "Off: SMS sends answer 403 CHANNEL_DISABLED." },
    { name: "emailTypes", label: "Email types allowed", kind: "types" },
    { name: "defaultType", label: "Default email type", kind: "choice", choices: [["OTP", "Code (OTP)"], ["LINK", "Link"], ["LINK_OTP", "Link and code"]] },
    { name: "allowSignup", label: "Allow sign-up", kind: "bool", about: "Off: an unknown identifier gets the same answer, but no code." },
    { name: "noAccountEmail", label: "Tell unknown addresses they have no account", kind: "bool", about: "Only while sign-up is off." }
  ] },
  { legend: "Codes and links", fields: [
    { name: "otpTtlSeconds", label: "Code expiry", kind: "int", unit: S },
    { name: "linkTtlSeconds", label: "Link expiry", kind: "int", unit: S },
    { name: "maxAttempts", label: "Wrong codes per request", kind: "int", unit: "attempts", about: "Then the request is locked." },
    { name: "resendCooldownSeconds", label: "Resend cooldown", kind: "int", unit: S },
    { name: "maxResends", label: "Resends per request", kind: "int", unit: "resends" },
    { name: "resendStrategy", label: "Resend strategy", kind: "choice", choices: [["rotate", "Rotate: a fresh code, the old one void"], ["reuse", "Reuse: the same code again"], ["keep", "Keep: a fresh code, old ones stay valid"]] },
    { name: "linkMode", label: "Link mode", kind: "choice", choices: [["hosted", "Hosted page (safe from mail scanners)"], ["direct", "Direct to the redirect URL"]] },
    { name: "sameOriginLinks", label: "Same-origin links", kind: "bool", about: "On: a link verifies only with the auth request id of the browser that asked." }
  ] },
  { legend: "Lockout", fields: [
    { name: "maxFailuresPerIdentifier", label: "Consecutive failures before a lock", kind: "int", unit: "failures", about: "Counted per identifier across its requests." },
    { name: "identifierLockSeconds", label: "Lock duration", kind: "int", unit: S }
  ] },
  { legend: "Sessions", fields: [
    { name: "accessTokenTtlSeconds", label: "Access token lifetime", kind: "int", unit: S },
    { name: "refreshTokenTtlSeconds", label: "Refresh token lifetime", kind: "int", unit: S },
    { name: "sessionLifetimeSeconds", label: "Session lifetime", kind: "int", unit: S, about: "No refresh extends a session past it." }
  ] },
  { legend: "Rate limits", fields: [
    { name: "limits.requestsPerKeyMinute", label: "Requests per API key", kind: "int", unit: "per minute" },
    { name: "limits.sendPerIdentifierMinute", label: "Sends per email", kind: "int", unit: "per minute" },
    { name: "limits.sendPerIdentifierHour", label: "Sends per email", kind: "int", unit: "per hour" },
    { name: "limits.linkSendPerIdentifierHour", label: "Link sends per email", kind: "int", unit: "per hour" },
    { name: "limits.sendPerIpHour", label: "Sends per end-user IP", kind: "int", unit: "per hour" },
    { name: "limits.verifyPerIdentifierMinute", label: "Guesses per identifier", kind: "int", unit: "per minute" },
    { name: "limits.smsSendPerPhoneHour", label: "SMS per phone", kind: "int", unit: "per hour" },
    { name: "limits.smsPerPrefixHour", label: "SMS per number prefix", kind: "int", unit: "per hour" },
    { name: "limits.smsPerCountryHour", label: "SMS per country", kind: "int", unit: "per hour" },
    { name: "limits.smsBudgetHour", label: "SMS budget of the tenant", kind: "int", unit: "per hour" }
  ] },
  { legend: "SMS and risk", fields: [
    { name: "voipAction", label: "VOIP numbers", kind: "choice", choices: [["flag", "Flag: send, and mark"], ["block", "Block: 403 VOIP_NOT_ALLOWED"], ["challenge", "Challenge: verify the bound email first"]] },
    { name: "riskBlockAt", label: "Block SMS at risk score", kind: "number", range: [0, 1], about: "A send scoring this or more answers 403 RISK_BLOCKED." },
    { name: "smsAllowedCountries", label: "SMS countries", kind: "countries", about: "ISO 3166 codes in capitals, separated by spaces or commas (US GB DE). Empty: every country." },
    { name: "smsAllowPremiumRate", label: "Allow premium-rate numbers", kind: "bool", about: "The SMS-pumping favourites." }
  ] }
]
const FIELDS = GROUPS.flatMap((g) => g.fields)

// Bounds come from the settings schema itself (as /openapi.json shows them), so a hint never disagrees with the check.
const jsonSchema: unknown = Schema.toJsonSchemaDocument(TenantSettings).schema
const rangeOf = (f: Field): readonly [number, number] | undefined => {
  const node = f.name.split(".").reduce<unknown>((n, key) => (isRecord(n) && isRecord(n["properties"]) ? n["properties"][key] : undefined), jsonSchema)
  return isRecord(node) && typeof node["minimum"] === "number" && typeof node["maximum"] === "number" ? [node["minimum"], node["maximum"]] : f.range
}

/** A setting's default (`policyOf({}, name)`: the policy of an empty settings document). */
const defaultOf = (defaults: Policy, name: string): unknown =>
  name === "channels.email" ? defaults.emailEnabled : name === "channels.sms" ? defaults.smsEnabled : at(defaults, name)

const count = (n: number) => n.toLocaleString("en-US")
const duration = (seconds: number): string => {
  const [size, word] = ([[86400, "day"], [3600, "hour"], [60, "minute"]] as const).find(([size]) => seconds >= size && seconds % size === 0) ?? [1, "second"]
  return `${count(seconds / size)} ${word}${seconds / size === 1 ? "" : "s"}`
}
const amount = (f: Field, n: number) => f.unit === S ? `${count(n)} (${duration(n)})` : count(n)

const hintOf = (f: Field, defaults: Policy, tenantName: string): string => {
  const fallback = defaultOf(defaults, f.name)
  const parts: Array<string> = []
  if (f.about !== undefined) parts.push(f.about)
  if (f.kind === "int" || f.kind === "number") {
    const range = rangeOf(f)
    if (range !== undefined) parts.push(`${f.kind === "int" ? "A whole number, " : ""}${count(range[0])}–${count(range[1])}${f.unit === undefined ? "" : ` ${f.unit}`}.`)
    if (typeof fallback === "number") parts.push(`Empty: the default, ${amount(f, fallback)}.`)
  }
  if (f.kind === "bool") parts.push(`Default: ${fallback === true ? "on" : "off"}.`)
  if (f.kind === "types") parts.push("All ticked: every type (the default).")
  if (f.name === "appName") parts.push(`Empty: the tenant name (${tenantName}).`)
  return parts.join(" ")
}

/** The text a field's input shows: what the operator sent (a refused change), else the stored value ("" = the default). */
const textOf = (f: Field, settings: unknown, tenantName: string, sent: URLSearchParams | undefined): string => {
  const posted = sent?.getAll(f.name).at(-1)
  if (posted !== undefined) return posted
  if (f.name === "name") return tenantName
  const stored = at(settings, f.name)
  if (Array.isArray(stored)) return stored.join(" ")
  return typeof stored === "string" || typeof stored === "number" ? String(stored) : ""
}

const decodeNumber = Schema.decodeUnknownOption(Schema.FiniteFromString)
const decodeBoolean = Schema.decodeUnknownOption(Schema.fromJsonString(Schema.Boolean))

/**
 * One field's part of the merge patch. Empty means "the default" (`null` removes the stored value); a
 * box ticked or not as the default says stores no value either. A number or boolean that does not
 * decode is passed on as text, for the API's schema to refuse with its own message.
 */
const patchValue = (f: Field, form: URLSearchParams, defaults: Policy): unknown => {
  const text = (form.getAll(f.name).at(-1) ?? "").trim()
  switch (f.kind) {
    case "int":
    case "number":
      return text === "" ? null : Option.getOrElse(decodeNumber(text), () => text)
    case "bool":
      return Option.match(decodeBoolean(text), { onNone: () => text, onSome: (b) => (b === defaultOf(defaults, f.name) ? null : b) })
    case "types": {
      const ticked = form.getAll(f.name).filter((t) => t !== "")
      return AuthType.literals.every((t) => ticked.includes(t)) && ticked.length === AuthType.literals.length ? null : ticked
    }
    case "countries": {
      const codes = text.split(/[\s,]+/u).filter((c) => c !== "")
      return codes.length === 0 ? null : codes
    }
    case "choice":
    case "text":
      return text === "" && f.name !== "name" ? null : text
  }
}

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** A request that does not decode, as the API answers it (src/http/Middleware.ts): the first issue, its field named. */
const refusal = (error: Schema.SchemaError): ValidationFailed => validationFailedOf(error.issue)
const decodeRequest = (raw: unknown) =>
  Schema.decodeUnknownEffect(UpdateTenantRequest, { onExcessProperty: "error" })(raw).pipe(Effect.mapError(refusal))

/** The settings form's patch: only the fields the form sent (so a field not on it is left as it is). */
const patchOf = (form: URLSearchParams, defaults: Policy): unknown => {
  const request: Record<string, unknown> = {}
  const settings: Record<string, unknown> = {}
  for (const f of FIELDS) {
    if (!form.has(f.name)) continue
    const value = patchValue(f, form, defaults)
    if (f.name === "name") {
      request["name"] = value
      continue
    }
    const [head, leaf] = f.name.split(".") as [string, string | undefined]
    if (leaf === undefined) settings[head] = value
    else settings[head] = { ...(isRecord(settings[head]) ? settings[head] : {}), [leaf]: value }
  }
  return { ...request, settings }
}

/** Which input an API error names (`settings.limits.sendPerIpHour`, `settings.smsAllowedCountries.1`, `name`). */
const inputFor = (field: string | undefined): string | undefined => {
  if (field === undefined) return undefined
  const path = field === "name" ? "name" : field.startsWith("settings.") ? field.slice("settings.".length) : undefined
  return path === undefined ? undefined : FIELDS.find((f) => path === f.name || path.startsWith(`${f.name}.`))?.name
}

// ---- rendering ------------------------------------------------------------------------------------

const idOf = (name: string) => `s-${name.replaceAll(".", "-")}`

/** `aria-describedby` and `aria-invalid` of an input with a hint and, maybe, an error. */
const described = (id: string, error: string | undefined): Html =>
  error === undefined ? html`aria-describedby="${id}-hint"` : html`aria-describedby="${id}-error ${id}-hint" aria-invalid="true"`
const errorLine = (id: string, error: string | undefined): Html | null =>
  error === undefined ? null : html`<p class="field-error" id="${id}-error">${error}</p>`

interface SettingsState {
  /** The form as the operator sent it, when a refused change is shown again. */
  readonly sent?: URLSearchParams
  /** Field name → the API's message. */
  readonly errors?: ReadonlyMap<string, string>
  /** A refusal that names no field on the form. */
  readonly alert?: string
  readonly redirect?: { readonly value: string; readonly error: string }
}

const fieldHtml = (f: Field, view: TenantView, defaults: Policy, state: SettingsState): Html => {
  const id = idOf(f.name)
  const error = state.errors?.get(f.name)
  const hint = html`<p class="hint" id="${id}-hint">${hintOf(f, defaults, view.name)}</p>`
  const text = textOf(f, view.settings, view.name, state.sent)
  switch (f.kind) {
    case "bool": {
      const posted = state.sent?.getAll(f.name).at(-1)
      const value = posted !== undefined ? posted === "true" : (at(view.settings, f.name) ?? defaultOf(defaults, f.name)) === true
      return html`<div class="field">
  <input type="hidden" name="${f.name}" value="false">
  <label class="check" for="${id}"><input type="checkbox" id="${id}" name="${f.name}" value="true" ${value ? raw("checked") : null} ${described(id, error)}> ${f.label}</label>
  ${errorLine(id, error)}${hint}</div>`
    }
    case "types": {
      const ticked = state.sent !== undefined ? state.sent.getAll(f.name) : (view.settings.emailTypes ?? defaults.emailTypes)
      const labels: Record<AuthType, string> = { OTP: "Code (OTP)", LINK: "Link", LINK_OTP: "Link and code" }
      return html`<fieldset class="field" id="${id}" aria-describedby="${error === undefined ? "" : `${id}-error `}${id}-hint"><legend>${f.label}</legend>
  <input type="hidden" name="${f.name}" value="">
  ${AuthType.literals.map((t) => html`<label class="check" for="${id}-${t}"><input type="checkbox" id="${id}-${t}" name="${f.name}" value="${t}" ${ticked.includes(t) ? raw("checked") : null} ${error === undefined ? null : raw('aria-invalid="true"')}> ${labels[t]}</label>`)}
  ${errorLine(id, error)}${hint}</fieldset>`
    }
    case "choice": {
      const fallback = String(defaultOf(defaults, f.name))
      const label = (value: string) => f.choices?.find(([v]) => v === value)?.[1] ?? value
      return html`<div class="field"><label for="${id}">${f.label}</label>
  <select id="${id}" name="${f.name}" ${described(id, error)}>
    <option value="">Default: ${label(fallback)}</option>
    ${(f.choices ?? []).map(([value, caption]) => html`<option value="${value}" ${text === value ? raw("selected") : null}>${caption}</option>`)}
  </select>${errorLine(id, error)}${hint}</div>`
    }
    case "int":
    case "number":
      return html`<div class="field"><label for="${id}">${f.label}${f.unit === undefined ? null : html` <span class="muted">(${f.unit})</span>`}</label>
  <input id="${id}" name="${f.name}" type="number" step="${f.kind === "int" ? "1" : "any"}" inputmode="${f.kind === "int" ? "numeric" : "decimal"}" value="${text}" ${described(id, error)}>
  ${errorLine(id, error)}${hint}</div>`
    case "text":
    case "countries":
      return html`<div class="field"><label for="${id}">${f.label}</label>
  <input id="${id}" name="${f.name}" type="text" value="${text}" ${f.kind === "countries" ? raw('autocapitalize="characters" spellcheck="false"') : null} ${described(id, error)}>
  ${errorLine(id, error)}${hint}</div>`
  }
}

const redirectSection = (ctx: ConsoleContext, scope: TenantScope, view: TenantView, state: SettingsState, canEdit: boolean): Html => {
  const entries = view.settings.redirectAllowlist ?? []
  const action = tenantPath(scope, "settings/redirects")
  const error = state.redirect?.error
  return html`<section class="card" aria-labelledby="redirects-title">
<h2 id="redirects-title">Redirect allowlist</h2>
<p class="muted">Where a sign-in link may send the user (${scope.mode} mode). An entry is an absolute URL matched on scheme, host, port and path; one ending in <code>/*</code> allows any path below it; an <code>http://localhost</code> or <code>http://127.0.0.1</code> entry allows any port.</p>
${entries.length === 0
    ? html`<p>No entries: links cannot redirect anywhere yet.</p>`
    : html`<ul class="entries">${entries.map((entry) => html`<li><code>${entry}</code>${canEdit
      ? html`<form method="post" action="${action}">${csrfField(ctx)}${modeField(scope)}<input type="hidden" name="remove" value="${entry}"><button type="submit" class="secondary" aria-label="Remove ${entry}">Remove</button></form>`
      : null}</li>`)}</ul>`}
${canEdit
    ? html`<form method="post" action="${action}" novalidate>${csrfField(ctx)}${modeField(scope)}
  <label for="redirect-add">New entry</label>
  <input id="redirect-add" name="add" type="text" inputmode="url" spellcheck="false" autocomplete="off" required value="${state.redirect?.value ?? ""}" ${described("redirect-add", error)}>
  ${errorLine("redirect-add", error)}
  <p class="hint" id="redirect-add-hint">For example <code>https://app.example.com/auth/callback</code> or <code>https://app.example.com/auth/*</code>.</p>
  <button type="submit">Add entry</button>
</form>`
    : null}
</section>`
}

// ---- the tenants list and the create form -----------------------------------------------------------

const TenantRow = Schema.Struct({ id: TenantId, name: Schema.String, createdAt: Schema.Date })
type TenantRow = typeof TenantRow.Type

const NAME = UpdateTenantRequest.fields.name.schema
const firstMessage = (error: Schema.SchemaError) => formatIssues(error.issue).issues[0]?.message ?? "is not valid"

interface CreateState {
  readonly name?: string
  readonly allowRedirects?: string
  readonly errors?: { readonly name?: string | undefined; readonly allowRedirects?: string | undefined }
}

export const tenantPages = (kit: Kit) =>
  Effect.gen(function* () {
    const admin = yield* TenantAdmin
    const tenants = yield* Tenants
    const apiKeys = yield* ApiKeys
    const operators = yield* Operators
    const sql = yield* PgClient.PgClient
    const listTenants = SqlSchema.findAll({
      Request: Schema.Void,
      Result: TenantRow,
      execute: () => sql`SELECT id, name, created_at FROM tenants ORDER BY created_at, id`
    })
    const allTenants = unavailable(listTenants(undefined).pipe(Effect.catchTag("SchemaError", (e) => Effect.die(e))))

    const tenantsPage = (ctx: ConsoleContext, state: CreateState, status = 200) =>
      Effect.gen(function* () {
        const rows = yield* allTenants
        const consoleTenant = yield* operators.consoleTenant
        const owner = mayAct(ctx.operator.role, "owner")
        const e = state.errors ?? {}
        const row = (t: TenantRow) => {
          const scope = { tenant: t, mode: "live" as const }
          return html`<tr>
  <th scope="row">${t.name}${t.id === consoleTenant ? html` <span class="badge warn">console sign-in</span>` : null}</th>
  <td><code>${t.id}</code></td>
  <td>${when(t.createdAt)}</td>
  <td><ul class="links">
    <li><a href="${tenantPath(scope, "settings")}" aria-label="Settings of ${t.name}">Settings</a></li>
    <li><a href="${tenantPath(scope, "keys")}" aria-label="API keys of ${t.name}">API keys</a></li>
    <li><a href="${tenantPath(scope, "users")}" aria-label="Users of ${t.name}">Users</a></li>
  </ul></td>
</tr>`
        }
        const form = owner
          ? html`<section class="card" aria-labelledby="create-title">
<h2 id="create-title">Create a tenant</h2>
<p class="muted">As <code>sesame tenant create</code>: the tenant gets one live and one test secret key with every scope, shown once on the next page.</p>
<form method="post" action="/console/tenants" novalidate>${csrfField(ctx)}
  <label for="tenant-name">Name</label>
  <input id="tenant-name" name="name" type="text" required value="${state.name ?? ""}" ${described("tenant-name", e.name)}>
  ${errorLine("tenant-name", e.name)}
  <p class="hint" id="tenant-name-hint">1–100 characters; users see it as the app name until you set one.</p>
  <label for="tenant-redirects">Redirect allowlist <span class="muted">(optional)</span></label>
  <textarea id="tenant-redirects" name="allowRedirects" spellcheck="false" ${described("tenant-redirects", e.allowRedirects)}>${state.allowRedirects ?? ""}</textarea>
  ${errorLine("tenant-redirects", e.allowRedirects)}
  <p class="hint" id="tenant-redirects-hint">One entry per line, e.g. <code>https://app.example.com/auth/callback</code>; an entry ending in <code>/*</code> allows any path below it. You can change the list later in the tenant's settings.</p>
  <button type="submit">Create tenant</button>
</form>
</section>`
          : html`<p class="muted">Only an owner can create tenants (your role: ${ctx.operator.role}).</p>`
        return yield* kit.render(ctx, {
          title: "Tenants",
          section: "tenants",
          status,
          styles: ["tenants.css"],
          body: html`<h1>Tenants</h1>
${status === 400 ? html`<p class="error" role="alert">The tenant was not created: see the form below.</p>` : null}
${owner ? html`<p><a href="#create-title">Create a tenant</a></p>` : null}
<div class="table-wrap" tabindex="0"><table>
<caption>Every tenant (${rows.length})</caption>
<thead><tr><th scope="col">Name</th><th scope="col">Id</th><th scope="col">Created</th><th scope="col">Pages</th></tr></thead>
<tbody>${rows.map(row)}</tbody>
</table></div>
${form}`
        })
      })

    yield* kit.page("/console/tenants", (ctx) => tenantsPage(ctx, {}))

    yield* kit.action("/console/tenants", "owner", (ctx) =>
      Effect.gen(function* () {
        const name = (ctx.form.get("name") ?? "").trim()
        const allowRedirects = ctx.form.get("allowRedirects") ?? ""
        const entries = allowRedirects.split(/\r?\n/u).map((line) => line.trim()).filter((line) => line !== "")
        const again = (errors: NonNullable<CreateState["errors"]>) => tenantsPage(ctx, { name, allowRedirects, errors }, 400)
        const nameError = yield* Schema.decodeUnknownEffect(NAME)(name).pipe(Effect.match({ onFailure: firstMessage, onSuccess: () => undefined }))
        // the stored document's own check (entry length), then createTenantWithKeys' (API.md's redirect rules)
        const listError = yield* Schema.decodeUnknownEffect(TenantSettings)({ redirectAllowlist: entries }).pipe(
          Effect.match({ onFailure: (error) => refusal(error).message, onSuccess: () => undefined })
        )
        if (nameError !== undefined || listError !== undefined) return yield* again({ name: nameError, allowRedirects: listError })
        const created = yield* createTenantWithKeys(name, entries).pipe(
          Effect.provideService(Tenants, tenants),
          Effect.provideService(ApiKeys, apiKeys),
          Effect.catchIf((error): error is InvalidRedirectEntry => error instanceof InvalidRedirectEntry, (error) => Effect.succeed(error))
        )
        if (created instanceof InvalidRedirectEntry) return yield* again({ allowRedirects: created.message })
        const tenant = created.tenant
        yield* kit.audit(ctx, { tenantId: tenant.id, mode: null, type: "tenant.created", subject: tenant.id, details: { name: tenant.name } })
        const scope = { tenant, mode: "live" as const }
        const secret = (id: string, label: string, value: string) => html`<div class="secret-row">
  <p class="secret-label" id="${id}-label">${label}</p>
  <div class="secret"><code id="${id}">${value}</code><button type="button" class="secondary" data-copy="#${id}" aria-describedby="${id}-label" hidden>Copy</button></div>
</div>`
        return yield* kit.render(ctx, {
          title: "Tenant created",
          section: "tenants",
          status: 201,
          styles: ["tenants.css"],
          body: html`<h1>Tenant created</h1>
<p><strong>${tenant.name}</strong> (<code>${tenant.id}</code>) has one live and one test secret key, each with every scope.</p>
<p class="once" role="note"><strong>These keys are shown only once.</strong> Copy them now into your backend's secret store: Sesame keeps only their hashes, and this page cannot be shown again. If a key is lost, create a new one on the tenant's API keys page and revoke this one.</p>
<section class="card" aria-labelledby="keys-title">
<h2 id="keys-title">Secret keys</h2>
${secret("live-key", "Live secret key", created.keys.live)}
${secret("test-key", "Test secret key (test mode: nothing reaches a real inbox or phone)", created.keys.test)}
</section>
<ul class="actions">
  <li><a class="button" href="${tenantPath(scope, "settings")}">Open the tenant's settings</a></li>
  <li><a class="button secondary" href="/console/tenants">Back to tenants</a></li>
</ul>`
        })
      }))

    // ---- settings ---------------------------------------------------------------------------------

    const settingsPage = (ctx: ConsoleContext, scope: TenantScope, state: SettingsState, status = 200) =>
      Effect.gen(function* () {
        const view = yield* admin.get(scope.caller)
        // what an empty field or an untouched box means: the defaults, not the values in force
        const defaults = policyOf({}, view.name)
        const canEdit = mayAct(ctx.operator.role, "admin")
        const isConsole = (yield* operators.consoleTenant) === scope.tenant.id
        const visible = GROUPS.map((g) => ({ ...g, fields: g.fields.filter((f) => f.name !== "name" || scope.mode === "live") }))
        const errors = [...(state.errors ?? new Map<string, string>()).entries()]
        const summary = state.alert !== undefined
          ? html`<p class="error" role="alert" tabindex="-1" autofocus>Nothing was saved: ${state.alert}</p>`
          : errors.length > 0 || state.redirect !== undefined
          ? html`<div class="error" role="alert" tabindex="-1" autofocus><p>Nothing was saved:</p><ul>${errors.map(([name, message]) => html`<li><a href="#${idOf(name)}">${message}</a></li>`)}${state.redirect === undefined ? null : html`<li><a href="#redirect-add">${state.redirect.error}</a></li>`}</ul></div>`
          : null
        const form = html`<form method="post" action="${tenantPath(scope, "settings")}" novalidate>${csrfField(ctx)}${modeField(scope)}
${canEdit ? null : raw('<fieldset class="plain" disabled><legend class="vh">Read only</legend>')}
${visible.map((g) => html`<fieldset><legend>${g.legend}</legend>
${g.fields.map((f) => fieldHtml(f, view, defaults, state))}
${g.legend === "Name" && scope.mode === "test" ? html`<p class="hint">The tenant name (${view.name}) is shared by both modes: change it in <a href="${tenantPath({ tenant: scope.tenant, mode: "live" }, "settings")}">live mode</a>.</p>` : null}
</fieldset>`)}
${canEdit ? html`<button type="submit">Save ${scope.mode} settings</button>` : raw("</fieldset>")}
</form>`
        return yield* kit.render(ctx, {
          title: `Settings · ${view.name}`,
          section: "settings",
          scope,
          status,
          styles: ["tenants.css"],
          body: html`<h1>Settings</h1>
<p><strong>${view.name}</strong> <code>${view.id}</code> · <span class="badge">${scope.mode}</span> Live and test keep separate settings: these are the ${scope.mode} ones, which ${scope.mode} keys and sign-ins use. Switch the mode above for the ${scope.mode === "live" ? "test" : "live"} ones.</p>
${isConsole ? html`<p class="once" role="note">This is the console's own sign-in tenant: its settings decide how operators sign in. Its allowlist must keep the console's sign-in link landing, or emailed sign-in links stop working (codes still do; the server adds the landing back when it starts).</p>` : null}
${canEdit ? null : html`<p class="muted">Your role (${ctx.operator.role}) can read these settings; changing them needs the admin role.</p>`}
${summary}
${form}
${redirectSection(ctx, scope, view, state, canEdit)}`
        })
      })

    yield* kit.page("/console/t/:tenantId/settings", (ctx) => Effect.flatMap(kit.scope(ctx), (scope) => settingsPage(ctx, scope, {})))

    /** TenantAdmin.update as the operator; a refusal comes back as a value for the page to show. */
    const update = (ctx: ConsoleContext, scope: TenantScope, raw: unknown) =>
      decodeRequest(raw).pipe(
        Effect.flatMap((patch) => kit.asOperator(ctx, admin.update(scope.caller, patch))),
        Effect.as(undefined),
        Effect.catchTags({
          ValidationFailed: (error) => Effect.succeed({ message: error.message, field: error.field, status: 400 }),
          ScopeMissing: (error) => Effect.succeed({ message: error.message, field: undefined, status: 403 })
        })
      )

    yield* kit.action("/console/t/:tenantId/settings", "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        // the defaults a box is compared with do not depend on the stored settings
        const refused = yield* update(ctx, scope, patchOf(ctx.form, policyOf({}, scope.tenant.name)))
        if (refused === undefined) return kit.redirect(ctx, tenantPath(scope, "settings"), "Settings saved")
        const input = inputFor(refused.field)
        return yield* settingsPage(ctx, scope, {
          sent: ctx.form,
          ...(input === undefined ? { alert: refused.message } : { errors: new Map([[input, refused.message]]) })
        }, refused.status)
      }))

    yield* kit.action("/console/t/:tenantId/settings/redirects", "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const current = (yield* admin.get(scope.caller)).settings.redirectAllowlist ?? []
        const back = (notice: string) => kit.redirect(ctx, tenantPath(scope, "settings"), notice)
        const removing = ctx.form.get("remove")
        if (removing !== null) {
          if (!current.includes(removing)) return back("That entry was not on the allowlist.")
          const refused = yield* update(ctx, scope, { settings: { redirectAllowlist: current.filter((e) => e !== removing) } })
          if (refused === undefined) return back(`Removed ${removing} from the allowlist`)
          return yield* settingsPage(ctx, scope, { alert: refused.message }, refused.status)
        }
        const adding = (ctx.form.get("add") ?? "").trim()
        if (current.includes(adding)) return back(`${adding} is already on the allowlist`)
        const refused = yield* update(ctx, scope, { settings: { redirectAllowlist: [...current, adding] } })
        if (refused === undefined) return back(`Added ${adding} to the allowlist`)
        return yield* settingsPage(ctx, scope, refused.field === `settings.redirectAllowlist.${current.length}`
          ? { redirect: { value: adding, error: refused.message } }
          : { alert: refused.message }, refused.status)
      }))
  })
