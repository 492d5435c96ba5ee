import { createHash } from "node:crypto"
import { gzipSync } from "node:zlib"
import { Effect, Layer, Scope } from "effect"
import { HttpRouter, HttpServerRequest, HttpServerResponse } from "effect/http"
import { HttpApiScalar } from "effect/http-api"
import { Api } from "../api/Api.ts"

/**
 * The page's Content-Security-Policy. Its two inline scripts (Scalar's bundled build and the call that
 * boots it with our OpenAPI document) are allowed by their SHA-256 hashes, nothing else runs; Scalar
 * styles itself with inline styles; "Test request" calls this same origin only; nothing may frame it.
 */
const policyFor = (html: string): string => {
  const hashes = Array.from(html.matchAll(/<script>([\s\S]*?)<\/script>/gu), (m) =>
    `'sha256-${createHash("sha256").update(m[1] ?? "", "utf8").digest("base64")}'`)
  return [
    "default-src 'none'",
    `script-src ${hashes.join(" ")}`,
    "style-src 'unsafe-inline'",
    "img-src 'self' data:",
    "font-src 'self' data:",
    "connect-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'"
  ].join("; ")
}

const decoder = new TextDecoder()

interface Variants {
  readonly plain: HttpServerResponse.HttpServerResponse
  readonly gzip: HttpServerResponse.HttpServerResponse
}

/**
 * The page is rendered once (HttpApiScalar memoizes it), so its headers and its gzip form (3.3 MB →
 * ~1 MB) are made once: keyed by the response object, on the first request only.
 */
const variantsOf = (): ((response: HttpServerResponse.HttpServerResponse) => Variants) => {
  const done = new WeakMap<HttpServerResponse.HttpServerResponse, Variants>()
  return (response) => {
    const cached = done.get(response)
    if (cached !== undefined) return cached
    const bytes = response.body._tag === "Uint8Array" ? response.body.body : new Uint8Array()
    const headers = {
      "content-security-policy": policyFor(decoder.decode(bytes)),
      "referrer-policy": "no-referrer",
      "x-frame-options": "DENY",
      // the page describes the contract of this build: a client may keep it for a few minutes
      "cache-control": "public, max-age=300",
      vary: "accept-encoding"
    }
    const plain = HttpServerResponse.setHeaders(response, headers)
    const gzip = HttpServerResponse.uint8Array(gzipSync(bytes), {
      status: response.status,
      contentType: "text/html; charset=utf-8",
      headers: { ...headers, "content-encoding": "gzip" }
    })
    const variants = { plain, gzip }
    done.set(response, variants)
    return variants
  }
}

const variants = variantsOf()
const DocsHeaders = HttpRouter.middleware((httpEffect) =>
  Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) =>
    Effect.map(httpEffect, (response) => {
      const { plain, gzip } = variants(response)
      return /\bgzip\b/u.test(request.headers["accept-encoding"] ?? "") ? gzip : plain
    }))).layer

/** Effect's Scalar integration, mounted on a router of its own that is built on the first visit. */
const ScalarPage = HttpApiScalar.layer(Api, {
  path: "/docs",
  scalar: { withDefaultFonts: false, defaultOpenAllTags: false }
})

/**
 * `GET /docs`: the API reference, rendered by Effect's Scalar integration from the same HttpApi as the
 * server, the client and `/openapi.json`. Scalar's script is bundled (no CDN: the page works offline
 * and behind a strict CSP), and the page loads no web fonts. The 3 MB script is loaded on the first
 * visit, not at start (it would cost every process ~150 ms of startup and ~20 MB for a page few open).
 */
export const DocsRoutes = HttpRouter.use(Effect.fnUntraced(function*(router) {
  const scope = yield* Effect.scope
  const page = yield* Effect.cached(Scope.provide(HttpRouter.toHttpEffect(ScalarPage), scope))
  yield* router.add("GET", "/docs", Effect.flatMap(page, (handler) => handler))
})).pipe(Layer.provide(DocsHeaders))
