/**
 * API keys (#14): `/console/t/:tenantId/keys` lists the keys of the page's mode; admins create, rotate
 * and revoke them through the API's own KeyAdmin (its validation, its escalation rule, its
 * `key.created`/`key.revoked` audit, with the operator as the actor). A new key's secret is shown in
 * the POST's response only: Sesame keeps nothing but its hash.
 */
import { Clock, Effect, Option, Result, Schema } from "effect"
import { NotFound, type ScopeMissing, ValidationFailed } from "../../api/Errors.ts"
import { type ApiKeyView, CreateKeyRequest } from "../../api/Keys.ts"
import { AllScopes, ApiKeyId } from "../../domain/Ids.ts"
import { validationFailedOf } from "../../http/Middleware.ts"
import { KeyAdmin } from "../../keys/KeyAdmin.ts"
import { html, type Html, raw } from "../Html.ts"
import { type ConsoleContext, csrfField, type Kit, modeField, PageNotFound, tenantPath, type TenantScope } from "../Kit.ts"
import { mayAct } from "../Operators.ts"

/** What the operator typed into the create form (kept when the form comes back with an error). */
interface Values {
  readonly name: string
  readonly scopes: ReadonlyArray<string>
  readonly ipAllowlist: string
  readonly expiresAt: string
}

type Field = "name" | "scopes" | "ipAllowlist" | "expiresAt"

/** A refused create: the API's message, beside the field it names (or above the form). */
interface Problem {
  readonly field: Field | null
  readonly message: string
}

interface Created {
  readonly key: ApiKeyView
  readonly secret: string
  readonly note?: Html
}

interface View {
  readonly status?: number
  readonly created?: Created
  readonly values?: Values
  readonly problem?: Problem
  /** A refused rotate or revoke, above the list. */
  readonly alert?: string
}

const EMPTY: Values = { name: "", scopes: AllScopes, ipAllowlist: "", expiresAt: "" }
const ROTATED = " (rotated)"

const valuesOf = (form: URLSearchParams): Values => ({
  name: form.get("name") ?? "",
  scopes: form.getAll("scopes"),
  ipAllowlist: form.get("ipAllowlist") ?? "",
  expiresAt: form.get("expiresAt") ?? ""
})

const linesOf = (text: string) => text.split(/\r?\n/u).map((line) => line.trim()).filter((line) => line !== "")

/** A `datetime-local` (or date) value, read as UTC like every time in the console, in Unix seconds. */
const unixSeconds = (value: string): number | undefined => {
  const text = /^\d{4}-\d{2}-\d{2}$/u.test(value) ? `${value}T00:00` : value
  const ms = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?$/u.test(text) ? Date.parse(`${text}Z`) : Number.NaN
  return Number.isNaN(ms) ? undefined : Math.floor(ms / 1000)
}

/** The form as the API's create request, decoded with the API's own schema (its messages, its fields). */
const requestOf = (values: Values, scope: TenantScope) => {
  const expiry = values.expiresAt.trim()
  const expiresAt = expiry === "" ? undefined : unixSeconds(expiry)
  if (expiry !== "" && expiresAt === undefined) {
    return Effect.fail(new ValidationFailed({ message: "expiresAt: not a date and time (YYYY-MM-DDTHH:MM, UTC)", field: "expiresAt" }))
  }
  const ipAllowlist = linesOf(values.ipAllowlist)
  return Schema.decodeUnknownEffect(CreateKeyRequest)({
    name: values.name.trim(),
    scopes: values.scopes,
    mode: scope.mode,
    ...(ipAllowlist.length === 0 ? {} : { ipAllowlist }),
    ...(expiresAt === undefined ? {} : { expiresAt })
  }).pipe(Effect.mapError((error) => validationFailedOf(error.issue)))
}

const problemOf = (error: ValidationFailed | ScopeMissing, values: Values): Problem => {
  const top = error._tag === "ValidationFailed" ? error.field?.split(".")[0] : undefined
  const field = top === "name" || top === "scopes" || top === "ipAllowlist" || top === "expiresAt" ? top : null
  // `ipAllowlist.2` counts the non-empty lines: say which entry that is.
  const index = error._tag === "ValidationFailed" ? /^ipAllowlist\.(\d+)$/u.exec(error.field ?? "")?.[1] : undefined
  const entry = index === undefined ? undefined : linesOf(values.ipAllowlist)[Number(index)]
  return { field, message: entry === undefined ? error.message : `${error.message} (“${entry}”)` }
}

/** "name (rotated)", once however often it is rotated, within the API's 100 characters. */
const rotatedName = (name: string) => {
  const base = name.endsWith(ROTATED) ? name.slice(0, -ROTATED.length) : name
  return `${base.slice(0, 100 - ROTATED.length)}${ROTATED}`
}

const statusOf = (key: ApiKeyView, nowMs: number) =>
  key.revokedAt !== null
    ? html`<span class="badge bad">revoked</span> ${stamp(key.revokedAt)}`
    : key.expiresAt !== null && key.expiresAt * 1000 <= nowMs
    ? html`<span class="badge warn">expired</span>`
    : html`<span class="badge ok">active</span>`

/** As `when`, with the date and the time each kept on one line in a narrow column. */
const stamp = (date: Date | string) => {
  const iso = new Date(date).toISOString()
  return html`<time datetime="${iso}"><span>${iso.slice(0, 10)}</span> <span>${iso.slice(11, 16)} UTC</span></time>`
}

const ids = (field: Field) => ({ input: `key-${field}`, error: `key-${field}-error`, hint: `key-${field}-hint` })

/** `aria-invalid` and `aria-describedby` (hint, then error) for a field. */
const described = (field: Field, problem: Problem | undefined, hint: boolean) => {
  const bad = problem?.field === field
  const by = [hint ? ids(field).hint : null, bad ? ids(field).error : null].filter((id) => id !== null).join(" ")
  return html`${bad ? raw(`aria-invalid="true"`) : null} ${by === "" ? null : html`aria-describedby="${by}"`}`
}

const fieldError = (field: Field, problem: Problem | undefined) =>
  problem?.field === field ? html`<p class="field-error" id="${ids(field).error}">${problem.message}</p>` : null

export const keyPages = (kit: Kit) =>
  Effect.gen(function* () {
    const admin = yield* KeyAdmin
    const listPath = "/console/t/:tenantId/keys"

    const keyIdOf = (ctx: ConsoleContext) =>
      Option.match(Schema.decodeUnknownOption(ApiKeyId)(ctx.params["keyId"]), {
        onNone: () => Effect.fail(new PageNotFound({ message: "No such key." })),
        onSome: Effect.succeed
      })

    const createdPanel = (created: Created) => html`<section class="panel created" aria-labelledby="created-title">
  <h2 id="created-title">New key “${created.key.name}”</h2>
  ${created.note ?? null}
  <p class="once" role="alert"><strong>Copy the secret now: it is shown only once.</strong> Sesame keeps only its hash; if it is lost, rotate the key.</p>
  <div class="secret"><code id="secret">${created.secret}</code><button type="button" class="secondary" data-copy="#secret" hidden>Copy</button></div>
  <p class="hint">Key <code>${created.key.id}</code>, ${created.key.mode} mode, ${created.key.scopes.length} scope${created.key.scopes.length === 1 ? "" : "s"}.</p>
</section>`

    const actions = (ctx: ConsoleContext, scope: TenantScope, key: ApiKeyView, nowMs: number) => {
      if (key.revokedAt !== null) return null
      const active = key.expiresAt === null || key.expiresAt * 1000 > nowMs
      return html`<div class="actions">
  ${active
        ? html`<form method="post" action="${tenantPath(scope, `keys/${key.id}/rotate`)}" data-confirm="Rotate the key “${key.name}”? A new key with the same scopes, IP allowlist and expiry is created.">
    ${csrfField(ctx)}${modeField(scope)}
    <label class="check" for="revoke-old-${key.id}"><input type="checkbox" id="revoke-old-${key.id}" name="revokeOld" value="on" checked> Revoke the old key now</label>
    <button type="submit" class="secondary" aria-label="Rotate ${key.name}">Rotate</button>
  </form>`
        : null}
  <form method="post" action="${tenantPath(scope, `keys/${key.id}/revoke`)}" data-confirm="Revoke the key “${key.name}”? Requests with its secret are refused within a second.">
    ${csrfField(ctx)}${modeField(scope)}
    <button type="submit" class="danger" aria-label="Revoke ${key.name}">Revoke</button>
  </form>
</div>`
    }

    const table = (ctx: ConsoleContext, scope: TenantScope, keys: ReadonlyArray<ApiKeyView>, nowMs: number, canAct: boolean) =>
      keys.length === 0
        ? html`<p class="muted">This tenant has no ${scope.mode} keys.</p>`
        : html`<div class="table-wrap" tabindex="0" role="region" aria-labelledby="list-title"><table class="keys">
  <caption>${keys.length} ${scope.mode} key${keys.length === 1 ? "" : "s"}, newest first</caption>
  <thead><tr>
    <th scope="col">Key</th><th scope="col">Scopes</th>
    <th scope="col">IP allowlist</th><th scope="col">Expires</th><th scope="col">Created</th><th scope="col">Last used</th>
    <th scope="col">Status</th>${canAct ? html`<th scope="col">Actions</th>` : null}
  </tr></thead>
  <tbody>${keys.map((key) => html`<tr id="${key.id}">
    <th scope="row">${key.name}<span class="key-meta"><code>${key.id}</code><span>${key.mode} · <code>${key.prefix}…</code></span></span></th>
    <td>${AllScopes.every((s) => key.scopes.includes(s))
          ? html`all ${AllScopes.length} scopes`
          : html`<ul class="plain">${key.scopes.map((s) => html`<li><code>${s}</code></li>`)}</ul>`}</td>
    <td>${key.ipAllowlist.length === 0 ? html`<span class="muted">anywhere</span>` : html`<ul class="plain">${key.ipAllowlist.map((c) => html`<li><code>${c}</code></li>`)}</ul>`}</td>
    <td>${key.expiresAt === null ? html`<span class="muted">never</span>` : stamp(new Date(key.expiresAt * 1000))}</td>
    <td>${stamp(key.createdAt)}</td>
    <td>${key.lastUsedAt === null ? html`<span class="muted">never</span>` : stamp(key.lastUsedAt)}</td>
    <td>${statusOf(key, nowMs)}</td>
    ${canAct ? html`<td>${actions(ctx, scope, key, nowMs)}</td>` : null}
  </tr>`)}</tbody>
</table></div>`

    const createForm = (ctx: ConsoleContext, scope: TenantScope, values: Values, problem: Problem | undefined) => html`<section aria-labelledby="create-title">
  <h2 id="create-title">Create a ${scope.mode} key</h2>
  ${problem !== undefined && problem.field === null ? html`<p class="error" role="alert">${problem.message}</p>` : null}
  <form method="post" action="${tenantPath(scope, "keys")}">
    ${csrfField(ctx)}${modeField(scope)}
    <label for="${ids("name").input}">Name</label>
    <input id="${ids("name").input}" name="name" maxlength="100" required value="${values.name}" ${described("name", problem, false)}>
    ${fieldError("name", problem)}
    <fieldset ${problem?.field === "scopes" ? raw(`aria-describedby="${ids("scopes").error}"`) : null}>
      <legend>Scopes</legend>
      ${fieldError("scopes", problem)}
      <div class="scope-grid">${AllScopes.map((s) => html`<label class="check" for="scope-${s.replace(":", "-")}">
        <input type="checkbox" id="scope-${s.replace(":", "-")}" name="scopes" value="${s}" ${values.scopes.includes(s) ? raw("checked") : null} ${problem?.field === "scopes" ? raw(`aria-invalid="true"`) : null}>
        <code>${s}</code></label>`)}</div>
    </fieldset>
    <label for="${ids("ipAllowlist").input}">IP allowlist</label>
    <textarea id="${ids("ipAllowlist").input}" name="ipAllowlist" rows="4" spellcheck="false" ${described("ipAllowlist", problem, true)}>${values.ipAllowlist}</textarea>
    <p class="hint" id="${ids("ipAllowlist").hint}">One IPv4 or IPv6 address or CIDR per line, e.g. <code>203.0.113.0/24</code>. Empty: the key works from anywhere.</p>
    ${fieldError("ipAllowlist", problem)}
    <label for="${ids("expiresAt").input}">Expires (UTC, optional)</label>
    <input type="datetime-local" id="${ids("expiresAt").input}" name="expiresAt" value="${values.expiresAt}" ${described("expiresAt", problem, true)}>
    <p class="hint" id="${ids("expiresAt").hint}">Empty: the key never expires.</p>
    ${fieldError("expiresAt", problem)}
    <button type="submit">Create key</button>
  </form>
</section>`

    const keysPage = (ctx: ConsoleContext, scope: TenantScope, view: View = {}) =>
      Effect.gen(function* () {
        const { keys } = yield* admin.list(scope.caller)
        const nowMs = yield* Clock.currentTimeMillis
        const canAct = mayAct(ctx.operator.role, "admin")
        return yield* kit.render(ctx, {
          title: "API keys",
          section: "keys",
          scope,
          status: view.status ?? 200,
          styles: ["keys.css"],
          body: html`<h1>API keys</h1>
<p>The <strong>${scope.mode}</strong> keys of <strong>${scope.tenant.name}</strong>. A key belongs to one mode: switch the mode above to see the other mode's keys.</p>
${view.alert === undefined ? null : html`<p class="error" role="alert">${view.alert}</p>`}
${view.problem === undefined ? null : html`<p class="error" role="alert">The key was not created: ${view.problem.message}</p>`}
${view.created === undefined ? null : createdPanel(view.created)}
<section aria-labelledby="list-title">
  <h2 id="list-title">Keys</h2>
  ${table(ctx, scope, keys, nowMs, canAct)}
  ${canAct
            ? html`<p class="hint"><strong>Rotating</strong> creates a new key named “… (rotated)” with the same scopes, IP allowlist and expiry, and shows its secret once. With “Revoke the old key now” checked (the default) the old key is revoked at once, and requests with its secret are refused within a second; uncheck it to keep the old key working while you deploy the new secret, then revoke it here.</p>`
            : html`<p class="muted">Your role (${ctx.operator.role}) can see keys; creating, rotating and revoking them needs admin.</p>`}
</section>
${canAct ? createForm(ctx, scope, view.values ?? EMPTY, view.problem) : null}`
        })
      })

    /** Creates through KeyAdmin (which audits `key.created`): the new key and its secret, or why not. */
    const create = (ctx: ConsoleContext, scope: TenantScope, values: Values) =>
      requestOf(values, scope).pipe(
        Effect.flatMap((request) => kit.asOperator(ctx, admin.create(scope.caller, request))),
        Effect.result
      )

    yield* kit.page(listPath, (ctx) => Effect.flatMap(kit.scope(ctx), (scope) => keysPage(ctx, scope)))

    yield* kit.action(listPath, "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const values = valuesOf(ctx.form)
        const result = yield* create(ctx, scope, values)
        if (Result.isFailure(result)) {
          const error = result.failure
          if (error._tag === "ServiceUnavailable") return yield* error
          return yield* keysPage(ctx, scope, { status: error._tag === "ScopeMissing" ? 403 : 400, values, problem: problemOf(error, values) })
        }
        return yield* keysPage(ctx, scope, { status: 201, created: result.success })
      }))

    yield* kit.action(`${listPath}/:keyId/revoke`, "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const id = yield* keyIdOf(ctx)
        const key = (yield* admin.list(scope.caller)).keys.find((k) => k.id === id)
        if (key === undefined) return yield* new NotFound({})
        if (key.revokedAt !== null) return kit.redirect(ctx, tenantPath(scope, "keys"), `The key “${key.name}” was already revoked.`)
        const revoked = yield* Effect.result(kit.asOperator(ctx, admin.revoke(scope.caller, id)))
        if (Result.isFailure(revoked)) {
          if (revoked.failure._tag !== "ScopeMissing") return yield* revoked.failure
          return yield* keysPage(ctx, scope, { status: 403, alert: revoked.failure.message })
        }
        return kit.redirect(ctx, tenantPath(scope, "keys"), `The key “${key.name}” was revoked: requests with its secret are refused within a second.`)
      }))

    // A new key with the old one's bounds, through the same create (and its checks) as a typed-in key;
    // then, unless the operator keeps it for a deployment's overlap, the old key revoked.
    yield* kit.action(`${listPath}/:keyId/rotate`, "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const id = yield* keyIdOf(ctx)
        const old = (yield* admin.list(scope.caller)).keys.find((k) => k.id === id)
        if (old === undefined) return yield* new NotFound({})
        if (old.revokedAt !== null) {
          return yield* keysPage(ctx, scope, { status: 409, alert: `The key “${old.name}” is revoked: create a new key instead.` })
        }
        const values: Values = {
          name: rotatedName(old.name),
          scopes: old.scopes,
          ipAllowlist: old.ipAllowlist.join("\n"),
          expiresAt: old.expiresAt === null ? "" : new Date(old.expiresAt * 1000).toISOString().slice(0, 19)
        }
        const result = yield* create(ctx, scope, values)
        if (Result.isFailure(result)) {
          const error = result.failure
          if (error._tag === "ServiceUnavailable") return yield* error
          return yield* keysPage(ctx, scope, { status: error._tag === "ScopeMissing" ? 403 : 400, alert: `The key “${old.name}” was not rotated: ${error.message}` })
        }
        if (ctx.form.get("revokeOld") !== "on") {
          return yield* keysPage(ctx, scope, {
            status: 201,
            created: { ...result.success, note: html`<p class="notice" role="status">The old key “${old.name}” stays active: revoke it below once the new secret is deployed.</p>` }
          })
        }
        // The new key exists now: its secret must reach the operator even if revoking the old one fails.
        const revoked = yield* Effect.result(kit.asOperator(ctx, admin.revoke(scope.caller, old.id)))
        const note = Result.isSuccess(revoked)
          ? html`<p class="notice" role="status">The old key “${old.name}” was revoked: requests with its secret are refused within a second.</p>`
          : html`<p class="error" role="alert">The old key “${old.name}” could not be revoked (${revoked.failure.message}): revoke it below.</p>`
        return yield* keysPage(ctx, scope, { status: 201, created: { ...result.success, note } })
      }))
  })
