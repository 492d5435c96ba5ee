/**
 * The test outbox (#14): `/console/t/:tenantId/outbox`, what the tenant's test keys would have sent
 * (the same `TestOutbox.list` as `GET /v1/test/messages`), always of the tenant's test mode. An email's
 * HTML is previewed in a sandboxed frame served by `/console/t/:tenantId/outbox/:messageId`: no script,
 * no form, nothing from anywhere but inline styles and https/data images (`previewHeaders`).
 */
import { Effect, Option, Schema } from "effect"
import type { TestMessage } from "../../api/TestOutbox.ts"
import { normalizeEmail } from "../../domain/Email.ts"
import { MessageId } from "../../domain/Ids.ts"
import { TestOutbox } from "../../passwordless/TestOutbox.ts"
import { html, type Html, when } from "../Html.ts"
import { type ConsoleContext, htmlResponse, type Kit, PageNotFound, previewHeaders, tenantPath, type TenantScope } from "../Kit.ts"
import { mayAct, Operators } from "../Operators.ts"

const LIMIT = 20
const PREVIEW_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src https: data:"

const heading = (message: TestMessage): string =>
  message.channel === "email" ? message.subject ?? `Email to ${message.to}` : `SMS to ${message.to}`

const card = (scope: TenantScope, message: TestMessage, index: number): Html => html`<article class="panel message" aria-labelledby="message-${index}">
  <h2 id="message-${index}">${heading(message)}</h2>
  <dl>
    <dt>Channel</dt><dd>${message.channel === "email" ? "Email" : "SMS"}</dd>
    <dt>To</dt><dd>${message.to}</dd>
    <dt>Created</dt><dd>${when(message.createdAt)}</dd>
    ${message.subject === null ? null : html`<dt>Subject</dt><dd>${message.subject}</dd>`}
    ${message.authRequestId === null ? null : html`<dt>Auth request</dt><dd><code>${message.authRequestId}</code></dd>`}
  </dl>
  <h3>Text</h3>
  ${message.text === "" ? html`<p class="muted">No text: the message could not be rendered (its auth request may have been removed).</p>` : html`<pre>${message.text}</pre>`}
  ${message.html === null ? null : html`<h3>HTML</h3>
  <iframe class="preview" src="/console/t/${scope.tenant.id}/outbox/${message.id}" title="HTML preview of the email to ${message.to}: ${heading(message)}" loading="lazy" sandbox=""></iframe>`}
</article>`

export const outboxPages = (kit: Kit) =>
  Effect.gen(function* () {
    const outbox = yield* TestOutbox
    const operators = yield* Operators

    /**
     * The console tenant's test outbox may hold operators' sign-in codes (CONSOLE_SIGNIN_MODE=test, never
     * in production): only an owner reads it, or a viewer could sign in as an owner.
     */
    const withheld = (ctx: ConsoleContext, scope: TenantScope) =>
      Effect.map(operators.consoleTenant, (id) => id === scope.tenant.id && !mayAct(ctx.operator.role, "owner"))

    yield* kit.page("/console/t/:tenantId/outbox", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const typed = (ctx.url.searchParams.get("to") ?? "").trim().slice(0, 320)
        const to = typed === "" ? undefined : normalizeEmail(typed) ?? typed
        const hidden = yield* withheld(ctx, scope)
        const messages = hidden ? [] : yield* outbox.list(scope.tenant.id, to, LIMIT)
        const body = html`<h1>Test outbox</h1>
<p>What this tenant's test keys (<code>sk_test_…</code>) would have sent: nothing here was delivered. The outbox belongs to the tenant's <strong>test mode</strong>, whichever mode the console shows; the newest ${LIMIT} messages, as <code>GET /v1/test/messages</code> lists them.</p>
<form method="get" action="/console/t/${scope.tenant.id}/outbox" class="filters" role="search" aria-label="Filter the test outbox">
  ${scope.mode === "test" ? html`<input type="hidden" name="mode" value="test">` : null}
  <div class="filter-field">
    <label for="outbox-to">Recipient</label>
    <input id="outbox-to" name="to" type="text" value="${typed}" maxlength="320" autocomplete="off" spellcheck="false" aria-describedby="outbox-to-hint">
    <p class="hint" id="outbox-to-hint">An email address or a phone number (+15551234567)</p>
  </div>
  <div class="filter-actions">
    <button type="submit">Filter</button>
    <a href="${tenantPath(scope, "outbox")}">Show all</a>
  </div>
</form>
${hidden
  ? html`<p class="error" role="alert">This is the console's own tenant: its test outbox can hold operators' sign-in codes, so only an owner may read it.</p>`
  : messages.length === 0
  ? html`<p class="panel">${to === undefined ? "No test messages yet: a send with a test key puts its message here." : `No test message to ${to}.`}</p>`
  : messages.map((message, index) => card(scope, message, index))}`
        return yield* kit.render(ctx, { title: "Test outbox", section: "outbox", scope, body, styles: ["audit.css"] })
      }))

    yield* kit.page("/console/t/:tenantId/outbox/:messageId", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const notFound = new PageNotFound({ message: "No such test message." })
        const id = Schema.decodeUnknownOption(MessageId)(ctx.params["messageId"])
        if (Option.isNone(id) || (yield* withheld(ctx, scope))) return yield* notFound
        const message = yield* outbox.get(scope.tenant.id, id.value)
        if (message === undefined || message.html === null) return yield* notFound
        return htmlResponse(message.html, 200, previewHeaders(PREVIEW_CSP))
      }))
  })
