/**
 * The hosted link page in a real browser: Debian's Chromium (`/usr/bin/chromium`, installed by
 * .ci/run; never a downloaded browser) driven by playwright-core. The link comes out of a real email
 * (SMTP sink); "Continue" lands on a local test app, whose backend trades the code for the session.
 * Screenshots of every page state go to test/artifacts/.
 */
import { createServer, type Server } from "node:http"
import { existsSync, mkdirSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { NodeHttpServer } from "@effect/platform-node"
import { assert, describe, it as plainIt, layer } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { FetchHttpClient, HttpClient, HttpClientRequest, HttpRouter } from "effect/http"
import { HttpApiClient } from "effect/http-api"
import { SqlClient } from "effect/sql"
import { type Browser, chromium } from "playwright-core"
import { afterAll, beforeAll } from "vitest"
import { Api } from "../../src/api/Api.ts"
import { ApiRoutes } from "../../src/http/Server.ts"
import { servicesOn } from "../../src/Layers.ts"
import { createTenantWithKeys } from "../../src/tenants/Bootstrap.ts"
import { pgliteLayer } from "../support/Db.ts"
import { freePort, partOf, type SmtpSink, startSmtpSink } from "../support/Processes.ts"
import { testConfig } from "../support/Server.ts"

const CHROMIUM = "/usr/bin/chromium"
const artifacts = fileURLToPath(new URL("../artifacts/", import.meta.url))
const docs = fileURLToPath(new URL("../../docs/", import.meta.url))

const [port, appPort, smtpPort] = [await freePort(), await freePort(), await freePort()]
const publicUrl = `http://127.0.0.1:${port}`
const appUrl = `http://localhost:${appPort}`

let browser: Browser | undefined
let sink: SmtpSink | undefined
let app: Server | undefined
/** The test app's backend key, set once the tenant exists. */
let appKey = ""

/** A minimal customer app: its callback trades `code` for the verify response, server to server. */
const startApp = () =>
  new Promise<Server>((resolve) => {
    const server = createServer(async (req, res) => {
      const url = new URL(req.url ?? "/", appUrl)
      const code = url.searchParams.get("code")
      if (url.pathname !== "/callback" || code === null) {
        res.writeHead(200, { "content-type": "text/html" }).end("<h1>Test app home</h1>")
        return
      }
      const answer = await fetch(`${publicUrl}/v1/passwordless/exchange`, {
        method: "POST",
        headers: { authorization: `Bearer ${appKey}`, "content-type": "application/json" },
        body: JSON.stringify({ code })
      })
      const body = await answer.json() as { user?: { email?: string }; code?: string }
      res.writeHead(200, { "content-type": "text/html" }).end(answer.ok
        ? `<h1 id="result">Signed in as ${body.user?.email}</h1><p id="state">${url.searchParams.get("state")}</p>`
        : `<h1 id="result">Exchange failed: ${body.code}</h1>`)
    })
    server.listen(appPort, "127.0.0.1", () => resolve(server))
  })

const serverUnderTest = HttpRouter.serve(ApiRoutes, { disableLogger: true, disableListenLog: true }).pipe(
  Layer.provideMerge(servicesOn(pgliteLayer)),
  Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
  Layer.provide(testConfig({ smtpUrl: `smtp://127.0.0.1:${smtpPort}`, publicUrl })),
  Layer.provideMerge(FetchHttpClient.layer)
)

const linkIn = (raw: string): string => {
  const text = (partOf(raw, "text/plain") ?? raw).replace(/=\r?\n/g, "")
  return new RegExp(`${publicUrl.replace(/\./g, "\\.")}/l/[A-Za-z0-9_-]{20,}`).exec(text)?.[0] ?? ""
}

const fixture = Effect.gen(function* () {
  const { keys } = yield* createTenantWithKeys("Acme Notes", ["http://localhost/*"])
  appKey = keys.live
  const client = yield* HttpApiClient.make(Api, {
    baseUrl: publicUrl,
    transformClient: HttpClient.mapRequest(HttpClientRequest.bearerToken(keys.live))
  })
  yield* client.tenant.update({ payload: { settings: { primaryColor: "#0E7C66" } } })
  return client
})

/** Sends a LINK with the live key and returns the hosted link read out of the email that arrived. */
const mailedLink = (client: Effect.Success<typeof fixture>, email: string) =>
  Effect.gen(function* () {
    const sent = yield* client.passwordless.send({
      payload: { email, type: "LINK", redirectUrl: `${appUrl}/callback`, state: "state-123" }
    })
    const mail = yield* Effect.promise(() => (sink as SmtpSink).waitFor(email, 10_000))
    return { sent, link: linkIn(mail.raw) }
  })

const withPage = <A>(f: (page: import("playwright-core").Page, cspErrors: Array<string>) => Promise<A>) =>
  Effect.promise(async () => {
    const context = await (browser as Browser).newContext({ viewport: { width: 800, height: 640 } })
    const page = await context.newPage()
    const cspErrors: Array<string> = []
    page.on("console", (m) => {
      if (m.type() === "error" && /Content.Security.Policy/i.test(m.text())) cspErrors.push(m.text())
    })
    try {
      return await f(page, cspErrors)
    } finally {
      await context.close()
    }
  })

if (!existsSync(CHROMIUM)) {
  describe("hosted link page in Chromium", () => {
    plainIt.skip(`skipped: ${CHROMIUM} is missing (apt-get install -y chromium; .ci/run installs it)`, () => {})
  })
} else {
  beforeAll(async () => {
    mkdirSync(artifacts, { recursive: true })
    mkdirSync(docs, { recursive: true })
    sink = await startSmtpSink(smtpPort)
    app = await startApp()
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
        "--disable-sync", "--no-first-run"]
    })
  })
  afterAll(async () => {
    await browser?.close()
    await sink?.close()
    await new Promise((resolve) => app === undefined ? resolve(undefined) : app.close(resolve))
  })

  layer(serverUnderTest, { timeout: 90_000, excludeTestServices: true })("hosted link page in Chromium", (it) => {
    it.effect("email → page → Continue → the app gets code and state and exchanges it; a scanner's GET harms nothing", () =>
      Effect.gen(function* () {
        const client = yield* fixture
        const { sent, link } = yield* mailedLink(client, "jane.doe@example.com")
        assert.match(link, /\/l\//, "no hosted link in the email")
        // a mail scanner opens the link without clicking
        const scanned = yield* Effect.promise(() => fetch(link))
        assert.strictEqual(scanned.status, 200)
        const result = yield* withPage(async (page, cspErrors) => {
          await page.goto(link)
          const heading = await page.textContent("h1")
          const who = await page.textContent("p strong")
          const buttonColour = await page.$eval("button", (b) => (globalThis as unknown as { getComputedStyle: (e: unknown) => { backgroundColor: string } }).getComputedStyle(b).backgroundColor)
          await page.screenshot({ path: `${artifacts}linkpage-ready.png` })
          // the README's picture: written when missing, so test runs leave the repository clean
          if (!existsSync(`${docs}hosted-link-page.png`)) await page.screenshot({ path: `${docs}hosted-link-page.png` })
          await Promise.all([page.waitForURL(`${appUrl}/callback**`), page.click("button")])
          const landed = new URL(page.url())
          const signedIn = await page.textContent("#result")
          await page.screenshot({ path: `${artifacts}linkpage-app-signed-in.png` })
          return { heading, who, buttonColour, landed, signedIn, cspErrors }
        })
        assert.strictEqual(result.heading, "Continue signing in to Acme Notes")
        assert.strictEqual(result.who, "j•••@example.com")
        assert.strictEqual(result.buttonColour, "rgb(14, 124, 102)", "the hashed inline style applied under the CSP")
        assert.deepStrictEqual(result.cspErrors, [])
        assert.strictEqual(result.landed.searchParams.get("state"), "state-123")
        assert.match(result.landed.searchParams.get("code") ?? "", /^[A-Za-z0-9_-]{43}$/)
        assert.strictEqual(result.signedIn, "Signed in as jane.doe@example.com")
        const status = yield* client.passwordless.status({ params: { authRequestId: sent.authRequestId } })
        assert.strictEqual(status.status, "verified")

        // the same link again: the "already used" page, with a way back to the app
        const used = yield* withPage(async (page) => {
          const response = await page.goto(link)
          await page.screenshot({ path: `${artifacts}linkpage-used.png` })
          return { status: response?.status(), heading: await page.textContent("h1"), back: await page.getAttribute("a.button", "href") }
        })
        assert.strictEqual(used.status, 410)
        assert.strictEqual(used.heading, "This link was already used")
        assert.strictEqual(used.back, `${appUrl}/`)
      }))

    it.effect("an expired link shows the expired page; pressing Continue on a stale page is refused", () =>
      Effect.gen(function* () {
        const client = yield* fixture
        const sql = yield* SqlClient.SqlClient
        const { sent, link } = yield* mailedLink(client, "late@example.com")
        const result = yield* withPage(async (page) => {
          await page.goto(link)
          await Effect.runPromise(sql`UPDATE auth_requests SET expires_at = now() - interval '1 second' WHERE id = ${sent.authRequestId}`)
          await page.click("button")
          const afterClick = await page.textContent("h1")
          await page.goto(link)
          await page.screenshot({ path: `${artifacts}linkpage-expired.png` })
          return { afterClick, heading: await page.textContent("h1") }
        })
        assert.strictEqual(result.afterClick, "This link has expired")
        assert.strictEqual(result.heading, "This link has expired")
      }))

    it.effect("French locale and an unknown link", () =>
      Effect.gen(function* () {
        const client = yield* fixture
        const sent = yield* client.passwordless.send({
          payload: { email: "marie@example.fr", type: "LINK", redirectUrl: `${appUrl}/callback`, locale: "fr-CA" }
        })
        const mail = yield* Effect.promise(() => (sink as SmtpSink).waitFor("marie@example.fr", 10_000))
        const result = yield* withPage(async (page) => {
          await page.goto(linkIn(mail.raw))
          const heading = await page.textContent("h1")
          const lang = await page.getAttribute("html", "lang")
          await page.screenshot({ path: `${artifacts}linkpage-ready-fr.png` })
          const unknown = await page.goto(`${publicUrl}/l/${"x".repeat(43)}`)
          await page.screenshot({ path: `${artifacts}linkpage-unknown.png` })
          return { heading, lang, unknown: unknown?.status() }
        })
        assert.isDefined(sent.authRequestId)
        assert.strictEqual(result.heading, "Continuer la connexion à Acme Notes")
        assert.strictEqual(result.lang, "fr")
        assert.strictEqual(result.unknown, 404)
      }))
  })
}
