/**
 * The operator console (#14) under test in a real browser: the whole server on PGlite at a free port
 * whose origin is PUBLIC_URL (the console refuses changes from any other origin), sign-in codes in the
 * console tenant's test outbox (CONSOLE_SIGNIN_MODE=test), Debian's Chromium through playwright-core,
 * axe-core on every page, screenshots to test/artifacts/.
 */
import { existsSync, mkdirSync } from "node:fs"
import { createServer } from "node:http"
import { fileURLToPath } from "node:url"
import AxeBuilder from "@axe-core/playwright"
import { NodeHttpServer } from "@effect/platform-node"
import { Effect, Layer, ManagedRuntime } from "effect"
import { FetchHttpClient, HttpRouter } from "effect/http"
import { type Browser, type BrowserContext, chromium, type Page } from "playwright-core"
import { type Operator, Operators, type Role } from "../../src/console/Operators.ts"
import { ensureConsoleTenant } from "../../src/console/Setup.ts"
import { ApiRoutes } from "../../src/http/Server.ts"
import { servicesOn } from "../../src/Layers.ts"
import { TestOutbox } from "../../src/passwordless/TestOutbox.ts"
import { createTenantWithKeys } from "../../src/tenants/Bootstrap.ts"
import { pgliteLayer } from "./Db.ts"
import { freePort } from "./Processes.ts"
import { type TestConfig, testConfig } from "./Server.ts"

export const CHROMIUM = "/usr/bin/chromium"
export const hasChromium = existsSync(CHROMIUM)
export const artifacts = fileURLToPath(new URL("../artifacts/", import.meta.url))
export const docsConsole = fileURLToPath(new URL("../../docs/console/", import.meta.url))

const serverLayer = (port: number, options: TestConfig) =>
  HttpRouter.serve(ApiRoutes, { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(servicesOn(pgliteLayer)),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
    Layer.provide(testConfig({ ...options, publicUrl: `http://127.0.0.1:${port}`, console: { signinMode: "test", ...options.console } })),
    Layer.provideMerge(FetchHttpClient.layer)
  )

export type ConsoleRuntime = ManagedRuntime.ManagedRuntime<Layer.Success<ReturnType<typeof serverLayer>>, Layer.Error<ReturnType<typeof serverLayer>>>

export interface ConsoleHarness {
  /** The server's origin (= PUBLIC_URL). */
  readonly url: string
  readonly browser: Browser
  /** Runs an effect against the server's services (the same database). */
  readonly run: <A, E>(effect: Effect.Effect<A, E, ManagedRuntime.ManagedRuntime.Services<ConsoleRuntime>>) => Promise<A>
  /** An operator who may sign in (creates the console tenant on first use, as `sesame operator add` does). */
  readonly addOperator: (email: string, role: Role) => Promise<Operator>
  /** A tenant with a live and a test key (all scopes). */
  readonly addTenant: (name: string, allowRedirects?: ReadonlyArray<string>) => Promise<{ readonly id: string; readonly keys: { readonly live: string; readonly test: string } }>
  /** The newest sign-in code the console emailed `email` (read from the console tenant's test outbox). */
  readonly codeFor: (email: string) => Promise<string>
  /** A fresh browser context (its own cookies), signed in as `email` through the sign-in pages. */
  readonly signIn: (
    email: string,
    viewport?: { readonly width: number; readonly height: number },
    options?: { readonly colorScheme?: "light" | "dark" }
  ) => Promise<{ readonly context: BrowserContext; readonly page: Page }>
  readonly close: () => Promise<void>
}

export const startConsole = async (options: TestConfig = {}): Promise<ConsoleHarness> => {
  mkdirSync(artifacts, { recursive: true })
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const runtime: ConsoleRuntime = ManagedRuntime.make(serverLayer(port, options))
  const run: ConsoleHarness["run"] = (effect) => runtime.runPromise(effect)
  await run(Effect.void)
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
      "--disable-sync", "--no-first-run"]
  })
  const codeFor = async (email: string) => {
    for (let i = 0; i < 50; i++) {
      const messages = await run(Effect.gen(function* () {
        const tenantId = yield* ensureConsoleTenant(url)
        return yield* (yield* TestOutbox).list(tenantId, email, 1)
      }))
      const code = /\b([0-9]{6})\b/u.exec(messages[0]?.text ?? "")?.[1]
      if (code !== undefined) return code
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
    throw new Error(`no console sign-in code for ${email}`)
  }
  const signIn: ConsoleHarness["signIn"] = async (email, viewport = { width: 1280, height: 900 }, options = {}) => {
    const context = await browser.newContext({ viewport, colorScheme: options.colorScheme ?? "light" })
    const page = await context.newPage()
    await page.goto(`${url}/console/signin`)
    await page.getByLabel("Your email address").fill(email)
    await page.getByRole("button", { name: "Email me a sign-in code" }).click()
    await page.getByLabel("Sign-in code").waitFor()
    await page.getByLabel("Sign-in code").fill(await codeFor(email))
    await page.getByRole("button", { name: "Sign in" }).click()
    await page.waitForURL(`${url}/console`)
    return { context, page }
  }
  return {
    url,
    browser,
    run,
    addOperator: (email, role) => run(Effect.gen(function* () {
      yield* ensureConsoleTenant(url)
      return yield* (yield* Operators).add(email, role)
    })),
    addTenant: (name, allowRedirects = ["http://localhost/*"]) => run(Effect.map(createTenantWithKeys(name, allowRedirects), ({ tenant, keys }) => ({ id: tenant.id, keys }))),
    codeFor,
    signIn,
    close: async () => {
      await browser.close()
      await runtime.dispose()
    }
  }
}

/** axe-core (WCAG 2.x A/AA rules) on the page as it is: the serious and critical violations, described. */
export const seriousViolations = async (page: Page): Promise<ReadonlyArray<string>> => {
  // A sandboxed preview frame runs no script, so axe inside it would wait forever: the framed documents
  // are checked on their own URLs by the tests that show them.
  const result = await new AxeBuilder({ page }).exclude("iframe.preview").withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]).analyze()
  return result.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`)
}

/**
 * A screenshot to test/artifacts/console-<name>.png; with `docs`, also to docs/console/<name>.png when
 * that is missing or UPDATE_SCREENSHOTS=1 (so a test run leaves the committed ones alone).
 */
export const shoot = async (page: Page, name: string, docs = false): Promise<void> => {
  await page.screenshot({ path: `${artifacts}console-${name}.png`, fullPage: true })
  if (docs && (process.env["UPDATE_SCREENSHOTS"] === "1" || !existsSync(`${docsConsole}${name}.png`))) {
    mkdirSync(docsConsole, { recursive: true })
    await page.screenshot({ path: `${docsConsole}${name}.png`, fullPage: false })
  }
}
