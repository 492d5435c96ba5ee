/**
 * `GET /docs` (issue 13, item 9): the API reference rendered by Effect's Scalar integration from the
 * same HttpApi, in a real browser (Debian's Chromium through playwright-core). Its strict CSP (hashes
 * of its two inline scripts, no CDN) must let the page run: no CSP violation, the contract's own
 * endpoints are on screen. A screenshot goes to test/artifacts/docs.png.
 */
import { existsSync, mkdirSync } from "node:fs"
import { gunzipSync } from "node:zlib"
import { fileURLToPath } from "node:url"
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { chromium } from "playwright-core"
import { pgliteLayer } from "../support/Db.ts"
import { baseUrl, serverLayer } from "../support/Server.ts"

const CHROMIUM = "/usr/bin/chromium"
const artifacts = fileURLToPath(new URL("../artifacts/", import.meta.url))

describe.skipIf(!existsSync(CHROMIUM))("the API reference at /docs", () => {
  layer(serverLayer(pgliteLayer), { timeout: 120_000, excludeTestServices: true })("/docs", (it) => {
    it.effect("headers: strict CSP with script hashes, gzip when asked, nothing else on other routes", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const plain = yield* Effect.promise(() => fetch(`${url}/docs`, { headers: { "accept-encoding": "identity" } }))
        assert.strictEqual(plain.status, 200)
        const csp = plain.headers.get("content-security-policy") ?? ""
        assert.match(csp, /^default-src 'none'; script-src 'sha256-[A-Za-z0-9+/=]{44}' 'sha256-[A-Za-z0-9+/=]{44}';/u)
        assert.include(csp, "frame-ancestors 'none'")
        assert.notInclude(csp, "unsafe-eval")
        assert.notMatch(csp, /script-src[^;]*unsafe-inline/u)
        const html = yield* Effect.promise(() => plain.text())
        assert.notMatch(html, /<script[^>]+src=/u) // Scalar is inline, loaded from no CDN
        assert.include(html, "/v1/passwordless/send")
        // raw bytes as sent: fetch would decode a gzip body itself
        const { gzip, encoding } = yield* Effect.promise(async () => {
          const { request } = await import("node:http")
          return new Promise<{ gzip: Buffer; encoding: string | undefined }>((resolve, reject) => {
            request(`${url}/docs`, { headers: { "accept-encoding": "gzip" } }, (res) => {
              const chunks: Array<Buffer> = []
              res.on("data", (c: Buffer) => chunks.push(c))
              res.on("end", () => resolve({ gzip: Buffer.concat(chunks), encoding: res.headers["content-encoding"] }))
            }).on("error", reject).end()
          })
        })
        assert.strictEqual(encoding, "gzip")
        assert.isBelow(gzip.length, html.length / 2)
        assert.strictEqual(gunzipSync(gzip).toString("utf8"), html)
        const openapi = yield* Effect.promise(() => fetch(`${url}/openapi.json`))
        assert.isNull(openapi.headers.get("content-security-policy"))
      }))

    it.effect("Chromium renders the reference under its CSP, with the contract's endpoints", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const browser = yield* Effect.acquireRelease(
          Effect.promise(() =>
            chromium.launch({
              executablePath: CHROMIUM,
              args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync"]
            })),
          (b) => Effect.promise(() => b.close())
        )
        const result = yield* Effect.promise(async () => {
          const page = await browser.newPage({ viewport: { width: 1280, height: 900 } })
          const violations: Array<string> = []
          const errors: Array<string> = []
          page.on("console", (message) => {
            if (message.type() === "error") errors.push(message.text())
            if (/Content.Security.Policy/iu.test(message.text())) violations.push(message.text())
          })
          page.on("pageerror", (error) => errors.push(error.message))
          const response = await page.goto(`${url}/docs`, { waitUntil: "load" })
          await page.getByText("/v1/passwordless/send").first().waitFor({ timeout: 30_000 })
          mkdirSync(artifacts, { recursive: true })
          await page.screenshot({ path: `${artifacts}docs.png` })
          const title = await page.title()
          return { status: response?.status(), violations, errors, title }
        })
        assert.strictEqual(result.status, 200)
        assert.strictEqual(result.title, "Sesame")
        assert.deepStrictEqual(result.violations, [])
        assert.deepStrictEqual(result.errors.filter((e) => /Content.Security|Refused/iu.test(e)), [])
      }).pipe(Effect.scoped))
  })
})
