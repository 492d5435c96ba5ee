/**
 * `/console/t/:tenantId/requests` (#14): a tenant's auth requests in one mode, newest first, filtered
 * by status or by an exact email, phone or request id, a page at a time; and one request's page with
 * everything recorded about it (its status as `Passwordless.status` reports it, its messages and
 * their delivery, the audit rows of its attempts). Read-only. Emails and phone numbers are masked.
 */
import { Clock, Effect, Option, Schema } from "effect"
import { normalizeEmail } from "../../domain/Email.ts"
import { AuthRequestId } from "../../domain/Ids.ts"
import { classifyPhone } from "../../domain/Phone.ts"
import { authRequestOfUuid } from "../../domain/RequestUuid.ts"
import { maskEmail } from "../../http/LinkPageHtml.ts"
import { Passwordless } from "../../passwordless/Passwordless.ts"
import { maskPhone, maskText } from "../../platform/Mask.ts"
import { html, type Html, raw, when } from "../Html.ts"
import { type Kit, PageNotFound, type TenantScope, tenantPath } from "../Kit.ts"
import * as Queries from "../RequestQueries.ts"

const PAGE_SIZE = 25

export const maskIdentifier = (identifier: string): string => identifier.includes("@") ? maskEmail(identifier) : maskPhone(identifier)

const STATUS_TONE: Readonly<Record<string, string>> = {
  verified: "ok", pending: "", expired: "warn", locked: "bad",
  sent: "ok", failed: "bad", queued: "warn", sending: "warn", skipped: "", suppressed: ""
}
const badge = (text: string) => html`<span class="badge ${STATUS_TONE[text] ?? ""}">${text}</span>`

const delivery = (status: string | null, provider: string | null) =>
  status === null ? html`<span class="muted">none</span>` : html`${badge(status)}${provider === null ? null : html` <span class="muted">${provider}</span>`}`

const risk = (score: number | null, signals: ReadonlyArray<string> | null) =>
  score === null ? html`<span class="muted">—</span>`
    : html`${(Math.round(score * 1000) / 1000).toString()}${signals === null || signals.length === 0 ? null : html`<br><span class="muted">${signals.join(", ")}</span>`}`

/** The search box: a request id (or its UUID alias), else an email or phone normalised as sends store them. */
export const searchOf = (text: string): { readonly id?: string; readonly identifier?: string } => {
  const q = text.trim()
  if (q === "") return {}
  if (/^ar_[0-9A-Za-z]{16,40}$/u.test(q)) return { id: q }
  const byUuid = authRequestOfUuid(q)
  if (byUuid !== undefined) return { id: byUuid }
  if (q.includes("@")) return { identifier: normalizeEmail(q) ?? q.toLowerCase() }
  return { identifier: classifyPhone(q.startsWith("+") ? q : `+${q}`)?.e164 ?? q }
}

const filters = (scope: TenantScope, status: string, q: string) => html`<form method="get" action="${tenantPath({ ...scope, mode: "live" }, "requests")}" role="search" aria-label="Filter auth requests">
  ${scope.mode === "test" ? html`<input type="hidden" name="mode" value="test">` : null}
  <div class="inline">
    <div><label for="q">Email, phone or request id</label>
      <input id="q" name="q" type="search" value="${q}" maxlength="320" aria-describedby="q-hint"></div>
    <div><label for="status">Status</label>
      <select id="status" name="status">
        <option value="">Any</option>
        ${Queries.STATUSES.map((s) => html`<option value="${s}" ${s === status ? raw("selected") : null}>${s}</option>`)}
      </select></div>
    <div><button type="submit">Show requests</button></div>
  </div>
  <p class="hint" id="q-hint">The whole address, or the number with its country code, or a request id.</p>
</form>`

const listTable = (scope: TenantScope, rows: ReadonlyArray<Queries.ListRow>, nowMs: number) => html`<div class="table-wrap" tabindex="0"><table>
  <caption>Auth requests of ${scope.tenant.name}, ${scope.mode} mode, newest first</caption>
  <thead><tr>
    <th scope="col">Created</th><th scope="col">Request</th><th scope="col">Channel</th><th scope="col">Type</th>
    <th scope="col">Identifier</th><th scope="col">Status</th><th scope="col">Attempts</th><th scope="col">Delivery</th>
    <th scope="col">Risk</th>
  </tr></thead>
  <tbody>${rows.map((r) => html`<tr>
    <td>${when(r.createdAt)}</td>
    <th scope="row"><a href="${tenantPath(scope, `requests/${r.id}`)}" aria-label="Request ${r.id}"><code>${r.id}</code></a></th>
    <td>${r.channel}</td><td>${r.type}</td><td>${maskIdentifier(r.identifier)}</td>
    <td>${badge(Queries.statusOf(r, nowMs))}</td>
    <td>${r.attempts} / ${r.maxAttempts}</td>
    <td>${delivery(r.deliveryStatus, r.deliveryProvider)}</td>
    <td>${risk(r.riskScore, r.riskSignals)}</td>
  </tr>`)}</tbody>
</table></div>`

const field = (label: string, value: Html | string | number | null) =>
  html`<tr><th scope="row">${label}</th><td>${value === null || value === "" ? html`<span class="muted">—</span>` : value}</td></tr>`

const detailsText = (details: unknown): string =>
  typeof details === "object" && details !== null
    ? Object.entries(details).map(([k, v]) => `${k}: ${typeof v === "string" ? v : JSON.stringify(v)}`).join(", ")
    : ""

export const requestPages = (kit: Kit) =>
  Effect.gen(function* () {
    const queries = yield* Queries.make
    const passwordless = yield* Passwordless

    yield* kit.page("/console/t/:tenantId/requests", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const nowMs = yield* Clock.currentTimeMillis
        const statusText = ctx.url.searchParams.get("status") ?? ""
        const status = Queries.STATUSES.find((s) => s === statusText)
        const q = (ctx.url.searchParams.get("q") ?? "").slice(0, 320)
        const search = searchOf(q)
        const before = Queries.parseCursor(ctx.url.searchParams.get("before"))
        const rows = yield* queries.list({
          tenantId: scope.tenant.id, mode: scope.mode, now: new Date(nowMs), status, identifier: search.identifier, id: search.id,
          before, limit: PAGE_SIZE
        })
        const page = rows.slice(0, PAGE_SIZE)
        const last = page[page.length - 1]
        const older = rows.length > PAGE_SIZE && last !== undefined
          ? tenantPath(scope, "requests", { status, q: q === "" ? undefined : q, before: Queries.cursorOf(last) })
          : undefined
        const body = html`<h1>Auth requests</h1>
<p class="muted">${scope.tenant.name}, ${scope.mode} mode: every send creates a request. Newest first; read-only.</p>
${filters(scope, status ?? "", q)}
${page.length === 0
  ? html`<p role="status">No auth requests${status === undefined && q === "" ? "" : " match these filters"}${before === undefined ? "" : " on this page"}.</p>`
  : listTable(scope, page, nowMs)}
<nav aria-label="Pages" class="actions">
  ${before === undefined ? null : html`<a href="${tenantPath(scope, "requests", { status, q: q === "" ? undefined : q })}">Newest requests</a>`}
  ${older === undefined ? null : html`<a href="${older}">Older requests</a>`}
</nav>`
        return yield* kit.render(ctx, { title: "Auth requests", section: "requests", scope, body })
      }))

    yield* kit.page("/console/t/:tenantId/requests/:id", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const id = Schema.decodeUnknownOption(AuthRequestId)(ctx.params["id"])
        if (Option.isNone(id)) return yield* new PageNotFound({ message: "No such auth request." })
        const status = yield* passwordless.status(scope.caller, id.value)
        const found = yield* queries.detail(scope.tenant.id, scope.mode, id.value)
        if (found === undefined) return yield* new PageNotFound({ message: "No such auth request." })
        const { row, messages, audit } = found
        const body = html`<h1>Auth request <code>${row.id}</code></h1>
<p><a href="${tenantPath(scope, "requests")}">All auth requests of ${scope.tenant.name}</a></p>
<section class="panel" aria-labelledby="status-h"><h2 id="status-h">Status</h2>
<div class="table-wrap" tabindex="0"><table><tbody>
  ${field("Status", badge(status.status))}
  ${field("Attempts", `${status.attempts} of ${status.maxAttempts}`)}
  ${field("Resends", status.resends)}
  ${field("Created", when(row.createdAt))}
  ${field("Last sent", when(row.lastSentAt))}
  ${field("Expires", when(new Date(status.expiresAt * 1000)))}
  ${field("Verified", row.verifiedAt === null ? null : when(row.verifiedAt))}
  ${field("Latest delivery", html`${badge(status.delivery.status)}${status.delivery.provider === null ? null : html` by ${status.delivery.provider}`}, ${status.delivery.attempts} attempt${status.delivery.attempts === 1 ? "" : "s"}`)}
  ${field("Risk score", status.riskScore === undefined ? null : (Math.round(status.riskScore * 1000) / 1000).toString())}
  ${field("Risk signals", status.riskSignals === undefined || status.riskSignals.length === 0 ? null : status.riskSignals.join(", "))}
</tbody></table></div></section>
<section class="panel" aria-labelledby="request-h"><h2 id="request-h">Request</h2>
<div class="table-wrap" tabindex="0"><table><tbody>
  ${field("Channel", row.channel)}
  ${field("Type", row.type)}
  ${field("Identifier", maskIdentifier(row.identifier))}
  ${row.channel === "sms" ? field("Bound email", row.email === null ? null : maskEmail(row.email)) : null}
  ${field("Code", row.type === "LINK" ? "none (link only)" : `${row.codeLength} digits`)}
  ${field("Link", row.hasLink ? (row.pkce ? "yes, bound to the browser that asked (PKCE)" : "yes") : "no")}
  ${field("Redirect URL", row.redirectUrl === null ? null : html`<code>${row.redirectUrl}</code>`)}
  ${field("State", row.state)}
  ${field("Template", row.template)}
  ${field("Locale", row.locale)}
  ${field("Client IP", row.clientIp)}
  ${field("User agent", row.userAgent)}
  ${field("User", row.userId)}
  ${field("Metadata", row.metadata === null ? null : html`<pre>${JSON.stringify(row.metadata, null, 2)}</pre>`)}
</tbody></table></div></section>
<section aria-labelledby="messages-h"><h2 id="messages-h">Messages</h2>
${messages.length === 0 ? html`<p>No message was written for this request.</p>` : html`<div class="table-wrap" tabindex="0"><table>
  <caption>Messages of this request, oldest first (one per send or resend)</caption>
  <thead><tr><th scope="col">Created</th><th scope="col">Message</th><th scope="col">Channel</th><th scope="col">Status</th>
    <th scope="col">Provider</th><th scope="col">Attempts</th><th scope="col">Sent</th><th scope="col">Next attempt</th><th scope="col">Last error</th></tr></thead>
  <tbody>${messages.map((m) => html`<tr>
    <td>${when(m.createdAt)}</td><th scope="row"><code>${m.id}</code></th><td>${m.channel}</td><td>${badge(m.status)}</td>
    <td>${m.provider ?? html`<span class="muted">—</span>`}</td><td>${m.attempts}</td><td>${when(m.sentAt)}</td>
    <td>${m.status === "queued" || m.status === "sending" ? when(m.nextAttemptAt) : html`<span class="muted">—</span>`}</td>
    <td>${m.lastError === null ? html`<span class="muted">—</span>` : maskText(m.lastError)}</td>
  </tr>`)}</tbody></table></div>`}
</section>
<section aria-labelledby="audit-h"><h2 id="audit-h">Attempts and events</h2>
${audit.length === 0 ? html`<p>No verification attempt was recorded.</p>` : html`<div class="table-wrap" tabindex="0"><table>
  <caption>Audit log entries about this request, oldest first</caption>
  <thead><tr><th scope="col">Time</th><th scope="col">Event</th><th scope="col">Details</th><th scope="col">IP</th><th scope="col">Actor</th></tr></thead>
  <tbody>${audit.map((a) => html`<tr>
    <td>${when(a.createdAt)}</td><th scope="row">${a.type}</th><td>${detailsText(a.details)}</td>
    <td>${a.ip ?? html`<span class="muted">—</span>`}</td><td>${a.actor ?? html`<span class="muted">—</span>`}</td>
  </tr>`)}</tbody></table></div>`}
</section>`
        return yield* kit.render(ctx, { title: `Auth request ${row.id}`, section: "requests", scope, body })
      }))
  })
