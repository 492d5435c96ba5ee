/**
 * Operators (`/console/operators`, #14): who may sign in, with which role, and their console sessions.
 * Operators are added and removed with `sesame operator add|remove`; here an owner ends a session
 * (a lost laptop, a departing colleague before `operator remove`).
 */
import { Clock, Effect } from "effect"
import { html, when } from "../Html.ts"
import { csrfField, type Kit } from "../Kit.ts"
import { Operators } from "../Operators.ts"

export const operatorPages = (kit: Kit) =>
  Effect.gen(function* () {
    const operators = yield* Operators

    yield* kit.page("/console/operators", (ctx) =>
      Effect.gen(function* () {
        const all = yield* operators.list
        const sessions = yield* Effect.forEach(all, (operator) => operators.sessionsOf(operator.id))
        const now = yield* Clock.currentTimeMillis
        const live = (s: (typeof sessions)[number][number]) => s.revokedAt === null && s.expiresAt.getTime() > now &&
          s.lastSeenAt.getTime() > now - kit.settings.idleMs
        const mayEnd = ctx.operator.role === "owner"
        return yield* kit.render(ctx, {
          title: "Operators",
          section: "operators",
          body: html`<h1>Operators</h1>
<p>Operators sign in here with a code emailed by Sesame itself. Add, re-role or remove them with
<code>sesame operator add --email … --role owner|admin|viewer</code> and <code>sesame operator remove --email …</code>.
Sessions end after ${Math.round(kit.settings.idleMs / 60_000)} idle minutes, and ${Math.round(kit.settings.absoluteMs / 3_600_000)} hours after sign-in at the latest.</p>
<div class="table-wrap" tabindex="0"><table>
<caption>Operators and their active console sessions</caption>
<thead><tr><th scope="col">Email</th><th scope="col">Role</th><th scope="col">Added</th><th scope="col">Active sessions</th></tr></thead>
<tbody>
${all.map((operator, i) => {
            const active = (sessions[i] ?? []).filter(live)
            return html`<tr>
  <th scope="row">${operator.email}${operator.id === ctx.operator.id ? html` <span class="badge">you</span>` : null}</th>
  <td><span class="badge">${operator.role}</span></td>
  <td>${when(operator.createdAt)}</td>
  <td>${active.length === 0 ? html`<span class="muted">none</span>` : html`<ul class="plain">${active.map((s) => html`<li>
    since ${when(s.createdAt)}, last seen ${when(s.lastSeenAt)}${s.ip === null ? null : html`, from <code>${s.ip}</code>`}
    ${s.id === ctx.session.id ? html` <span class="badge ok">this session</span>` : null}
    ${mayEnd && s.id !== ctx.session.id ? html`<form method="post" action="/console/operators/sessions/${s.id}/revoke" class="inline-form">
      ${csrfField(ctx)}<button type="submit" class="secondary">End session<span class="visually-hidden"> of ${operator.email} since ${s.createdAt.toISOString()}</span></button></form>` : null}
  </li>`)}</ul>`}</td>
</tr>`
          })}
</tbody></table></div>`
        })
      }))

    yield* kit.action("/console/operators/sessions/:sessionId/revoke", "owner", (ctx) =>
      Effect.gen(function* () {
        const id = ctx.params["sessionId"] ?? ""
        const ended = yield* operators.revokeSession(id)
        const tenantId = yield* operators.consoleTenant
        if (ended && tenantId !== undefined) {
          yield* kit.audit(ctx, { tenantId, mode: null, type: "console.session_revoked", subject: id, details: {} })
        }
        return kit.redirect(ctx, "/console/operators", ended ? "Session ended." : "That session had already ended.")
      }))
  })
