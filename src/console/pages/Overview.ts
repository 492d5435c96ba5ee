/**
 * `/console` (#14): every tenant's last 24 hours or 7 days in one mode — sends by channel, verified
 * requests, the success rate, failures by error code, risk blocks, delivery failures and the outbox
 * queue — as numbers, a summary table, and per tenant two server-rendered SVG charts with their
 * numbers in tables beside them. Read-only; the numbers come from src/console/Stats.ts.
 */
import { Effect } from "effect"
import type { Mode } from "../../domain/Ids.ts"
import { horizontalBars, legend, type Series, stackedBars } from "../Charts.ts"
import { html, type Html, query, when } from "../Html.ts"
import { type Kit, tenantPath } from "../Kit.ts"
import { Operators } from "../Operators.ts"
import * as Stats from "../Stats.ts"

const RANGES: ReadonlyArray<readonly [Stats.Range, string]> = [["24h", "Last 24 hours"], ["7d", "Last 7 days"]]
const MODES: ReadonlyArray<readonly [Mode, string]> = [["live", "Live"], ["test", "Test"]]

const FAILURE_LABELS: Readonly<Record<Stats.FailureCode, string>> = {
  CODE_INVALID: "Wrong code or link",
  TOO_MANY_ATTEMPTS: "Request locked after too many wrong attempts",
  CODE_EXPIRED: "Expired unused",
  IDENTIFIER_LOCKED: "Email or phone locked after repeated failures",
  RATE_LIMITED: "Refused by a rate limit (sampled: at most one a minute per limit)",
  RISK_BLOCKED: "SMS refused by the risk checks",
  VOIP_NOT_ALLOWED: "SMS to a VOIP number refused",
  DELIVERY_FAILED: "Message delivery failed"
}

const CHANNELS: ReadonlyArray<Series> = [{ label: "email", tone: "s1" }, { label: "SMS", tone: "s2" }]

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`

const percent = (part: number, whole: number) => whole === 0 ? "—" : `${Math.round((part / whole) * 100)}%`

/** `42 s`, `7 min`, `3 h 5 min`, `2 d 4 h`. */
export const age = (ms: number): string => {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s} s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m} min`
  const h = Math.floor(m / 60)
  if (h < 24) return m % 60 === 0 ? `${h} h` : `${h} h ${m % 60} min`
  return `${Math.floor(h / 24)} d ${h % 24} h`
}

const bucketLabel = (window: Stats.Window, i: number): string => {
  const start = new Date(window.since.getTime() + i * window.bucketMs)
  return window.range === "24h"
    ? `${start.toISOString().slice(11, 13)}:00`
    : start.toLocaleDateString("en-GB", { timeZone: "UTC", day: "numeric", month: "short" })
}

const riskText = (stats: Stats.TenantStats) => {
  const reasons = Object.entries(stats.riskBlocks)
  return reasons.length === 0 ? "none" : reasons.map(([reason, n]) => `${n} ${reason.replaceAll("_", " ")}`).join(", ")
}

const statCard = (label: string, value: Html | string | number, detail: Html | string | null) =>
  html`<div class="panel"><h4>${label}</h4><p class="stat">${value}</p>${detail === null ? null : html`<p class="muted">${detail}</p>`}</div>`

const sendsChart = (id: string, name: string, window: Stats.Window, stats: Stats.TenantStats) => {
  const per = window.range === "24h" ? "hour" : "day"
  const labels = Array.from({ length: window.buckets }, (_, i) => bucketLabel(window, i))
  const peak = stats.perBucket.reduce((best, b, i) => (b.email + b.sms > best.n ? { n: b.email + b.sms, i } : best), { n: 0, i: -1 })
  const description = `${stats.sends.email} email and ${stats.sends.sms} SMS sends in total` +
    (peak.i < 0 ? "." : `; the busiest ${per} was ${labels[peak.i]} with ${peak.n}.`)
  return html`<figure class="panel">
  <figcaption><h4>Sends per ${per}</h4></figcaption>
  ${stackedBars({
    id, title: `Sends per ${per} for ${name}, by channel`, description, labels, series: CHANNELS,
    values: stats.perBucket.map((b) => [b.email, b.sms]),
    tick: (i) => window.range === "7d" || i % 4 === 0
  })}
  ${legend(CHANNELS)}
  <details><summary>Sends per ${per} as a table</summary>
  <div class="table-wrap" tabindex="0"><table>
    <caption>Sends per ${per} for ${name} (UTC)</caption>
    <thead><tr><th scope="col">${window.range === "24h" ? "Hour" : "Day"}</th><th scope="col">Email</th><th scope="col">SMS</th></tr></thead>
    <tbody>${stats.perBucket.map((b, i) => html`<tr><th scope="row">${labels[i]}</th><td>${b.email}</td><td>${b.sms}</td></tr>`)}</tbody>
  </table></div></details>
</figure>`
}

const failuresChart = (id: string, name: string, stats: Stats.TenantStats) => {
  const rows = Stats.FAILURE_CODES.map((code) => ({
    label: code, value: stats.failures[code],
    tone: (code === "RISK_BLOCKED" || code === "VOIP_NOT_ALLOWED" ? "s3" : code === "DELIVERY_FAILED" ? "s2" : "s4") as Series["tone"]
  }))
  // the chart draws the codes that happened; the table lists every code with what it means
  const nonZero = rows.filter((r) => r.value > 0)
  return html`<figure class="panel">
  <figcaption><h4>Failures by error code</h4></figcaption>
  ${nonZero.length === 0 ? html`<p>No failures in this window.</p>` : horizontalBars({
    id, title: `Failures by error code for ${name}`, description: `${nonZero.map((r) => `${r.value} ${r.label}`).join(", ")}.`, rows: nonZero
  })}
  <details><summary>Failures by error code as a table</summary>
  <div class="table-wrap" tabindex="0"><table>
    <caption>Failures by error code for ${name}</caption>
    <thead><tr><th scope="col">Code</th><th scope="col">What happened</th><th scope="col">Count</th></tr></thead>
    <tbody>${rows.map((r) => html`<tr><th scope="row"><code class="nowrap">${r.label}</code></th><td>${FAILURE_LABELS[r.label]}</td><td>${r.value}</td></tr>`)}</tbody>
  </table></div></details>
</figure>`
}

interface Entry {
  readonly id: string
  readonly name: string
  readonly isConsole: boolean
  readonly stats: Stats.TenantStats
}

const tenantSection = (entry: Entry, window: Stats.Window, mode: Mode, nowMs: number) => {
  const { stats } = entry
  const name = entry.isConsole ? `${entry.name} (console sign-in)` : entry.name
  const sends = stats.sends.email + stats.sends.sms
  const queue = stats.queue.oldest === null ? "nothing waiting" : html`oldest waiting ${age(nowMs - stats.queue.oldest.getTime())} (since ${when(stats.queue.oldest)})`
  return html`<section class="tenant" id="t-${entry.id}" aria-labelledby="t-${entry.id}-h">
<h3 id="t-${entry.id}-h">${name}</h3>
<p><a href="${tenantPath({ tenant: { id: entry.id }, mode }, "requests")}">Auth requests of ${entry.name}</a></p>
<div class="grid">
  ${statCard("Sends", sends, `${stats.sends.email} email · ${stats.sends.sms} SMS${stats.suppressed > 0 ? ` · ${stats.suppressed} suppressed (no account)` : ""}`)}
  ${statCard("Verified", stats.verified, `${plural(stats.created, "request")} created`)}
  ${statCard("Success rate", percent(stats.createdVerified, stats.created), `${stats.createdVerified} of ${plural(stats.created, "new request")} verified`)}
  ${statCard("Failures", Stats.failureTotal(stats), `${plural(stats.failures.CODE_INVALID, "wrong code")} · ${stats.failures.CODE_EXPIRED} expired`)}
  ${statCard("Risk blocks", Stats.riskBlockTotal(stats), riskText(stats))}
  ${statCard("Delivery failures", stats.deliveryFailed, `${stats.skipped} expired before delivery`)}
  ${statCard("Queue", stats.queue.depth, queue)}
</div>
<div class="charts">
  ${sendsChart(`sends-${entry.id}`, name, window, stats)}
  ${failuresChart(`failures-${entry.id}`, name, stats)}
</div>
</section>`
}

const summaryRow = (label: Html, stats: Stats.TenantStats) => html`<tr>
  <th scope="row">${label}</th>
  <td>${stats.sends.email}</td><td>${stats.sends.sms}</td><td>${stats.verified}</td>
  <td>${percent(stats.createdVerified, stats.created)}</td><td>${Stats.failureTotal(stats)}</td>
  <td>${Stats.riskBlockTotal(stats)}</td><td>${stats.deliveryFailed}</td><td>${stats.queue.depth}</td>
</tr>`

const total = (window: Stats.Window, entries: ReadonlyArray<Entry>): Stats.TenantStats => {
  const sum = (f: (s: Stats.TenantStats) => number) => entries.reduce((acc, e) => acc + f(e.stats), 0)
  const empty = Stats.emptyStats(window)
  return {
    ...empty,
    sends: { email: sum((s) => s.sends.email), sms: sum((s) => s.sends.sms) },
    created: sum((s) => s.created), createdVerified: sum((s) => s.createdVerified), verified: sum((s) => s.verified),
    failures: Object.fromEntries(Stats.FAILURE_CODES.map((code) => [code, sum((s) => s.failures[code])])) as Record<Stats.FailureCode, number>,
    riskBlocks: { all: sum(Stats.riskBlockTotal) },
    deliveryFailed: sum((s) => s.deliveryFailed),
    queue: { depth: sum((s) => s.queue.depth), oldest: null }
  }
}

export const overviewPages = (kit: Kit) =>
  Effect.gen(function* () {
    const stats = yield* Stats.make
    const operators = yield* Operators

    yield* kit.page("/console", (ctx) =>
      Effect.gen(function* () {
        const range: Stats.Range = ctx.url.searchParams.get("range") === "7d" ? "7d" : "24h"
        const mode: Mode = ctx.url.searchParams.get("mode") === "test" ? "test" : "live"
        const overview = yield* stats.overview(mode, range)
        const tenants = yield* stats.tenants
        const consoleTenant = yield* operators.consoleTenant
        const { window } = overview
        const entries: ReadonlyArray<Entry> = [
          ...tenants.filter((t) => t.id !== consoleTenant),
          ...tenants.filter((t) => t.id === consoleTenant)
        ].map((t) => ({ ...t, isConsole: t.id === consoleTenant, stats: overview.tenants.get(t.id) ?? Stats.emptyStats(window) }))
        const active = entries.filter((e) => Stats.hasActivity(e.stats))
        const quiet = entries.filter((e) => !Stats.hasActivity(e.stats))
        const link = (params: { readonly range: Stats.Range; readonly mode: Mode }) =>
          `/console${query({ range: params.range === "24h" ? undefined : params.range, mode: params.mode === "live" ? undefined : params.mode })}`
        const rangeText = RANGES.find(([r]) => r === range)?.[1] ?? ""
        const body = html`<h1>Overview</h1>
<div class="switches">
  <nav aria-label="Time range"><ul class="segmented">${RANGES.map(([r, label]) =>
    html`<li><a href="${link({ range: r, mode })}" ${r === range ? html`aria-current="page"` : null}>${label}</a></li>`)}</ul></nav>
  <nav aria-label="Mode"><ul class="segmented">${MODES.map(([m, label]) =>
    html`<li><a href="${link({ range, mode: m })}" ${m === mode ? html`aria-current="page"` : null}>${label}</a></li>`)}</ul></nav>
</div>
<p class="muted">${mode === "live" ? "Live" : "Test"} mode, ${rangeText.toLowerCase()}: from ${when(window.since)} to ${when(window.until)},
in ${range === "24h" ? "whole hours" : "whole days"} (UTC). The queue counts every message not yet sent, whatever its age.</p>

<h2>All tenants</h2>
<div class="table-wrap" tabindex="0"><table>
  <caption>${rangeText}, ${mode} mode, by tenant</caption>
  <thead><tr>
    <th scope="col">Tenant</th><th scope="col">Email sends</th><th scope="col">SMS sends</th><th scope="col">Verified</th>
    <th scope="col">Success rate</th><th scope="col">Failures</th><th scope="col">Risk blocks</th>
    <th scope="col">Delivery failures</th><th scope="col">Queue</th>
  </tr></thead>
  <tbody>${entries.map((e) => summaryRow(
    Stats.hasActivity(e.stats) ? html`<a href="#t-${e.id}">${e.name}</a>${e.isConsole ? " (console sign-in)" : ""}` : html`${e.name}${e.isConsole ? " (console sign-in)" : ""}`,
    e.stats))}</tbody>
  <tfoot>${summaryRow(html`All tenants`, total(window, entries))}</tfoot>
</table></div>
<p class="muted">Success rate: the share of the requests created in the window that were verified.</p>

<h2>By tenant</h2>
${active.length === 0 ? html`<p>Nothing happened in ${mode} mode in this window.</p>` : active.map((e) => tenantSection(e, window, mode, window.until.getTime()))}
${quiet.length === 0 ? null : html`<p class="muted">No activity: ${quiet.map((e, i) => html`${i === 0 ? "" : ", "}${e.name}${e.isConsole ? " (console sign-in)" : ""}`)}.</p>`}`
        return yield* kit.render(ctx, { title: "Overview", section: "overview", body, styles: ["overview.css"] })
      }))
  })
