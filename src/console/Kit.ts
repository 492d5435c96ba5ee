/**
 * The console's frame (#14): who is signed in (the session cookie), what they may do (role, CSRF,
 * same-origin), the page shell, the headers, and how pages register their routes. Every page module
 * (src/console/pages/) is a function of a `Kit` that adds its routes; what it changes goes through
 * the same services as the API, called as a `Caller` of the page's tenant and mode, with the operator
 * as the audit actor.
 */
import { PgClient } from "@effect/sql-pg"
import { Cause, Context, Data, Effect, Option, Schema } from "effect"
import { HttpRouter, HttpServerError, HttpServerRequest, HttpServerResponse, UrlParams } from "effect/http"
import { ServiceUnavailable } from "../api/Errors.ts"
import type { CurrentKey } from "../api/Security.ts"
import { type AuditEntry, RequestContext, type RequestInfo } from "../audit/Audit.ts"
import { AllScopes, ApiKeyId, CONSOLE_KEY_PREFIX, type Mode, TenantId } from "../domain/Ids.ts"
import { isSameOrigin } from "../http/LinkPage.ts"
import { hostedPageHeaders } from "../http/LinkPageHtml.ts"
import { TrustedProxies } from "../http/TrustedProxies.ts"
import { clientAddress } from "../keys/IpAllowlist.ts"
import { AppConfig, CONSOLE_DEFAULTS, type ConsoleConfig } from "../platform/Config.ts"
import { constantTimeEqual, randomId } from "../platform/Crypto.ts"
import { requestEntry } from "../platform/Logging.ts"
import { Secrets } from "../platform/Secrets.ts"
import { unavailable } from "../platform/Sql.ts"
import { type Tenant, Tenants } from "../tenants/Tenants.ts"
import { html, type Html, type Part, query, raw } from "./Html.ts"
import { type ConsoleSession, mayAct, type Operator, Operators, type Role } from "./Operators.ts"

export type Caller = CurrentKey["Service"]

/** Everything a console handler knows about its request. */
export interface ConsoleContext {
  readonly request: HttpServerRequest.HttpServerRequest
  readonly url: URL
  readonly params: Readonly<Record<string, string | undefined>>
  readonly session: ConsoleSession
  readonly operator: Operator
  /** This session's CSRF token, for the forms a page renders (`csrfField`). */
  readonly csrf: string
  /** The POSTed form (empty for a GET). */
  readonly form: URLSearchParams
  /** The request's id, address and the operator as actor: what audit rows record. */
  readonly info: RequestInfo
}

/** A tenant page's scope: `/console/t/:tenantId/…?mode=live|test`. */
export interface TenantScope {
  readonly tenant: Tenant
  readonly mode: Mode
  /** The caller the API's services take: this tenant and mode, every scope, the operator's own id. */
  readonly caller: Caller
}

export type Handler<E> = (ctx: ConsoleContext) => Effect.Effect<HttpServerResponse.HttpServerResponse, E>

/** Adding a console route: its handler answers every failure itself (a page), so nothing is left to the router. */
export type Added = Effect.Effect<void>

export interface Kit {
  readonly publicUrl: string
  readonly settings: ConsoleConfig
  /** `GET path`: any signed-in operator (viewers included). */
  readonly page: <E>(path: HttpRouter.PathInput, handler: Handler<E>) => Added
  /**
   * `POST path`: a change. Refused (403) unless the session's CSRF token is in the form, the request
   * comes from our own origin and the operator's role is at least `needs`.
   */
  readonly action: <E>(path: HttpRouter.PathInput, needs: Role, handler: Handler<E>) => Added
  /** The page's tenant (`:tenantId`) and mode (`?mode=` on GET, a `mode` field on POST; default live). */
  readonly scope: (ctx: ConsoleContext) => Effect.Effect<TenantScope, ServiceUnavailable | PageNotFound>
  /** The page shell around a page's content. */
  readonly render: (ctx: ConsoleContext, page: PageOptions) => Effect.Effect<HttpServerResponse.HttpServerResponse, ServiceUnavailable>
  /** 303 to `location` (a `/console` path), with a one-line notice the next page shows. */
  readonly redirect: (ctx: ConsoleContext, location: string, notice?: string) => HttpServerResponse.HttpServerResponse
  /** Records an audit event for the change, with the operator as the actor. */
  readonly audit: (ctx: ConsoleContext, entry: AuditEntry) => Effect.Effect<void, ServiceUnavailable>
  /** Runs `effect` with the operator as the audit actor (for services that audit on their own). */
  readonly asOperator: <A, E, R>(ctx: ConsoleContext, effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E, R>
}

export interface PageOptions {
  readonly title: string
  /** The nav entry to highlight: "overview", "tenants", "settings", "branding", "keys", "users", "requests", "webhooks", "audit", "outbox". */
  readonly section: string
  /** Tenant pages: the tenant switcher and mode toggle stay on this page for another tenant/mode. */
  readonly scope?: TenantScope
  readonly body: Html
  readonly status?: number
  /** Extra script modules (files under src/console/assets/, served at /console/assets/) this page loads. */
  readonly scripts?: ReadonlyArray<string>
  /** Extra stylesheets (files under src/console/assets/) this page loads after console.css. */
  readonly styles?: ReadonlyArray<string>
}

export class PageNotFound extends Data.TaggedError("PageNotFound")<{ readonly message: string }> {}

/** The console's per-request state, for the audit RequestContext. */
export const ConsoleOperator = Context.Reference<Operator | null>("sesame/console/Operator", { defaultValue: () => null })

export const COOKIE = "sesame-console"
/** The cookie's name: `__Host-` (Secure, Path=/, no Domain) when the console is served over https. */
export const cookieName = (publicUrl: string): string => publicUrl.startsWith("https:") ? `__Host-${COOKIE}` : COOKIE

/**
 * Headers of every console page, as the hosted link page's (LinkPageHtml.ts): script and style only
 * from our own files, nothing inline, no framing, no referrer, never cached. Images may come from any
 * https origin (a tenant's logo URL in the branding preview).
 */
export const consoleHeaders: Readonly<Record<string, string>> = {
  "content-security-policy": [
    "default-src 'none'", "script-src 'self'", "style-src 'self'", "img-src 'self' https: data:", "connect-src 'self'",
    "form-action 'self'", "frame-src 'self'", "frame-ancestors 'none'", "base-uri 'none'"
  ].join("; "),
  ...hostedPageHeaders
}

/**
 * Previews framed by a console page (an email, the hosted page): the same headers, but framable by the
 * console alone, and the framed document runs no script and submits nothing (CSP sandbox).
 */
export const previewHeaders = (csp: string): Record<string, string> => ({
  ...consoleHeaders,
  "content-security-policy": `${csp}; sandbox; frame-ancestors 'self'`,
  "x-frame-options": "SAMEORIGIN"
})

export const htmlResponse = (body: string, status = 200, headers: Readonly<Record<string, string>> = consoleHeaders) =>
  HttpServerResponse.text(body, { status, headers, contentType: "text/html; charset=utf-8" })

/** A bare page (sign-in, errors): the shell without navigation. */
export const bareDocument = (title: string, body: Html, scripts: ReadonlyArray<string> = []): string =>
  html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>${title} · Sesame console</title>
<link rel="stylesheet" href="/console/assets/console.css">
<script type="module" src="/console/assets/console.js"></script>
${scripts.map((s) => html`<script type="module" src="/console/assets/${s}"></script>`)}
</head><body class="bare"><main id="main" class="bare-main">${body}</main></body></html>`.value

export const csrfField = (ctx: ConsoleContext): Html => html`<input type="hidden" name="csrf" value="${ctx.csrf}">`

/** A hidden `mode` field, so a POST acts in the mode its page showed. */
export const modeField = (scope: TenantScope): Html => html`<input type="hidden" name="mode" value="${scope.mode}">`

/** `/console/t/{tenant}/{path}?mode=…` */
export const tenantPath = (scope: { readonly tenant: { readonly id: string }; readonly mode: Mode }, path: string, params: Readonly<Record<string, string | number | undefined>> = {}): string =>
  `/console/t/${scope.tenant.id}${path === "" ? "" : `/${path}`}${query({ ...params, mode: scope.mode === "live" ? undefined : scope.mode })}`

const NAV: ReadonlyArray<readonly [section: string, label: string, path: string | null]> = [
  ["overview", "Overview", null],
  ["settings", "Settings", "settings"],
  ["branding", "Branding", "branding"],
  ["keys", "API keys", "keys"],
  ["users", "Users", "users"],
  ["requests", "Auth requests", "requests"],
  ["webhooks", "Webhooks", "webhooks"],
  ["audit", "Audit log", "audit"],
  ["outbox", "Test outbox", "outbox"]
]

const errorPage = (status: number, title: string, message: string) =>
  htmlResponse(bareDocument(title, html`<h1>${title}</h1><p>${message}</p><p><a href="/console">Back to the console</a></p>`), status)

export const make = Effect.gen(function* () {
  const config = yield* AppConfig
  const settings = config.console ?? CONSOLE_DEFAULTS
  const operators = yield* Operators
  const tenants = yield* Tenants
  const secrets = yield* Secrets
  const trusted = yield* TrustedProxies
  const sql = yield* PgClient.PgClient
  const publicUrl = config.publicUrl
  const publicOrigin = URL.parse(publicUrl)?.origin ?? ""
  const name = cookieName(publicUrl)

  const csrfOf = (session: ConsoleSession) => secrets.mac("console-csrf", session.id).toString("base64url")
  const noticeMac = (session: ConsoleSession, text: string) => secrets.mac("console-notice", `${session.id}\n${text}`).toString("base64url").slice(0, 22)

  const infoOf = (request: HttpServerRequest.HttpServerRequest, operator: Operator | null): RequestInfo => ({
    requestId: requestEntry(request)?.requestId ?? randomId("req"),
    ip: clientAddress(Option.getOrUndefined(request.peerAddress), request.headers["x-forwarded-for"], trusted)?.toString() ?? null,
    actor: operator === null ? null : `operator:${operator.email}`
  })

  const currentSession = (request: HttpServerRequest.HttpServerRequest) => {
    const token = request.cookies[name]
    return token === undefined ? Effect.succeed(undefined) : operators.session(token, settings)
  }

  const failed = (cause: Cause.Cause<unknown>): Effect.Effect<HttpServerResponse.HttpServerResponse> => {
    const error = Cause.squash(cause)
    // a form that outgrew the edge's limit while streaming (http/Edge.ts refuses a declared one unread), or unreadable
    if (HttpServerError.isHttpServerError(error)) {
      return Effect.succeed(error.reason._tag === "RequestParseError" && error.reason.reason === "BodyTooLarge"
        ? errorPage(413, "Too large", "The form was larger than 64 KiB and was not read. Nothing changed.")
        : errorPage(400, "Bad request", "The form could not be read. Nothing changed."))
    }
    if (error instanceof PageNotFound) return Effect.succeed(errorPage(404, "Not found", error.message))
    if (typeof error === "object" && error !== null && "_tag" in error) {
      if (error._tag === "NotFound") return Effect.succeed(errorPage(404, "Not found", "There is nothing here: it may have been removed."))
      if (error._tag === "ServiceUnavailable") {
        return Effect.succeed(HttpServerResponse.setHeader(errorPage(503, "Try again shortly", "The service is temporarily unavailable."), "retry-after", "1"))
      }
    }
    return Effect.as(Effect.logError("console page failed", cause), errorPage(500, "Something went wrong", "The page failed; the server log has the details."))
  }

  const run = <E>(method: "GET" | "POST", needs: Role | null, handler: Handler<E>) =>
    Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const params = yield* HttpRouter.params
      const url = new URL(request.url, publicUrl)
      const session = yield* currentSession(request)
      if (session === undefined) {
        if (method === "GET") {
          const next = url.pathname + url.search
          return HttpServerResponse.redirect(`/console/signin${query({ next: next === "/console" ? undefined : next })}`, { status: 303, headers: consoleHeaders })
        }
        return errorPage(401, "Signed out", "Your console session has ended. Sign in again, then repeat the change.")
      }
      let form = new URLSearchParams()
      const csrf = csrfOf(session)
      if (method === "POST") {
        if (!isSameOrigin(request.headers, publicOrigin)) {
          return errorPage(403, "Refused", "The change did not come from a console page.")
        }
        form = new URLSearchParams(UrlParams.toString(yield* request.urlParamsBody))
        const sent = form.get("csrf") ?? ""
        if (!constantTimeEqual(Buffer.from(sent), Buffer.from(csrf))) {
          return errorPage(403, "Refused", "The form had expired or did not come from a console page. Reload the page and try again.")
        }
        if (needs !== null && !mayAct(session.operator.role, needs)) {
          return errorPage(403, "Not allowed", `Your role (${session.operator.role}) cannot make this change; it needs ${needs}.`)
        }
        // The console's own sign-in tenant emails operators their codes: whoever changes its templates,
        // webhooks or keys could read an owner's code, so only an owner changes anything there.
        if (needs !== null && needs !== "viewer" && session.operator.role !== "owner" && params["tenantId"] !== undefined &&
          params["tenantId"] === (yield* operators.consoleTenant)) {
          return errorPage(403, "Not allowed", "Only an owner may change the console's own sign-in tenant.")
        }
      }
      const ctx: ConsoleContext = {
        request, url, params, session, operator: session.operator, csrf, form, info: infoOf(request, session.operator)
      }
      return yield* handler(ctx).pipe(Effect.provideService(RequestContext, ctx.info))
    }).pipe(Effect.catchCause(failed))

  const scope = (ctx: ConsoleContext) =>
    Effect.gen(function* () {
      const id = Schema.decodeUnknownOption(TenantId)(ctx.params["tenantId"])
      if (Option.isNone(id)) return yield* new PageNotFound({ message: "No such tenant." })
      const tenant = yield* tenants.get(id.value).pipe(
        Effect.catchTag("NotFound", () => Effect.fail(new PageNotFound({ message: "No such tenant." })))
      )
      const modeText = ctx.request.method === "POST" ? ctx.form.get("mode") : ctx.url.searchParams.get("mode")
      const mode: Mode = modeText === "test" ? "test" : "live"
      const caller: Caller = {
        keyId: ApiKeyId.make(`${CONSOLE_KEY_PREFIX}${ctx.operator.id.slice(3).replace(/[^0-9A-Za-z]/gu, "")}`.slice(0, 44).padEnd(20, "0")),
        tenantId: tenant.id,
        mode,
        scopes: AllScopes
      }
      return { tenant, mode, caller }
    })

  const tenantList = unavailable(sql<{ id: string; name: string }>`SELECT id, name FROM tenants ORDER BY created_at, id`)

  const render = (ctx: ConsoleContext, page: PageOptions) =>
    Effect.gen(function* () {
      const all = yield* tenantList
      const consoleTenant = yield* operators.consoleTenant
      const notice = ctx.url.searchParams.get("notice")
      const showNotice = notice !== null && ctx.url.searchParams.get("n") === noticeMac(ctx.session, notice)
      const s = page.scope
      // off tenant pages (the overview) the page's own ?mode= is the one on show
      const mode: Mode = s?.mode ?? (ctx.url.searchParams.get("mode") === "test" ? "test" : "live")
      const sectionPath = (NAV.find(([section]) => section === page.section)?.[2]) ?? null
      const switcher = html`<form class="switcher" method="get" action="/console/go">
  <label for="tenant-switch">Tenant</label>
  <select id="tenant-switch" name="tenant">
    ${s === undefined ? html`<option value="">Choose a tenant…</option>` : null}
    ${all.map((t) => html`<option value="${t.id}" ${s?.tenant.id === t.id ? raw("selected") : null}>${t.name}${t.id === consoleTenant ? " (console sign-in)" : ""}</option>`)}
  </select>
  <label for="mode-switch">Mode</label>
  <select id="mode-switch" name="mode">
    <option value="live" ${mode !== "test" ? raw("selected") : null}>Live</option>
    <option value="test" ${mode === "test" ? raw("selected") : null}>Test</option>
  </select>
  <input type="hidden" name="section" value="${sectionPath ?? ""}">
  <button type="submit" class="secondary">Go</button>
</form>`
      const nav = html`<nav aria-label="Console"><ul>
  <li><a href="/console" ${page.section === "overview" ? raw('aria-current="page"') : null}>Overview</a></li>
  <li><a href="/console/tenants" ${page.section === "tenants" ? raw('aria-current="page"') : null}>Tenants</a></li>
  <li><a href="/console/operators" ${page.section === "operators" ? raw('aria-current="page"') : null}>Operators</a></li>
  ${s === undefined ? null : NAV.filter(([, , path]) => path !== null).map(([section, label, path]) =>
        html`<li><a href="${tenantPath(s, path ?? "")}" ${page.section === section ? raw('aria-current="page"') : null}>${label}</a></li>`)}
</ul></nav>`
      const body = html`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark"><title>${page.title} · Sesame console</title>
<link rel="stylesheet" href="/console/assets/console.css">
${(page.styles ?? []).map((file) => html`<link rel="stylesheet" href="/console/assets/${file}">`)}
<script type="module" src="/console/assets/console.js"></script>
${(page.scripts ?? []).map((file) => html`<script type="module" src="/console/assets/${file}"></script>`)}
</head><body>
<a class="skip" href="#main">Skip to content</a>
<header class="top">
  <a class="brand" href="/console">Sesame <span>console</span></a>
  ${switcher}
  <div class="who">
    <span>${ctx.operator.email} <span class="badge">${ctx.operator.role}</span></span>
    <form method="post" action="/console/signout">${csrfField(ctx)}<button type="submit" class="link">Sign out</button></form>
  </div>
</header>
<div class="frame">
${nav}
<main id="main" tabindex="-1">
${s !== undefined && s.mode === "test" ? html`<p class="mode-banner" role="note">Test mode: what you see and change here is the tenant's test data and settings.</p>` : null}
${showNotice ? html`<p class="notice" role="status">${notice}</p>` : null}
${page.body}
</main>
</div>
</body></html>`
      return htmlResponse(body.value, page.status ?? 200)
    })

  const redirect = (ctx: ConsoleContext, location: string, notice?: string) => {
    const target = location.startsWith("/console") ? location : "/console"
    const withNotice = notice === undefined
      ? target
      : `${target}${target.includes("?") ? "&" : "?"}${new URLSearchParams({ notice, n: noticeMac(ctx.session, notice) }).toString()}`
    return HttpServerResponse.redirect(withNotice, { status: 303, headers: consoleHeaders })
  }

  /** For routes outside `run` (sign-in): the service's 503 as a page; anything else stays a failure (the edge's 413). */
  const unavailablePage = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.catchIf(effect, (e): e is Extract<E, ServiceUnavailable> => e instanceof ServiceUnavailable,
      () => Effect.succeed(HttpServerResponse.setHeader(errorPage(503, "Try again shortly", "The service is temporarily unavailable."), "retry-after", "1")))

  return { settings, publicUrl, csrfOf, currentSession, infoOf, run, scope, render, redirect, cookie: name, errorPage, unavailablePage }
})

export type KitCore = Effect.Success<typeof make>

/** The Kit over a router. */
export const kitFor = (core: KitCore, router: HttpRouter.HttpRouter, record: (entry: AuditEntry) => Effect.Effect<void, ServiceUnavailable>): Kit => ({
  publicUrl: core.publicUrl,
  settings: core.settings,
  page: (path, handler) => router.add("GET", path, core.run("GET", null, handler)),
  action: (path, needs, handler) => router.add("POST", path, core.run("POST", needs, handler)),
  scope: core.scope,
  render: core.render,
  redirect: core.redirect,
  audit: (ctx, entry) => record(entry).pipe(Effect.provideService(RequestContext, ctx.info)),
  asOperator: (ctx, effect) => Effect.provideService(effect, RequestContext, ctx.info)
})

export type { Part }
export { ServiceUnavailable }
