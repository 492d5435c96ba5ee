/**
 * Signing in to the console with Sesame itself (#14): the operator's email gets a code and a link from
 * the console tenant's own passwordless flow (the same Passwordless service as `POST /v1/passwordless/*`,
 * with its limits, attempts and expiry); proving either opens a console session (a cookie: HttpOnly,
 * SameSite=Strict, Secure and `__Host-` over https). Addresses that are not operators get the same
 * answer and no email.
 */
import { Effect } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse, UrlParams } from "effect/http"
import { Audit, RequestContext } from "../audit/Audit.ts"
import { AllScopes, ApiKeyId, CONSOLE_KEY_PREFIX } from "../domain/Ids.ts"
import { isSameOrigin } from "../http/LinkPage.ts"
import { maskEmail } from "../http/LinkPageHtml.ts"
import { Passwordless } from "../passwordless/Passwordless.ts"
import { constantTimeEqual } from "../platform/Crypto.ts"
import { TenantAdmin } from "../tenants/TenantAdmin.ts"
import { html, type Html, query } from "./Html.ts"
import { bareDocument, type Caller, consoleHeaders, htmlResponse, type KitCore } from "./Kit.ts"
import { type Operator, Operators } from "./Operators.ts"
import { linkLanding } from "./Setup.ts"

/** The console tenant's caller: the sign-in flow runs as this "key" (it exists nowhere else). */
const SIGNIN_KEY = ApiKeyId.make(`${CONSOLE_KEY_PREFIX}signin0000`)

/** Only a console path may follow sign-in (no open redirect). */
export const safeNext = (next: string | null | undefined): string =>
  next !== null && next !== undefined && /^\/console(?:[/?#]|$)/u.test(next) && !next.startsWith("//") && !next.includes("\\") ? next : "/console"

const page = (title: string, body: Html, status = 200) => htmlResponse(bareDocument(title, html`<section class="signin">
  <p class="brand-line">Sesame <span>console</span></p>
  ${body}
</section>`), status)

const emailForm = (next: string, message: Html | null, email = "") => page("Sign in", html`<h1>Sign in</h1>
  ${message}
  <form method="post" action="/console/signin">
    <input type="hidden" name="next" value="${next}">
    <label for="email">Your email address</label>
    <input id="email" name="email" type="email" autocomplete="email" required maxlength="320" value="${email}" autofocus>
    <button type="submit">Email me a sign-in code</button>
  </form>
  <p class="muted">Operators are added with <code>sesame operator add --email … --role …</code>.</p>`, message === null ? 200 : 400)

const codeForm = (email: string, next: string, message: Html | null, status = 200) => page("Enter your code", html`<h1>Check your email</h1>
  ${message}
  <p>If <strong>${maskEmail(email)}</strong> belongs to an operator, a sign-in code and link are on their way. Enter the code, or open the link in this browser.</p>
  <form method="post" action="/console/signin/code">
    <input type="hidden" name="email" value="${email}">
    <input type="hidden" name="next" value="${next}">
    <label for="code">Sign-in code</label>
    <input id="code" name="code" inputmode="numeric" autocomplete="one-time-code" pattern="[0-9]{4,8}" required maxlength="8" autofocus>
    <button type="submit">Sign in</button>
  </form>
  <p><a href="/console/signin${query({ next: next === "/console" ? undefined : next })}">Use another address</a></p>`, status)

const alert = (text: string) => html`<p class="error" role="alert">${text}</p>`

/**
 * The emailed link lands on this server's PUBLIC_URL: at start, the console tenant's allowlist (in the
 * sign-in mode) gets that landing if it lacks it (PUBLIC_URL changed since \`operator add\`).
 */
const allowLanding = (core: KitCore, landing: string | undefined) =>
  Effect.gen(function* () {
    const tenantId = yield* (yield* Operators).consoleTenant
    if (tenantId === undefined || landing === undefined) return
    const admin = yield* TenantAdmin
    const caller: Caller = { keyId: SIGNIN_KEY, tenantId, mode: core.settings.signinMode, scopes: AllScopes }
    const view = yield* admin.get(caller)
    const allowlist = view.settings.redirectAllowlist ?? []
    if (allowlist.includes(landing)) return
    yield* admin.update(caller, { settings: { redirectAllowlist: [...allowlist, landing] } })
  }).pipe(Effect.catch((error) => Effect.logWarning("console: could not add the sign-in link's landing to the console tenant's allowlist", error)))

export const signinRoutes = (core: KitCore, router: HttpRouter.HttpRouter) =>
  Effect.gen(function* () {
    const passwordless = yield* Passwordless
    const operators = yield* Operators
    const audit = yield* Audit
    const publicOrigin = URL.parse(core.publicUrl)?.origin ?? ""
    const secure = core.publicUrl.startsWith("https:")
    const landing = linkLanding(core.publicUrl)
    yield* allowLanding(core, landing)

    const callerOf = Effect.map(operators.consoleTenant, (tenantId): Caller | undefined =>
      tenantId === undefined ? undefined : { keyId: SIGNIN_KEY, tenantId, mode: core.settings.signinMode, scopes: AllScopes })

    const formOf = Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      if (!isSameOrigin(request.headers, publicOrigin)) return undefined
      return new URLSearchParams(UrlParams.toString(yield* request.urlParamsBody))
    })
    /** The operator's browser, as the API's `client` (the IP for the per-IP limits; both for the audit rows). */
    const clientOf = Effect.map(HttpServerRequest.HttpServerRequest, (request) => {
      const ip = core.infoOf(request, null).ip
      const agent = request.headers["user-agent"]?.slice(0, 512)
      return { ...(ip === null ? {} : { ipAddress: ip }), ...(agent === undefined ? {} : { userAgent: agent }) }
    })
    /** The API's audit rows (login.success/failed on the console tenant) carry the browser's address. */
    const fromBrowser = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
      Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => Effect.provideService(effect, RequestContext, core.infoOf(request, null)))
    const refused = htmlResponse(bareDocument("Refused", html`<h1>Refused</h1><p>The form did not come from a console page. <a href="/console/signin">Sign in again</a>.</p>`), 403)

    /** The proof checked: a session for the operator, or undefined (not an operator, or removed meanwhile). */
    const open = (email: string, next: string) =>
      Effect.gen(function* () {
        const request = yield* HttpServerRequest.HttpServerRequest
        const operator: Operator | undefined = yield* operators.byEmail(email)
        if (operator === undefined) return undefined
        const info = core.infoOf(request, operator)
        const opened = yield* operators.openSession(operator, core.settings, { ip: info.ip, userAgent: request.headers["user-agent"] ?? null })
        const tenantId = yield* operators.consoleTenant
        if (tenantId !== undefined) {
          yield* audit.record({ tenantId, mode: null, type: "console.signin", subject: operator.id, details: { session: opened.session.id, role: operator.role } }).pipe(
            Effect.provideService(RequestContext, info)
          )
        }
        const cookie = [
          `${core.cookie}=${opened.token}`, "Path=/", "HttpOnly", "SameSite=Strict",
          `Max-Age=${Math.floor(core.settings.absoluteMs / 1000)}`, ...(secure ? ["Secure"] : [])
        ].join("; ")
        return HttpServerResponse.redirect(next, { status: 303, headers: { ...consoleHeaders, "set-cookie": cookie } })
      })

    yield* router.add("GET", "/console/signin", Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const url = new URL(request.url, core.publicUrl)
      const session = yield* core.currentSession(request)
      const next = safeNext(url.searchParams.get("next"))
      if (session !== undefined) return HttpServerResponse.redirect(next, { status: 303, headers: consoleHeaders })
      return emailForm(next, null)
    }).pipe(core.unavailablePage))

    yield* router.add("POST", "/console/signin", Effect.gen(function* () {
      const form = yield* formOf
      if (form === undefined) return refused
      const email = (form.get("email") ?? "").trim()
      const next = safeNext(form.get("next"))
      if (email === "" || email.length > 320 || !email.includes("@")) return emailForm(next, alert("Enter a valid email address."), email)
      const operator = yield* operators.byEmail(email)
      const caller = yield* callerOf
      if (operator === undefined || caller === undefined) {
        // The same answer as for an operator, and no email: the form does not tell who operates Sesame.
        yield* Effect.logInfo("console sign-in asked for an address that is not an operator", { email: maskEmail(email) })
        return codeForm(email, next, null)
      }
      const client = yield* clientOf
      const send = landing === undefined
        ? passwordless.send(caller, { email: operator.email, channel: "email", type: "OTP", client })
        : passwordless.send(caller, { email: operator.email, channel: "email", type: "LINK_OTP", linkMode: "direct", redirectUrl: landing, linkParam: "token", client })
      return yield* send.pipe(
        Effect.as(codeForm(email, next, null)),
        Effect.catchTag("RateLimited", (e) => Effect.succeed(codeForm(email, next, alert(`Too many sign-in attempts. Try again in ${e.retryAfter} seconds.`), 429))),
        Effect.catchTag("RedirectNotAllowed", () =>
          Effect.as(Effect.logWarning(`console sign-in: ${landing} is not in the console tenant's redirect allowlist`), codeForm(email, next, null)))
      )
    }).pipe(Effect.catchIf((error) => error._tag !== "HttpServerError", (error) => Effect.as(Effect.logWarning("console sign-in could not send", error),
      core.errorPage(503, "Try again shortly", "The sign-in email could not be sent. Try again shortly.")))))

    yield* router.add("POST", "/console/signin/code", Effect.gen(function* () {
      const form = yield* formOf
      if (form === undefined) return refused
      const email = (form.get("email") ?? "").trim()
      const code = (form.get("code") ?? "").trim()
      const next = safeNext(form.get("next"))
      const caller = yield* callerOf
      if (!/^[0-9]{4,8}$/u.test(code)) return codeForm(email, next, alert("Enter the code from the email: digits only."), 400)
      if (caller === undefined) return codeForm(email, next, alert("That code is not right, or it has expired."), 400)
      return yield* fromBrowser(passwordless.confirm(caller, { email, code, client: yield* clientOf })).pipe(
        Effect.flatMap((proof) => open(proof.user.email ?? email, next)),
        Effect.map((response) => response ?? codeForm(email, next, alert("That code is not right, or it has expired."), 400)),
        Effect.catchTags({
          CodeInvalid: (e) => Effect.succeed(codeForm(email, next, alert(`That code is not right. ${e.attemptsRemaining} attempts remain.`), 400)),
          TooManyAttempts: () => Effect.succeed(emailForm(next, alert("Too many wrong codes: ask for a new one."), email)),
          CodeExpired: () => Effect.succeed(emailForm(next, alert("The code has expired: ask for a new one."), email)),
          AlreadyUsed: () => Effect.succeed(emailForm(next, alert("That code was already used: ask for a new one."), email)),
          NotFound: () => Effect.succeed(codeForm(email, next, alert("That code is not right, or it has expired."), 400)),
          RateLimited: (e) => Effect.succeed(codeForm(email, next, alert(`Too many attempts. Try again in ${e.retryAfter} seconds.`), 429)),
          ValidationFailed: () => Effect.succeed(emailForm(next, alert("Enter a valid email address."), email)),
          InvalidEmail: () => Effect.succeed(emailForm(next, alert("Enter a valid email address."), email))
        })
      )
    }).pipe(core.unavailablePage))

    // The emailed link shows a button rather than signing in on GET: mail scanners open links too.
    yield* router.add("GET", "/console/signin/link", Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const token = new URL(request.url, core.publicUrl).searchParams.get("token") ?? ""
      return page("Sign in", html`<h1>Sign in to the console</h1>
  <form method="post" action="/console/signin/link">
    <input type="hidden" name="token" value="${token}">
    <button type="submit">Continue</button>
  </form>`)
    }))

    yield* router.add("POST", "/console/signin/link", Effect.gen(function* () {
      const form = yield* formOf
      if (form === undefined) return refused
      const token = form.get("token") ?? ""
      const caller = yield* callerOf
      const expired = emailForm("/console", alert("That sign-in link is not valid any more: ask for a new one."))
      if (caller === undefined || !/^[A-Za-z0-9_-]{20,128}$/u.test(token)) return expired
      return yield* fromBrowser(passwordless.confirm(caller, { linkToken: token, client: yield* clientOf })).pipe(
        Effect.flatMap((proof) => proof.user.email === null ? Effect.succeed(undefined) : open(proof.user.email, "/console")),
        Effect.map((response) => response ?? expired),
        Effect.catchTags({
          RateLimited: (e) => Effect.succeed(emailForm("/console", alert(`Too many attempts. Try again in ${e.retryAfter} seconds.`))),
          ServiceUnavailable: (e) => Effect.fail(e)
        }),
        Effect.catch((error) => error._tag === "ServiceUnavailable" ? Effect.fail(error) : Effect.succeed(expired))
      )
    }).pipe(core.unavailablePage))

    yield* router.add("POST", "/console/signout", Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const session = yield* core.currentSession(request)
      const clear = `${core.cookie}=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0${secure ? "; Secure" : ""}`
      const out = HttpServerResponse.redirect("/console/signin", { status: 303, headers: { ...consoleHeaders, "set-cookie": clear } })
      if (session === undefined) return out
      const form = yield* formOf
      if (form === undefined || !constantTimeEqual(Buffer.from(form.get("csrf") ?? ""), Buffer.from(core.csrfOf(session)))) return refused
      yield* operators.revokeSession(session.id)
      const tenantId = yield* operators.consoleTenant
      if (tenantId !== undefined) {
        yield* audit.record({ tenantId, mode: null, type: "console.signout", subject: session.operator.id, details: { session: session.id } }).pipe(
          Effect.provideService(RequestContext, core.infoOf(request, session.operator))
        )
      }
      return out
    }).pipe(core.unavailablePage))
  })
