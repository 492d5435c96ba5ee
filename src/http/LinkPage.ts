import { Effect, Option } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse, UrlParams } from "effect/http"
import { Exchange, type LinkPage } from "../passwordless/Exchange.ts"
import { AppConfig } from "../platform/Config.ts"
import { renderLinkPage } from "./LinkPageHtml.ts"

type HeaderBag = Readonly<Record<string, string | undefined>>

/**
 * CSRF, first half (OWASP CSRF cheat sheet, "Verifying origin with standard headers"): the POST must
 * come from our own page. The page's `Referrer-Policy: no-referrer` makes browsers send `Origin: null`
 * and no Referer on its form POST, so a same-origin `Sec-Fetch-Site` is accepted in their place; any
 * cross-site or unknown signal is refused. The second half is the per-render token (Exchange.ts).
 */
export const isSameOrigin = (headers: HeaderBag, publicOrigin: string): boolean => {
  const site = headers["sec-fetch-site"]
  if (site !== undefined && site !== "same-origin") return false
  const origin = headers["origin"]
  if (origin !== undefined && origin !== "null") return origin === publicOrigin
  const referer = headers["referer"]
  if (referer !== undefined) return URL.parse(referer)?.origin === publicOrigin
  return site === "same-origin"
}

const respond = (state: LinkPage): HttpServerResponse.HttpServerResponse => {
  if (state._tag === "Redirect") {
    return HttpServerResponse.redirect(state.location, {
      status: 303,
      headers: { "cache-control": "no-store", "referrer-policy": "no-referrer" }
    })
  }
  const page = renderLinkPage(state)
  return HttpServerResponse.text(page.html, { status: page.status, headers: page.headers, contentType: "text/html; charset=utf-8" })
}

const unavailable = HttpServerResponse.text("<!DOCTYPE html><title>Try again shortly</title><p>The service is temporarily unavailable. Try again shortly.</p>", {
  status: 503,
  contentType: "text/html; charset=utf-8",
  headers: { "cache-control": "no-store", "retry-after": "5", "content-security-policy": "default-src 'none'", "referrer-policy": "no-referrer" }
})

/** `GET /l/{linkToken}` shows the page (never consumes); `POST` consumes the link and redirects with an exchange code. */
export const LinkPageRoutes = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const exchange = yield* Exchange
    const publicOrigin = URL.parse((yield* AppConfig).publicUrl)?.origin ?? ""
    const tokenParam = Effect.map(HttpRouter.params, (p) => p["linkToken"] ?? "")
    const guard = <E>(effect: Effect.Effect<LinkPage, E, HttpServerRequest.HttpServerRequest | HttpRouter.RouteContext>) =>
      effect.pipe(
        Effect.map(respond),
        Effect.catch((error) => Effect.as(Effect.logWarning("hosted link page failed", error), unavailable))
      )
    yield* router.add("GET", "/l/:linkToken", guard(Effect.flatMap(tokenParam, exchange.view)))
    yield* router.add("POST", "/l/:linkToken", Effect.gen(function* () {
      const request = yield* HttpServerRequest.HttpServerRequest
      const linkToken = yield* tokenParam
      if (!isSameOrigin(request.headers, publicOrigin)) {
        // Rendered as the "try again" page, without looking the link up.
        return respond({ _tag: "Forbidden", page: null })
      }
      // Read under the edge's limit (Edge.ts): a body that outgrows it fails here and the edge answers
      // 413, so the failure must not be folded into the page's own error handling.
      const form = yield* request.urlParamsBody
      const field = (name: string) => Option.getOrElse(UrlParams.getFirst(form, name), () => "")
      return yield* guard(exchange.confirm(linkToken, { csrf: field("csrf"), renderedAt: field("rt") }))
    }))
  }))
