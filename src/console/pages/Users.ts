/**
 * Users (#14): find a user of the page's tenant and mode, see their sessions, sign-ins and auth
 * requests, revoke sessions, export (GDPR Art. 15/20) and erase (Art. 17) — through the same services
 * as `/v1/users` and `/v1/users/{id}/sessions`. The lists no service offers are read-only SQL.
 */
import { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Option, Schema } from "effect"
import { HttpServerResponse } from "effect/http"
import { SqlSchema } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import type { User } from "../../api/Shapes.ts"
import { UserExport } from "../../api/Users.ts"
import { AuthRequestId, AuthType, Channel, SessionId, UserId } from "../../domain/Ids.ts"
import { unavailable } from "../../platform/Sql.ts"
import { SessionAdmin } from "../../sessions/SessionAdmin.ts"
import { SESSION_COLUMNS, SessionRow } from "../../sessions/SessionStore.ts"
import { toWireUser, USER_COLUMNS, UserRow } from "../../sessions/UserStore.ts"
import { Users } from "../../users/Users.ts"
import { html, type Html, when } from "../Html.ts"
import {
  type ConsoleContext, consoleHeaders, csrfField, type Kit, modeField, PageNotFound, type TenantScope, tenantPath
} from "../Kit.ts"
import { mayAct } from "../Operators.ts"

const RECENT = 25
const PER_USER = 20

const RequestRow = Schema.Struct({
  id: AuthRequestId,
  channel: Channel,
  type: AuthType,
  identifier: Schema.String,
  createdAt: Schema.Date,
  expiresAt: Schema.Date,
  verifiedAt: Schema.NullOr(Schema.Date),
  attempts: Schema.Number,
  maxAttempts: Schema.Number
})
type RequestRow = typeof RequestRow.Type

const SignInRow = Schema.Struct({
  type: Schema.Literals(["login.success", "login.failed"]),
  subject: Schema.NullOr(Schema.String),
  ip: Schema.NullOr(Schema.String),
  details: Schema.Record(Schema.String, Schema.Json),
  createdAt: Schema.Date
})
type SignInRow = typeof SignInRow.Type

const Scoped = { tenantId: Schema.String, mode: Schema.String }

/** Rows we wrote ourselves that fail to decode are a defect; a database failure is the 503 page. */
const safe = <I, A>(query: (input: I) => Effect.Effect<A, Schema.SchemaError | SqlError>) => (input: I) =>
  unavailable(Effect.catchTag(query(input), "SchemaError", (error) => Effect.die(error)))

/** The reads no service offers: parameterised, scoped to the tenant and mode, newest first and bounded. */
const makeReads = (sql: PgClient.PgClient) => {
  const recentUsers = SqlSchema.findAll({
    Request: Schema.Struct(Scoped),
    Result: UserRow,
    execute: ({ tenantId, mode }) => sql`SELECT ${sql.unsafe(USER_COLUMNS)} FROM users
      WHERE tenant_id = ${tenantId} AND mode = ${mode} ORDER BY created_at DESC, id DESC LIMIT ${RECENT}`
  })
  const sessions = SqlSchema.findAll({
    Request: Schema.Struct({ ...Scoped, userId: Schema.String }),
    Result: SessionRow,
    execute: ({ tenantId, mode, userId }) => sql`SELECT ${sql.unsafe(SESSION_COLUMNS)} FROM sessions
      WHERE tenant_id = ${tenantId} AND mode = ${mode} AND user_id = ${userId} ORDER BY created_at DESC, id LIMIT ${PER_USER}`
  })
  // By the user's email/phone, through the `auth_requests_identifier` index (the export also matches
  // `user_id`, which no index covers: too slow for a page on a large tenant).
  const requests = SqlSchema.findAll({
    Request: Schema.Struct({ ...Scoped, identifiers: Schema.Array(Schema.String) }),
    Result: RequestRow,
    execute: ({ tenantId, mode, identifiers }) => sql`SELECT id, channel, type, identifier, created_at, expires_at,
        verified_at, attempts, max_attempts FROM auth_requests
      WHERE tenant_id = ${tenantId} AND mode = ${mode} AND identifier = ANY(${identifiers}::text[])
      ORDER BY created_at DESC, id DESC LIMIT ${PER_USER}`
  })
  // `login.success` names the user, `login.failed` the auth request; neither can predate the oldest
  // request shown, which bounds the scan.
  const signIns = SqlSchema.findAll({
    Request: Schema.Struct({ ...Scoped, subjects: Schema.Array(Schema.String), since: Schema.Date }),
    Result: SignInRow,
    execute: ({ tenantId, mode, subjects, since }) => sql`SELECT type, subject, ip, details, created_at FROM audit_log
      WHERE tenant_id = ${tenantId} AND mode = ${mode} AND type IN ('login.success', 'login.failed')
        AND subject = ANY(${subjects}::text[]) AND created_at >= ${since}
      ORDER BY seq DESC LIMIT ${PER_USER}`
  })
  return { recentUsers: safe(recentUsers), sessions: safe(sessions), requests: safe(requests), signIns: safe(signIns) }
}

const userIdOf = (ctx: ConsoleContext) => {
  const id = Schema.decodeUnknownOption(UserId)(ctx.params["userId"])
  return Option.isNone(id) ? Effect.fail(new PageNotFound({ message: "No such user." })) : Effect.succeed(id.value)
}

const userPath = (scope: TenantScope, id: string, rest = "") => tenantPath(scope, `users/${id}${rest}`)

/** What an operator types to confirm an erasure: the email, else the user id. */
const confirmationOf = (user: User): string => user.email ?? user.id

const nameOf = (user: User): string => user.email ?? user.phone ?? user.id

const requestStatus = (r: RequestRow, now: number): Html => {
  if (r.verifiedAt !== null) return html`<span class="badge ok">Verified</span>`
  if (r.attempts >= r.maxAttempts) return html`<span class="badge bad">Locked</span>`
  if (r.expiresAt.getTime() <= now) return html`<span class="badge">Expired</span>`
  return html`<span class="badge warn">Pending</span>`
}

const text = (value: Schema.Json | undefined): string | null =>
  typeof value === "string" ? value : Array.isArray(value) ? value.filter((v) => typeof v === "string").join(", ") : null

export const userPages = (kit: Kit) =>
  Effect.gen(function* () {
    const users = yield* Users
    const admin = yield* SessionAdmin
    const reads = makeReads(yield* PgClient.PgClient)

    const searchForm = (scope: TenantScope, q: string, error: string | null) => html`<form method="get" action="${tenantPath(scope, "users")}" class="inline user-search" role="search">
  ${scope.mode === "test" ? modeField(scope) : null}
  <div>
    <label for="user-q">Email address, phone number or user id</label>
    <input id="user-q" name="q" type="search" value="${q}" autocomplete="off" spellcheck="false"
      ${error === null ? null : html`aria-invalid="true" aria-describedby="user-q-error"`}>
    ${error === null ? null : html`<p class="field-error" id="user-q-error">${error}</p>`}
  </div>
  <button type="submit">Search</button>
</form>`

    const userTable = (scope: TenantScope, list: ReadonlyArray<User>, caption: string) => html`<div class="table-wrap" tabindex="0"><table>
  <caption>${caption}</caption>
  <thead><tr><th scope="col">User</th><th scope="col">Phone</th><th scope="col">Created</th><th scope="col">Last sign-in</th></tr></thead>
  <tbody>${list.map((u) => html`<tr>
    <th scope="row"><a href="${userPath(scope, u.id)}">${u.email ?? u.id}</a>${u.email === null ? null : html`<br><span class="muted mono">${u.id}</span>`}</th>
    <td>${u.phone ?? html`<span class="muted">—</span>`}</td><td>${when(u.createdAt)}</td><td>${when(u.lastLoginAt)}</td>
  </tr>`)}</tbody>
</table></div>`

    /** The search: the API's lookup (and its normalisation) by email or phone, or a user id; nothing typed → the newest users. */
    const search = (scope: TenantScope, q: string) =>
      Effect.gen(function* () {
        if (q === "") {
          const rows = yield* reads.recentUsers({ tenantId: scope.tenant.id, mode: scope.mode })
          return { found: rows.map(toWireUser), error: null, recent: true } as const
        }
        if (q.startsWith("usr_")) {
          const id = Schema.decodeUnknownOption(UserId)(q)
          const user = Option.isNone(id) ? undefined : yield* Effect.catchTag(users.get(scope.caller, id.value), "NotFound", () => Effect.succeed(undefined))
          return { found: user === undefined ? [] : [user], error: null, recent: false } as const
        }
        return yield* users.find(scope.caller, q.includes("@") ? { email: q } : { phone: q }).pipe(
          Effect.map(({ users: found }) => ({ found, error: null, recent: false } as const)),
          Effect.catchTags({
            InvalidEmail: (e) => Effect.succeed({ found: [], error: e.message, recent: false } as const),
            InvalidPhone: (e) => Effect.succeed({ found: [], error: e.message, recent: false } as const),
            ValidationFailed: (e) => Effect.succeed({ found: [], error: e.message, recent: false } as const)
          })
        )
      })

    yield* kit.page("/console/t/:tenantId/users", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const q = (ctx.url.searchParams.get("q") ?? "").trim().slice(0, 320)
        const result = yield* search(scope, q)
        const modeName = scope.mode === "test" ? "test" : "live"
        const results = result.error !== null
          ? null
          : result.recent
          ? result.found.length === 0
            ? html`<p class="muted">No ${modeName} users yet: a user is created by their first sign-in.</p>`
            : userTable(scope, result.found, `The ${result.found.length} most recent ${modeName} users`)
          : result.found.length === 0
          ? html`<div class="panel" role="status"><p><strong>No ${modeName} user matches “${q}”.</strong></p>
  <p class="muted">Users belong to a mode: a user who signed in with a ${scope.mode === "test" ? "live" : "test"} key is found in ${scope.mode === "test" ? "live" : "test"} mode.</p></div>`
          : userTable(scope, result.found, `Search results for “${q}”`)
        return yield* kit.render(ctx, {
          title: "Users", section: "users", scope, styles: ["users.css"], status: result.error === null ? 200 : 400,
          body: html`<h1>Users</h1>
<p class="muted">Find a ${modeName} user by email address or phone number (as the API's <code>GET /v1/users</code> does), or open one of the newest.</p>
${searchForm(scope, q, result.error)}
${results}
${q === "" ? null : html`<p><a href="${tenantPath(scope, "users")}">Show the most recent users</a></p>`}`
        })
      }))

    interface EraseState { readonly typed: string; readonly error: string }

    const userPage = (ctx: ConsoleContext, scope: TenantScope, id: UserId, erase: EraseState | null) =>
      Effect.gen(function* () {
        const user = yield* users.get(scope.caller, id)
        const active = new Set((yield* admin.list(scope.caller, id)).sessions.map((s) => s.id))
        const key = { tenantId: scope.tenant.id, mode: scope.mode }
        const sessions = yield* reads.sessions({ ...key, userId: id })
        const identifiers = [user.email, user.phone].filter((v): v is string => v !== null)
        const requests = identifiers.length === 0 ? [] : yield* reads.requests({ ...key, identifiers })
        const oldest = requests.at(-1)?.createdAt
        const signIns: ReadonlyArray<SignInRow> = oldest === undefined ? [] : yield* reads.signIns({
          ...key, subjects: [id, ...requests.map((r) => r.id)], since: oldest
        })
        const now = yield* Clock.currentTimeMillis
        const canAdmin = mayAct(ctx.operator.role, "admin")
        const canErase = mayAct(ctx.operator.role, "owner")
        const hidden = html`${csrfField(ctx)}${modeField(scope)}`
        const requestLink = (rid: string) => html`<a class="mono" href="${tenantPath(scope, `requests/${rid}`)}">${rid}</a>`
        const status = (s: SessionRow) => s.revokedAt !== null
          ? html`<span class="badge bad">Revoked</span> ${when(s.revokedAt)}`
          : active.has(s.id) ? html`<span class="badge ok">Active</span>` : html`<span class="badge">Ended</span>`
        const confirm = confirmationOf(user)

        const body = html`<p><a href="${tenantPath(scope, "users")}">← Users</a></p>
<h1>${nameOf(user)}</h1>
<section class="card" aria-labelledby="user-facts"><h2 id="user-facts">User</h2>
<dl class="facts">
  <dt>User id</dt><dd><code>${user.id}</code></dd>
  <dt>Email</dt><dd>${user.email ?? html`<span class="muted">—</span>`}${user.emailVerifiedAt === null ? null : html` <span class="badge ok">verified</span> ${when(user.emailVerifiedAt)}`}</dd>
  <dt>Phone</dt><dd>${user.phone ?? html`<span class="muted">—</span>`}${user.phoneVerifiedAt === null ? null : html` <span class="badge ok">verified</span> ${when(user.phoneVerifiedAt)}`}</dd>
  <dt>Mode</dt><dd>${scope.mode}</dd>
  <dt>Created</dt><dd>${when(user.createdAt)}</dd>
  <dt>Last sign-in</dt><dd>${when(user.lastLoginAt)}</dd>
</dl>
<p class="hint">Sesame keeps no other profile data for a user; what a sign-in's request carried (metadata, state) is on its auth request.</p>
</section>

<h2 id="sessions">Sessions</h2>
${sessions.length === 0 ? html`<p class="muted">No sessions.</p>` : html`<div class="table-wrap" tabindex="0"><table aria-labelledby="sessions">
  <thead><tr><th scope="col">Session</th><th scope="col">Created</th><th scope="col">Last used</th><th scope="col">Expires</th>
    <th scope="col">Client</th><th scope="col">Method</th><th scope="col">Status</th>${canAdmin ? html`<th scope="col"><span class="vh">Actions</span></th>` : null}</tr></thead>
  <tbody>${sessions.map((s) => html`<tr>
    <th scope="row" class="mono">${s.id}</th><td>${when(s.createdAt)}</td><td>${when(s.lastUsedAt)}</td><td>${when(s.expiresAt)}</td>
    <td>${s.clientIp ?? html`<span class="muted">no address</span>`}${s.userAgent === null ? null : html`<br><span class="muted ua">${s.userAgent}</span>`}</td>
    <td>${s.amr.join(", ")}</td><td>${status(s)}</td>
    ${canAdmin ? html`<td>${active.has(s.id) ? html`<form method="post" action="${userPath(scope, id, `/sessions/${s.id}/revoke`)}">${hidden}
      <button type="submit" class="secondary" aria-label="Revoke session ${s.id}">Revoke</button></form>` : null}</td>` : null}
  </tr>`)}</tbody>
</table></div>`}
${canAdmin && active.size > 0 ? html`<form method="post" action="${userPath(scope, id, "/sessions/revoke")}" data-confirm="Revoke all of this user's sessions? They are signed out everywhere.">${hidden}
  <button type="submit" class="danger">Revoke all ${active.size} active sessions</button></form>` : null}

<h2 id="signins">Recent sign-ins</h2>
${signIns.length === 0 ? html`<p class="muted">No sign-ins recorded for this user's recent auth requests.</p>` : html`<div class="table-wrap" tabindex="0"><table aria-labelledby="signins">
  <thead><tr><th scope="col">When</th><th scope="col">Result</th><th scope="col">Auth request</th><th scope="col">Details</th><th scope="col">API caller address</th></tr></thead>
  <tbody>${signIns.map((e) => {
          const ok = e.type === "login.success"
          const rid = ok ? text(e.details["authRequestId"]) : e.subject
          const detail = ok ? text(e.details["amr"]) : text(e.details["reason"])
          return html`<tr>
    <th scope="row">${when(e.createdAt)}</th>
    <td>${ok ? html`<span class="badge ok">Signed in</span>` : html`<span class="badge bad">Failed</span>`}</td>
    <td>${rid === null ? html`<span class="muted">—</span>` : requestLink(rid)}</td>
    <td>${detail ?? ""}</td><td>${e.ip ?? html`<span class="muted">—</span>`}</td>
  </tr>`
        })}</tbody>
</table></div>`}

<h2 id="requests">Recent auth requests</h2>
${requests.length === 0 ? html`<p class="muted">No auth requests for this user's email or phone.</p>` : html`<div class="table-wrap" tabindex="0"><table aria-labelledby="requests">
  <thead><tr><th scope="col">Auth request</th><th scope="col">Created</th><th scope="col">Channel</th><th scope="col">Type</th><th scope="col">To</th><th scope="col">Status</th></tr></thead>
  <tbody>${requests.map((r) => html`<tr>
    <th scope="row">${requestLink(r.id)}</th><td>${when(r.createdAt)}</td><td>${r.channel}</td><td>${r.type}</td><td>${r.identifier}</td><td>${requestStatus(r, now)}</td>
  </tr>`)}</tbody>
</table></div>`}

<h2 id="export">Export</h2>
<p>Everything Sesame holds about this user (profile, sessions, auth requests, messages, events) as JSON — the API's <code>GET /v1/users/${user.id}/export</code>. Exports are recorded in the audit log.</p>
${canAdmin ? html`<form method="post" action="${userPath(scope, id, "/export")}">${hidden}<button type="submit" class="secondary">Download the export (JSON)</button></form>`
          : html`<p class="hint">Your role (${ctx.operator.role}) cannot export users; it needs admin.</p>`}

<section class="card danger-zone" aria-labelledby="erase"><h2 id="erase">Erase this user</h2>
<p>Revokes every session and deletes the user, their auth requests and messages, and every personal value in their events — the API's <code>DELETE /v1/users/${user.id}</code>. It cannot be undone.</p>
${canErase ? html`<form method="post" action="${userPath(scope, id, "/erase")}" novalidate>${hidden}
  <label for="erase-confirm">To confirm, type ${user.email === null ? "the user id" : "the user's email address"}: <code>${confirm}</code></label>
  <input id="erase-confirm" name="confirm" type="text" autocomplete="off" spellcheck="false" value="${erase?.typed ?? ""}"
    ${erase === null ? html`aria-describedby="erase-hint"` : html`aria-invalid="true" aria-describedby="erase-error erase-hint"`}>
  ${erase === null ? null : html`<p class="field-error" id="erase-error">${erase.error}</p>`}
  <p class="hint" id="erase-hint">Nothing is erased unless this matches exactly.</p>
  <p><button type="submit" class="danger">Erase this user</button></p>
</form>` : html`<p class="hint">Your role (${ctx.operator.role}) cannot erase users; it needs owner.</p>`}
</section>`
        return yield* kit.render(ctx, {
          title: `User ${user.id}`, section: "users", scope, body, styles: ["users.css"], status: erase === null ? 200 : 400
        })
      })

    yield* kit.page("/console/t/:tenantId/users/:userId", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        return yield* userPage(ctx, scope, yield* userIdOf(ctx), null)
      }))

    yield* kit.action("/console/t/:tenantId/users/:userId/sessions/:sessionId/revoke", "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const id = yield* userIdOf(ctx)
        const sessionId = Schema.decodeUnknownOption(SessionId)(ctx.params["sessionId"])
        if (Option.isNone(sessionId)) return yield* new PageNotFound({ message: "No such session." })
        // Only one of this user's live sessions: the URL names the user, so a session of another user is not revoked here.
        const { sessions } = yield* admin.list(scope.caller, id)
        if (!sessions.some((s) => s.id === sessionId.value)) {
          return kit.redirect(ctx, userPath(scope, id), "That session is not one of this user's active sessions: nothing was revoked.")
        }
        yield* admin.revoke(scope.caller, sessionId.value)
        yield* kit.audit(ctx, { tenantId: scope.tenant.id, mode: scope.mode, type: "session.revoked", subject: sessionId.value, details: { count: 1 } })
        return kit.redirect(ctx, userPath(scope, id), `Revoked session ${sessionId.value}.`)
      }))

    yield* kit.action("/console/t/:tenantId/users/:userId/sessions/revoke", "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const id = yield* userIdOf(ctx)
        const { revoked } = yield* admin.revokeAll(scope.caller, id)
        yield* kit.audit(ctx, { tenantId: scope.tenant.id, mode: scope.mode, type: "session.revoked", subject: id, details: { count: revoked } })
        return kit.redirect(ctx, userPath(scope, id), `Revoked ${revoked} session${revoked === 1 ? "" : "s"}.`)
      }))

    // A POST, although it reads: it hands out personal data, so it takes an admin, a CSRF token and an audit entry.
    yield* kit.action("/console/t/:tenantId/users/:userId/export", "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const id = yield* userIdOf(ctx)
        const document = yield* Effect.orDie(Schema.encodeEffect(UserExport)(yield* users.export(scope.caller, id)))
        yield* kit.audit(ctx, { tenantId: scope.tenant.id, mode: scope.mode, type: "user.exported", subject: id, details: {} })
        return HttpServerResponse.text(JSON.stringify(document, null, 2), {
          contentType: "application/json",
          headers: { ...consoleHeaders, "content-disposition": `attachment; filename="${id}.json"` }
        })
      }))

    yield* kit.action("/console/t/:tenantId/users/:userId/erase", "owner", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        const id = yield* userIdOf(ctx)
        const user = yield* users.get(scope.caller, id)
        const typed = (ctx.form.get("confirm") ?? "").trim()
        if (typed !== confirmationOf(user)) {
          const what = user.email === null ? "the user id" : "the user's email address"
          return yield* userPage(ctx, scope, id, {
            typed: typed.slice(0, 320),
            error: typed === "" ? `Type ${what} to confirm.` : `That is not ${what}: nothing was erased.`
          })
        }
        yield* users.erase(scope.caller, id)
        yield* kit.audit(ctx, { tenantId: scope.tenant.id, mode: scope.mode, type: "user.erased", subject: id, details: {} })
        return kit.redirect(ctx, tenantPath(scope, "users"), `Erased user ${id}: their sessions are revoked and their personal data deleted.`)
      }))
  })
