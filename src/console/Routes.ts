/**
 * `/console` (#14): the operator console's routes beside the API's, on the same server and services.
 * CONSOLE_ENABLED=false leaves them out.
 */
import { readdirSync, readFileSync } from "node:fs"
import { Effect, Layer } from "effect"
import { HttpRouter, HttpServerResponse } from "effect/http"
import { Audit } from "../audit/Audit.ts"
import { AppConfig, CONSOLE_DEFAULTS } from "../platform/Config.ts"
import { signinRoutes } from "./Auth.ts"
import { consoleHeaders, kitFor, type Kit, make as makeKit } from "./Kit.ts"
import { Operators } from "./Operators.ts"
import { pages } from "./pages/index.ts"

const ASSETS = new URL("./assets/", import.meta.url)
const TYPES: Readonly<Record<string, string>> = {
  ".css": "text/css; charset=utf-8",
  ".js": "text/javascript; charset=utf-8",
  ".svg": "image/svg+xml"
}

/** The console's stylesheet and script modules, read once: served as files so the CSP needs no inline code. */
const loadAssets = (): ReadonlyMap<string, { readonly body: string; readonly type: string }> =>
  new Map(readdirSync(ASSETS).flatMap((file) => {
    const type = TYPES[file.slice(file.lastIndexOf("."))]
    return type === undefined ? [] : [[file, { body: readFileSync(new URL(file, ASSETS), "utf8"), type }] as const]
  }))

const SECTION = /^[a-z-]{0,20}$/u

export const ConsoleRoutes = Layer.unwrap(Effect.map(AppConfig, (config) =>
  !(config.console ?? CONSOLE_DEFAULTS).enabled ? Layer.empty : HttpRouter.use((router) =>
    Effect.gen(function* () {
      const core = yield* makeKit
      const audit = yield* Audit
      const kit: Kit = kitFor(core, router, audit.record)
      const assets = loadAssets()
      yield* router.add("GET", "/console/assets/:file", Effect.gen(function* () {
        const file = (yield* HttpRouter.params)["file"] ?? ""
        const asset = assets.get(file)
        if (asset === undefined) return HttpServerResponse.text("Not found", { status: 404, headers: consoleHeaders })
        return HttpServerResponse.text(asset.body, {
          contentType: asset.type,
          headers: { ...consoleHeaders, "cache-control": "no-cache" }
        })
      }))
      // The tenant switcher (a GET form, so it works without script): to the same page of another tenant.
      yield* kit.page("/console/go", (ctx) => Effect.sync(() => {
        const tenant = ctx.url.searchParams.get("tenant") ?? ""
        const section = ctx.url.searchParams.get("section") ?? ""
        const mode = ctx.url.searchParams.get("mode") === "test" ? "?mode=test" : ""
        if (!/^ten_[0-9A-Za-z]{16,40}$/u.test(tenant)) return kit.redirect(ctx, "/console/tenants")
        return kit.redirect(ctx, `/console/t/${tenant}${SECTION.test(section) && section !== "" ? `/${section}` : "/settings"}${mode}`)
      }))
      yield* signinRoutes(core, router)
      for (const add of pages) yield* add(kit)
      // a newcomer's first start: how to get in
      const operators = yield* (yield* Operators).list.pipe(Effect.orElseSucceed(() => [null]))
      if (operators.length === 0) {
        yield* Effect.logInfo(`operator console: ${core.publicUrl}/console — no operators yet: npx sesame operator add --email <your address> --role owner`)
      }
    }))))
