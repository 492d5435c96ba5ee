/**
 * The audit log (#14): `/console/t/:tenantId/audit`, the tenant's security events in the page's mode
 * plus the tenant-wide ones, newest first, as `GET /v1/audit` lists them (the same `Audit.list`), with
 * filters (a GET form) that the service applies in its one query.
 */
import { Effect } from "effect"
import { AuditType } from "../../api/Audit.ts"
import { Audit, type AuditEvent, type AuditFilter } from "../../audit/Audit.ts"
import { normalizeEmail } from "../../domain/Email.ts"
import { html, type Html, raw } from "../Html.ts"
import { type ConsoleContext, type Kit, tenantPath, type TenantScope } from "../Kit.ts"

const PAGE = 50
const DATE = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/u
const DAY_MS = 86_400_000

/** What the operator typed, kept to re-render the form. */
interface Typed {
  readonly type: string
  readonly actor: string
  readonly subject: string
  readonly from: string
  readonly to: string
}

type Field = keyof Typed

const isAuditType = (value: string): value is AuditType => (AuditType.literals as ReadonlyArray<string>).includes(value)

/** `2026-12-05` → that day's first instant (UTC); undefined unless a real calendar date. */
const dayStart = (text: string): Date | undefined => {
  if (!DATE.test(text)) return undefined
  const date = new Date(`${text}T00:00:00.000Z`)
  return Number.isNaN(date.getTime()) || date.toISOString().slice(0, 10) !== text ? undefined : date
}

/** An operator is recorded as `operator:<normalised email>`: a bare or differently cased address finds them too. */
const actorOf = (text: string): string => {
  const email = text.startsWith("operator:") ? text.slice("operator:".length) : text.includes("@") ? text : undefined
  return email === undefined ? text : `operator:${normalizeEmail(email) ?? email}`
}

const parse = (url: URL): { readonly typed: Typed; readonly filter: AuditFilter; readonly errors: Partial<Record<Field, string>> } => {
  const get = (name: string) => (url.searchParams.get(name) ?? "").trim()
  const typed: Typed = { type: get("type"), actor: get("actor"), subject: get("subject"), from: get("from"), to: get("to") }
  const errors: Partial<Record<Field, string>> = {}
  const filter: { -readonly [K in keyof AuditFilter]: AuditFilter[K] } = {}
  if (typed.type !== "") {
    if (isAuditType(typed.type)) filter.type = typed.type
    else errors.type = "Choose one of the listed event types."
  }
  if (typed.actor !== "") {
    if (typed.actor.length > 330) errors.actor = "At most 330 characters."
    else filter.actor = actorOf(typed.actor)
  }
  if (typed.subject !== "") {
    if (typed.subject.length > 200) errors.subject = "At most 200 characters."
    else filter.subject = typed.subject
  }
  if (typed.from !== "") {
    const from = dayStart(typed.from)
    if (from === undefined) errors.from = "Enter a date as YYYY-MM-DD."
    else filter.from = from
  }
  if (typed.to !== "") {
    const to = dayStart(typed.to)
    if (to === undefined) errors.to = "Enter a date as YYYY-MM-DD."
    // the end date is included: events before the next day's start
    else filter.to = new Date(to.getTime() + DAY_MS)
  }
  if (filter.from !== undefined && filter.to !== undefined && filter.from >= filter.to) {
    errors.to = "The end date is before the start date."
  }
  return { typed, filter, errors }
}

/** A full instant, to the second (an audit trail is read by the second); the `<time>` has it all. */
const instant = (date: Date): Html => {
  const iso = date.toISOString()
  return html`<time datetime="${iso}">${iso.slice(0, 19).replace("T", " ")} UTC</time>`
}

const muted = html`<span class="muted">—</span>`

const details = (event: AuditEvent): Html =>
  Object.keys(event.details).length === 0 ? muted : html`<code>${JSON.stringify(event.details)}</code>`

const row = (event: AuditEvent): Html => html`<tr>
  <td class="time">${instant(event.createdAt)}</td>
  <td class="nowrap"><code>${event.type}</code>${event.mode === null ? html` <span class="badge">tenant-wide</span>` : null}</td>
  <td class="id">${event.actor === null ? muted : html`<code>${event.actor}</code>`}</td>
  <td class="nowrap">${event.ip ?? muted}</td>
  <td class="id">${event.subject === null ? muted : html`<code>${event.subject}</code>`}</td>
  <td class="details">${details(event)}</td>
  <td class="id">${event.requestId === null ? muted : html`<code>${event.requestId}</code>`}</td>
</tr>`

const field = (
  name: Field, label: string, errors: Partial<Record<Field, string>>, control: (attributes: Html) => Html, hint?: string
): Html => {
  const error = errors[name]
  const described = [hint === undefined ? null : `${name}-hint`, error === undefined ? null : `${name}-error`].filter((id) => id !== null).join(" ")
  const attributes = html`id="filter-${name}" name="${name}"${error === undefined ? null : raw(' aria-invalid="true"')}${described === "" ? null : html` aria-describedby="${described}"`}`
  return html`<div class="filter-field">
    <label for="filter-${name}">${label}</label>
    ${control(attributes)}
    ${hint === undefined ? null : html`<p class="hint" id="${name}-hint">${hint}</p>`}
    ${error === undefined ? null : html`<p class="field-error" id="${name}-error">${error}</p>`}
  </div>`
}

const filterForm = (scope: TenantScope, typed: Typed, errors: Partial<Record<Field, string>>): Html => html`<form method="get" action="/console/t/${scope.tenant.id}/audit" class="filters" role="search" aria-label="Filter the audit log">
  ${scope.mode === "test" ? html`<input type="hidden" name="mode" value="test">` : null}
  ${field("type", "Event type", errors, (attributes) => html`<select ${attributes}>
      <option value="">All types</option>
      ${AuditType.literals.map((type) => html`<option value="${type}"${type === typed.type ? raw(" selected") : null}>${type}</option>`)}
    </select>`)}
  ${field("actor", "Actor", errors, (attributes) => html`<input type="text" ${attributes} value="${typed.actor}" maxlength="330" autocomplete="off" spellcheck="false">`,
    "An API key id, or operator:email")}
  ${field("subject", "Subject", errors, (attributes) => html`<input type="text" ${attributes} value="${typed.subject}" maxlength="200" autocomplete="off" spellcheck="false">`,
    "A key, user, auth request or webhook id")}
  ${field("from", "From (UTC)", errors, (attributes) => html`<input type="date" ${attributes} value="${typed.from}">`)}
  ${field("to", "To (UTC, included)", errors, (attributes) => html`<input type="date" ${attributes} value="${typed.to}">`)}
  <div class="filter-actions">
    <button type="submit">Filter</button>
    <a href="${tenantPath(scope, "audit")}">Clear filters</a>
  </div>
</form>`

const table = (events: ReadonlyArray<AuditEvent>, filtered: boolean): Html => events.length === 0
  ? html`<p class="panel">${filtered ? "No event matches these filters." : "No events yet."}</p>`
  // a wide table scrolls sideways: the region takes focus so a keyboard can scroll it too
  : html`<div class="table-wrap" role="region" aria-labelledby="audit-caption" tabindex="0"><table class="audit">
  <caption id="audit-caption">Audit events, newest first</caption>
  <thead><tr>
    <th scope="col">Time</th><th scope="col">Type</th><th scope="col">Actor</th><th scope="col">IP</th>
    <th scope="col">Subject</th><th scope="col">Details</th><th scope="col">Request id</th>
  </tr></thead>
  <tbody>${events.map(row)}</tbody>
</table></div>`

export const auditPages = (kit: Kit) =>
  Effect.gen(function* () {
    const audit = yield* Audit

    const page = (ctx: ConsoleContext) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const { typed, filter, errors } = parse(ctx.url)
        const invalid = Object.keys(errors).length > 0
        const cursor = ctx.url.searchParams.get("before") ?? ""
        const before = /^[0-9]{1,18}$/u.test(cursor) ? cursor : undefined
        const found = invalid
          ? []
          : yield* audit.list(scope.caller.tenantId, scope.caller.mode, { limit: PAGE + 1, before }, filter)
        const shown = found.slice(0, PAGE)
        const last = shown[shown.length - 1]
        const kept = { ...typed }
        const filtered = Object.values(typed).some((value) => value !== "")
        const pager = [
          before === undefined ? null : html`<a href="${tenantPath(scope, "audit", kept)}">Newest events</a>`,
          found.length > PAGE && last !== undefined
            ? html`<a href="${tenantPath(scope, "audit", { ...kept, before: last.cursor })}" rel="next">Older events</a>`
            : null
        ].filter((link) => link !== null)
        const body = html`<h1>Audit log</h1>
<p>Security events of this tenant's ${scope.mode} mode and the tenant-wide ones (settings), newest first, as <code>GET /v1/audit</code> lists them. Times are UTC.</p>
${filterForm(scope, typed, errors)}
${invalid
  ? html`<p class="error" role="alert">Fix the highlighted filter to see events.</p>`
  : html`${table(shown, filtered)}${pager.length === 0 ? null : html`<nav class="pager actions" aria-label="Audit log pages">${pager}</nav>`}`}`
        return yield* kit.render(ctx, { title: "Audit log", section: "audit", scope, body, styles: ["audit.css"], status: invalid ? 400 : 200 })
      })

    yield* kit.page("/console/t/:tenantId/audit", page)
  })
