/**
 * Webhooks (#14): a tenant's endpoints, registering one (its signing secret shown once), one
 * endpoint's settings, its delivery log with every attempt, retrying a delivery, rotating the secret
 * and sending a test event. Every change goes through the Webhooks service the API's handlers call
 * (WebhookHandlers.ts), with the same request schemas, and is audited with the operator as the actor;
 * a URL is recorded by its host only (a receiver may carry a token in its path or query).
 */
import { Effect, Option, Result, Schema, SchemaIssue } from "effect"
import { ValidationFailed } from "../../api/Errors.ts"
import {
  CreateWebhook, DeliveryStatus, EventType, UpdateWebhook, type WebhookDelivery, WebhookDeliveryId, type WebhookEndpoint,
  WebhookEndpointId
} from "../../api/Webhooks.ts"
import { TEST_EVENT } from "../../webhooks/Events.ts"
import { Webhooks } from "../../webhooks/Webhooks.ts"
import { html, raw, when } from "../Html.ts"
import { type ConsoleContext, csrfField, type Kit, modeField, PageNotFound, tenantPath, type TenantScope } from "../Kit.ts"
import { mayAct } from "../Operators.ts"

type Field = "url" | "events" | "description"
type Errors = Partial<Record<Field, string>>

/** What the operator typed, kept when the form comes back with an error. */
interface Draft {
  readonly url: string
  readonly description: string
  readonly events: ReadonlyArray<string>
  readonly auth1Signature: boolean
  readonly enabled: boolean
}

const draftOf = (form: URLSearchParams): Draft => ({
  url: (form.get("url") ?? "").trim(),
  description: (form.get("description") ?? "").trim(),
  events: form.getAll("events"),
  auth1Signature: form.has("auth1Signature"),
  enabled: form.has("enabled")
})

const draftFrom = (endpoint: WebhookEndpoint): Draft => ({
  url: endpoint.url,
  description: endpoint.description ?? "",
  events: endpoint.events,
  auth1Signature: endpoint.auth1Signature,
  enabled: endpoint.status === "enabled"
})

const NEW_DRAFT: Draft = { url: "", description: "", events: [], auth1Signature: false, enabled: true }

const formatIssues = SchemaIssue.makeFormatterStandardSchemaV1()

/** The API's own request schemas decide what is valid; a failure names its field, as the API's 400 does. */
const invalid = (error: Schema.SchemaError) => {
  const first = formatIssues(error.issue).issues[0]
  const path = (first?.path ?? []).map((s) => String(typeof s === "object" && s !== null && "key" in s ? s.key : s))
  const field = path[0] ?? ""
  const message = field !== "events" ? first?.message ?? "is not valid"
    : path.length > 1 ? "is not a known event" : "choose at least one event"
  return new ValidationFailed({ message: `${field}: ${message}`, field })
}
const decodeCreate = (input: unknown) => Schema.decodeUnknownEffect(CreateWebhook)(input).pipe(Effect.mapError(invalid))
const decodeUpdate = (input: unknown) => Schema.decodeUnknownEffect(UpdateWebhook)(input).pipe(Effect.mapError(invalid))

/** The error beside its field: `field: message` from the service, without the repeated field name. */
const errorsOf = (error: ValidationFailed): Errors => {
  const field: Field = error.field === "events" || error.field === "description" ? error.field : "url"
  return { [field]: error.message.replace(/^[a-zA-Z]+: /u, "") }
}

const hostOf = (url: string) => (URL.canParse(url) ? new URL(url).host : "")

const describedBy = (ids: ReadonlyArray<string | null>) => {
  const present = ids.filter((id) => id !== null)
  return present.length === 0 ? null : html`aria-describedby="${present.join(" ")}"`
}

const fieldError = (id: string, message: string | undefined) =>
  message === undefined ? null : html`<p class="field-error" id="${id}-error">${message}</p>`

/** URL, description, events, Auth1 signature and enabled: the create form's fields, and the edit form's. */
const endpointFields = (draft: Draft, errors: Errors) => html`
  <label for="url">Endpoint URL</label>
  <input id="url" name="url" type="url" inputmode="url" required maxlength="2048" value="${draft.url}" autocomplete="off"
    ${errors.url === undefined ? null : raw('aria-invalid="true"')} ${describedBy(["url-hint", errors.url === undefined ? null : "url-error"])}>
  <p class="hint" id="url-hint">Sesame POSTs each event here, signed per Standard Webhooks. In production only public https addresses are accepted.</p>
  ${fieldError("url", errors.url)}
  <label for="description">Description <span class="muted">(optional)</span></label>
  <input id="description" name="description" maxlength="500" value="${draft.description}"
    ${errors.description === undefined ? null : raw('aria-invalid="true"')} ${describedBy([errors.description === undefined ? null : "description-error"])}>
  ${fieldError("description", errors.description)}
  <fieldset ${describedBy([errors.events === undefined ? null : "events-error"])}>
    <legend>Events</legend>
    ${fieldError("events", errors.events)}
    ${EventType.literals.map((type) => html`<label class="check" for="event-${type}">
      <input type="checkbox" id="event-${type}" name="events" value="${type}" ${draft.events.includes(type) ? raw("checked") : null}>
      <code>${type}</code></label>`)}
  </fieldset>
  <label class="check" for="auth1Signature">
    <input type="checkbox" id="auth1Signature" name="auth1Signature" ${draft.auth1Signature ? raw("checked") : null} aria-describedby="auth1-hint">
    Also sign with Auth1's <code>x-auth1-signature</code></label>
  <p class="hint" id="auth1-hint">For receivers written against Auth1; the Standard Webhooks signature is always sent.</p>
  <label class="check" for="enabled">
    <input type="checkbox" id="enabled" name="enabled" ${draft.enabled ? raw("checked") : null}>
    Enabled (a disabled endpoint keeps its deliveries waiting)</label>`

const statusBadge = (endpoint: WebhookEndpoint) =>
  endpoint.status === "enabled" ? html`<span class="badge ok">enabled</span>` : html`<span class="badge bad">disabled</span>`

const deliveryBadge = (delivery: WebhookDelivery) => {
  switch (delivery.status) {
    case "succeeded": return html`<span class="badge ok">succeeded</span>`
    case "failed": return html`<span class="badge bad">failed</span>`
    case "sending": return html`<span class="badge">sending</span>`
    case "pending": return delivery.attempts.length === 0 ? html`<span class="badge">pending</span>` : html`<span class="badge warn">retrying</span>`
  }
}

/** One secret, once: it is stored sealed and no page can show it again. */
const secretBlock = (secret: string, previousUntil: string | undefined) => html`
<section class="panel" aria-labelledby="secret-title">
  <h2 id="secret-title">Signing secret</h2>
  <p>Copy it now: this is the only time it is shown. Receivers verify each request's <code>webhook-signature</code> with it.</p>
  <div class="secret"><code id="secret">${secret}</code><button type="button" class="secondary" data-copy="#secret" hidden>Copy</button></div>
  ${previousUntil === undefined ? null : html`<p class="hint">The previous secret keeps signing (beside this one) until ${when(previousUntil)}; after that only this secret signs.</p>`}
</section>`

const attemptList = (delivery: WebhookDelivery) =>
  delivery.attempts.length === 0
    ? html`<span class="muted">none yet</span>`
    : html`<ol class="attempts">${delivery.attempts.map((a) => html`<li>
      <span class="mono">#${a.attempt}</span>
      <span class="${a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300 ? "code-ok" : "code-bad"}">${a.statusCode === null ? "no response" : `HTTP ${a.statusCode}`}</span>
      · ${a.latencyMs} ms · ${when(a.at)}
      ${a.error !== null && a.error !== `HTTP ${a.statusCode}` ? html`<br><span class="muted">${a.error}</span>` : null}</li>`)}</ol>`

export const webhookPages = (kit: Kit) =>
  Effect.gen(function* () {
    const webhooks = yield* Webhooks
    const LIST = "/console/t/:tenantId/webhooks"
    const ONE = "/console/t/:tenantId/webhooks/:endpointId"

    const endpointIdOf = (ctx: ConsoleContext) => {
      const id = Schema.decodeUnknownOption(WebhookEndpointId)(ctx.params["endpointId"])
      return Option.isNone(id) ? Effect.fail(new PageNotFound({ message: "No such webhook endpoint." })) : Effect.succeed(id.value)
    }
    const mayChange = (ctx: ConsoleContext) => mayAct(ctx.operator.role, "admin")
    const readOnly = (ctx: ConsoleContext) =>
      html`<p class="hint">Your role (${ctx.operator.role}) can look at webhooks; changing them needs admin.</p>`
    const hidden = (ctx: ConsoleContext, scope: TenantScope) => html`${csrfField(ctx)}${modeField(scope)}`

    const listPage = (ctx: ConsoleContext, scope: TenantScope, form: { readonly draft: Draft; readonly errors: Errors }, status = 200) =>
      Effect.gen(function* () {
        const { endpoints } = yield* webhooks.list(scope.caller)
        const failed = Object.keys(form.errors).length > 0
        return yield* kit.render(ctx, {
          title: "Webhooks", section: "webhooks", scope, status, styles: ["webhooks.css"],
          body: html`<h1>Webhooks</h1>
<p>Endpoints of this tenant's ${scope.mode} mode. Each receives the events it subscribes to, signed per
<a href="https://www.standardwebhooks.com/">Standard Webhooks</a>, retried with backoff for a day.</p>
<h2>Endpoints</h2>
${endpoints.length === 0 ? html`<p class="muted">No endpoints yet.</p>` : html`<div class="table-wrap" tabindex="0"><table>
  <caption>${endpoints.length} endpoint${endpoints.length === 1 ? "" : "s"}</caption>
  <thead><tr><th scope="col">URL</th><th scope="col">Events</th><th scope="col">Status</th><th scope="col">Created</th></tr></thead>
  <tbody>${endpoints.map((e) => html`<tr>
    <th scope="row"><a href="${tenantPath(scope, `webhooks/${e.id}`)}">${e.url}</a>${e.description === null ? null : html`<br><span class="muted">${e.description}</span>`}</th>
    <td>${e.events.map((type, i) => html`${i === 0 ? null : ", "}<code>${type}</code>`)}</td>
    <td>${statusBadge(e)}${e.disabledReason === null ? null : html`<br><span class="muted">${e.disabledReason}</span>`}</td>
    <td>${when(e.createdAt)}</td></tr>`)}</tbody></table></div>`}
<h2 id="add-title">Add an endpoint</h2>
${mayChange(ctx) ? html`<form method="post" action="${tenantPath(scope, "webhooks")}" class="panel" aria-labelledby="add-title" novalidate>
  ${hidden(ctx, scope)}
  ${failed ? html`<p class="error" role="alert">The endpoint was not added: see the field marked below.</p>` : null}
  ${endpointFields(form.draft, form.errors)}
  <div class="actions"><button type="submit">Add endpoint</button></div>
</form>` : readOnly(ctx)}`
        })
      })

    interface EndpointExtras {
      readonly secret?: { readonly value: string; readonly previousUntil?: string }
      readonly notice?: string
      readonly form?: { readonly draft: Draft; readonly errors: Errors }
      readonly status?: number
    }

    const endpointPage = (ctx: ConsoleContext, scope: TenantScope, endpoint: WebhookEndpoint, extras: EndpointExtras = {}) =>
      Effect.gen(function* () {
        const self = `webhooks/${endpoint.id}`
        const filter = Option.getOrUndefined(Schema.decodeUnknownOption(DeliveryStatus)(ctx.url.searchParams.get("status")))
        const cursor = ctx.request.method === "GET" ? ctx.url.searchParams.get("cursor") ?? undefined : undefined
        const log = yield* Effect.result(webhooks.deliveries(scope.caller, endpoint.id, {
          limit: 20, ...(filter === undefined ? {} : { status: filter }), ...(cursor === undefined ? {} : { cursor })
        }))
        if (Result.isFailure(log) && log.failure._tag !== "ValidationFailed") return yield* Effect.fail(log.failure)
        const page = Result.isSuccess(log) ? log.success : { deliveries: [], nextCursor: null }
        const admin = mayChange(ctx)
        const form = extras.form ?? { draft: draftFrom(endpoint), errors: {} }
        const deliveries = html`
<form method="get" action="${tenantPath(scope, self)}" class="inline">
  ${scope.mode === "test" ? html`<input type="hidden" name="mode" value="test">` : null}
  <div><label for="status-filter">Status</label>
  <select id="status-filter" name="status" data-autosubmit>
    <option value="">All</option>
    ${DeliveryStatus.literals.map((s) => html`<option value="${s}" ${filter === s ? raw("selected") : null}>${s}</option>`)}
  </select></div>
  <button type="submit" class="secondary">Filter</button>
</form>
${Result.isFailure(log) ? html`<p class="error" role="alert">That page of the delivery log no longer exists. <a href="${tenantPath(scope, self)}">Show the newest deliveries</a>.</p>` : null}
${page.deliveries.length === 0 ? html`<p class="muted">${filter === undefined ? "No deliveries yet." : `No ${filter} deliveries.`}</p>` : html`<div class="table-wrap" tabindex="0"><table class="deliveries">
  <caption>Deliveries, newest first${filter === undefined ? "" : ` (${filter})`}</caption>
  <thead><tr><th scope="col">Event</th><th scope="col">Status</th><th scope="col">Attempts (status, latency, time)</th><th scope="col">Created</th><th scope="col">Next attempt</th>${admin ? html`<th scope="col">Action</th>` : null}</tr></thead>
  <tbody>${page.deliveries.map((d) => html`<tr id="${d.id}">
    <th scope="row"><code>${d.eventType}</code><br><span class="mono muted">${d.eventId}</span></th>
    <td>${deliveryBadge(d)}</td>
    <td>${attemptList(d)}</td>
    <td>${when(d.createdAt)}</td>
    <td>${d.status === "pending" ? when(d.nextAttemptAt) : html`<span class="muted">—</span>`}</td>
    ${admin ? html`<td>${d.status === "sending" ? null : html`<form method="post" action="${tenantPath(scope, `${self}/deliveries/${d.id}/retry`)}">
      ${hidden(ctx, scope)}<button type="submit" class="secondary" aria-label="Retry delivery of ${d.eventType} ${d.eventId}">Retry</button></form>`}</td>` : null}
  </tr>`)}</tbody></table></div>`}
<p class="actions">
  ${cursor === undefined ? null : html`<a href="${tenantPath(scope, self, { status: filter })}">Newest deliveries</a>`}
  ${page.nextCursor === null ? null : html`<a href="${tenantPath(scope, self, { status: filter, cursor: page.nextCursor })}">Older deliveries</a>`}
</p>`
        return yield* kit.render(ctx, {
          title: `Webhook ${hostOf(endpoint.url)}`, section: "webhooks", scope, status: extras.status ?? 200, styles: ["webhooks.css"],
          body: html`<p><a href="${tenantPath(scope, "webhooks")}">All webhook endpoints</a></p>
<h1>Webhook endpoint <span class="mono endpoint-url">${endpoint.url}</span></h1>
${extras.notice === undefined ? null : html`<p class="notice" role="status">${extras.notice}</p>`}
${extras.secret === undefined ? null : secretBlock(extras.secret.value, extras.secret.previousUntil)}
<section class="panel" aria-labelledby="summary-title">
  <h2 id="summary-title">Summary</h2>
  <dl class="facts">
    <dt>Status</dt><dd>${statusBadge(endpoint)}${endpoint.disabledReason === null ? null : html` ${endpoint.disabledReason} (${when(endpoint.disabledAt)})`}</dd>
    <dt>Events</dt><dd>${endpoint.events.map((type, i) => html`${i === 0 ? null : ", "}<code>${type}</code>`)}</dd>
    <dt>Signatures</dt><dd>Standard Webhooks${endpoint.auth1Signature ? html` and Auth1 <code>x-auth1-signature</code>` : null}</dd>
    <dt>Created</dt><dd>${when(endpoint.createdAt)}</dd>
    <dt>Id</dt><dd class="mono">${endpoint.id}</dd>
  </dl>
  ${admin ? html`<div class="actions">
    <form method="post" action="${tenantPath(scope, `${self}/test`)}">${hidden(ctx, scope)}<button type="submit">Send a test event</button></form>
    <form method="post" action="${tenantPath(scope, `${self}/rotate-secret`)}" data-confirm="Rotate the signing secret? The current one keeps signing for 24 hours.">${hidden(ctx, scope)}<button type="submit" class="secondary">Rotate the signing secret</button></form>
  </div>
  <p class="hint">A test event is a <code>${TEST_EVENT}</code> event sent to this endpoint alone${endpoint.status === "enabled" ? "" : "; it waits while the endpoint is disabled"}.</p>` : readOnly(ctx)}
</section>
<h2>Deliveries</h2>
${deliveries}
${admin ? html`<h2 id="settings-title">Settings</h2>
<form method="post" action="${tenantPath(scope, self)}" class="panel" aria-labelledby="settings-title" novalidate>
  ${hidden(ctx, scope)}
  ${Object.keys(form.errors).length > 0 ? html`<p class="error" role="alert">Nothing was saved: see the field marked below.</p>` : null}
  ${endpointFields(form.draft, form.errors)}
  <div class="actions"><button type="submit">Save settings</button></div>
</form>
<h2>Delete</h2>
<form method="post" action="${tenantPath(scope, `${self}/delete`)}" data-confirm="Delete this endpoint and its delivery log? Pending deliveries are dropped.">
  ${hidden(ctx, scope)}
  <p>Deleting the endpoint drops its delivery log and any delivery still waiting.</p>
  <button type="submit" class="danger">Delete endpoint</button>
</form>` : null}`
        })
      })

    const withEndpoint = (ctx: ConsoleContext) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const id = yield* endpointIdOf(ctx)
        return { scope, endpoint: yield* webhooks.get(scope.caller, id) }
      })

    yield* kit.page(LIST, (ctx) => Effect.flatMap(kit.scope(ctx), (scope) => listPage(ctx, scope, { draft: NEW_DRAFT, errors: {} })))

    yield* kit.action(LIST, "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const draft = draftOf(ctx.form)
        const created = yield* Effect.result(decodeCreate({
          url: draft.url, events: draft.events, auth1Signature: draft.auth1Signature,
          ...(draft.description === "" ? {} : { description: draft.description })
        }).pipe(Effect.flatMap((request) => webhooks.create(scope.caller, request))))
        if (Result.isFailure(created)) {
          if (created.failure._tag !== "ValidationFailed") return yield* Effect.fail(created.failure)
          return yield* listPage(ctx, scope, { draft, errors: errorsOf(created.failure) }, 400)
        }
        const { secret } = created.success
        const endpoint = draft.enabled ? created.success.endpoint : yield* webhooks.update(scope.caller, created.success.endpoint.id, { enabled: false })
        yield* kit.audit(ctx, {
          tenantId: scope.tenant.id, mode: scope.mode, type: "webhook.created", subject: endpoint.id,
          details: { host: hostOf(endpoint.url), events: [...endpoint.events], enabled: draft.enabled }
        })
        return yield* endpointPage(ctx, scope, endpoint, { secret: { value: secret }, notice: "Endpoint added.", status: 201 })
      }))

    yield* kit.page(ONE, (ctx) => Effect.flatMap(withEndpoint(ctx), ({ scope, endpoint }) => endpointPage(ctx, scope, endpoint)))

    yield* kit.action(ONE, "admin", (ctx) =>
      Effect.gen(function* () {
        const { scope, endpoint } = yield* withEndpoint(ctx)
        const draft = draftOf(ctx.form)
        const was = draftFrom(endpoint)
        // Only what changed: re-sending `enabled: true` would also clear a failing endpoint's streak.
        const patch = {
          ...(draft.url === was.url ? {} : { url: draft.url }),
          ...(draft.description === was.description ? {} : { description: draft.description === "" ? null : draft.description }),
          ...(draft.events.length === was.events.length && draft.events.every((e) => was.events.includes(e)) ? {} : { events: draft.events }),
          ...(draft.auth1Signature === was.auth1Signature ? {} : { auth1Signature: draft.auth1Signature }),
          ...(draft.enabled === was.enabled ? {} : { enabled: draft.enabled })
        }
        const changed = Object.keys(patch)
        if (changed.length === 0) return kit.redirect(ctx, tenantPath(scope, `webhooks/${endpoint.id}`), "Nothing changed.")
        const updated = yield* Effect.result(decodeUpdate(patch).pipe(Effect.flatMap((request) => webhooks.update(scope.caller, endpoint.id, request))))
        if (Result.isFailure(updated)) {
          if (updated.failure._tag !== "ValidationFailed") return yield* Effect.fail(updated.failure)
          return yield* endpointPage(ctx, scope, endpoint, { form: { draft, errors: errorsOf(updated.failure) }, status: 400 })
        }
        yield* kit.audit(ctx, {
          tenantId: scope.tenant.id, mode: scope.mode, type: "webhook.updated", subject: endpoint.id,
          details: { changed, host: hostOf(updated.success.url), status: updated.success.status }
        })
        return kit.redirect(ctx, tenantPath(scope, `webhooks/${endpoint.id}`), "Endpoint settings saved.")
      }))

    yield* kit.action(`${ONE}/delete`, "admin", (ctx) =>
      Effect.gen(function* () {
        const { scope, endpoint } = yield* withEndpoint(ctx)
        yield* webhooks.remove(scope.caller, endpoint.id)
        yield* kit.audit(ctx, {
          tenantId: scope.tenant.id, mode: scope.mode, type: "webhook.deleted", subject: endpoint.id, details: { host: hostOf(endpoint.url) }
        })
        return kit.redirect(ctx, tenantPath(scope, "webhooks"), `Endpoint ${hostOf(endpoint.url)} deleted.`)
      }))

    yield* kit.action(`${ONE}/rotate-secret`, "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const rotated = yield* webhooks.rotateSecret(scope.caller, yield* endpointIdOf(ctx))
        yield* kit.audit(ctx, {
          tenantId: scope.tenant.id, mode: scope.mode, type: "webhook.secret_rotated", subject: rotated.endpoint.id,
          details: { previousSecretExpiresAt: rotated.previousSecretExpiresAt }
        })
        return yield* endpointPage(ctx, scope, rotated.endpoint, {
          secret: { value: rotated.secret, previousUntil: rotated.previousSecretExpiresAt }, notice: "Signing secret rotated."
        })
      }))

    yield* kit.action(`${ONE}/test`, "admin", (ctx) =>
      Effect.gen(function* () {
        const { scope, endpoint } = yield* withEndpoint(ctx)
        const queued = yield* webhooks.sendTest(scope.caller, endpoint.id)
        yield* kit.audit(ctx, {
          tenantId: scope.tenant.id, mode: scope.mode, type: "webhook.test_sent", subject: endpoint.id,
          details: { eventId: queued.eventId, deliveryId: queued.deliveryId }
        })
        return kit.redirect(ctx, tenantPath(scope, `webhooks/${endpoint.id}`), endpoint.status === "enabled"
          ? `Test event ${queued.eventId} queued: reload to see its delivery.`
          : `Test event ${queued.eventId} queued; it waits until the endpoint is enabled.`)
      }))

    yield* kit.action(`${ONE}/deliveries/:deliveryId/retry`, "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const id = Schema.decodeUnknownOption(WebhookDeliveryId)(ctx.params["deliveryId"])
        if (Option.isNone(id)) return yield* new PageNotFound({ message: "No such delivery." })
        const delivery = yield* webhooks.retry(scope.caller, id.value)
        yield* kit.audit(ctx, {
          tenantId: scope.tenant.id, mode: scope.mode, type: "webhook.delivery_retried", subject: delivery.id,
          details: { endpointId: delivery.endpointId, eventId: delivery.eventId, eventType: delivery.eventType }
        })
        return kit.redirect(ctx, tenantPath(scope, `webhooks/${delivery.endpointId}`),
          delivery.status === "pending" ? `Delivery of ${delivery.eventId} queued again: reload to see the new attempt.` : `Delivery of ${delivery.eventId} is being sent right now; it was not queued again.`)
      }))
  })

