/**
 * The console's branding pages (#14) in Chromium: the brand form with its live previews (email, SMS,
 * hosted page) with and without script, per locale, saved through TenantAdmin (as PATCH /v1/tenant);
 * the API's validation message beside the field; the stored-template editor and its preview; a
 * viewer refused.
 */
import AxeBuilder from "@axe-core/playwright"
import { Effect } from "effect"
import type { BrowserContext, Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { AllScopes, ApiKeyId, type Mode, TenantId } from "../../src/domain/Ids.ts"
import { TenantAdmin } from "../../src/tenants/TenantAdmin.ts"
import { type ConsoleHarness, hasChromium, seriousViolations, shoot, startConsole } from "../support/Console.ts"

describe.skipIf(!hasChromium)("console branding", () => {
  let h: ConsoleHarness
  let tenant: { readonly id: string; readonly keys: { readonly live: string; readonly test: string } }
  let owner: { readonly context: BrowserContext; readonly page: Page }
  beforeAll(async () => {
    h = await startConsole()
    await h.addOperator("owner@example.com", "owner")
    await h.addOperator("viewer@example.com", "viewer")
    tenant = await h.addTenant("Acme")
    owner = await h.signIn("owner@example.com")
  }, 60_000)
  afterAll(async () => h?.close())

  const settingsOf = (mode: Mode) => h.run(Effect.gen(function* () {
    const view = yield* (yield* TenantAdmin).get({ keyId: ApiKeyId.make("key_brandingtest00000"), tenantId: TenantId.make(tenant.id), mode, scopes: AllScopes })
    return view.settings
  }))
  const api = async (method: string, key: string, body?: unknown) => {
    const response = await fetch(`${h.url}/v1/tenant`, {
      method,
      headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return { status: response.status, body: await response.json() as { settings?: Record<string, unknown>; message?: string } }
  }
  /**
   * axe on the console page, leaving out the preview frames: their documents are CSP-sandboxed without
   * script, where axe's asynchronous run never completes. Each framed document is checked on its own
   * below (`framedViolations`), loaded without the sandbox.
   */
  const noViolations = async (page: Page) => {
    const result = await new AxeBuilder({ page }).exclude("iframe.preview")
      .withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"]).analyze()
    const serious = result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`)
    assert.deepStrictEqual(serious, [])
  }
  /** axe on the documents the page's preview frames show, each opened as a page of its own. */
  const framedViolations = async (context: BrowserContext, page: Page) => {
    const frames = page.locator("iframe.preview")
    for (let i = 0; i < await frames.count(); i++) {
      const src = `${h.url}${await frames.nth(i).getAttribute("src")}`
      const response = await context.request.get(src)
      assert.strictEqual(response.status(), 200)
      const csp = response.headers()["content-security-policy"] ?? ""
      assert.match(csp, /; sandbox; frame-ancestors 'self'$/)
      assert.notInclude(csp, "frame-ancestors 'none'")
      // the hosted page keeps its own CSP: its one inline style by hash
      if (src.includes("/preview/page")) assert.match(csp, /style-src 'sha256-[A-Za-z0-9+/=]+'/)
      const framed = await context.newPage()
      await framed.setContent(await response.text())
      assert.deepStrictEqual(await seriousViolations(framed), [], src)
      await framed.close()
    }
  }
  const email = (page: Page) => page.frameLocator('iframe[title="Email preview"]')
  const hosted = (page: Page) => page.frameLocator('iframe[title="Hosted page preview"]')

  it("previews the draft as the operator types, per language, and saves it through TenantAdmin", async () => {
    const { context, page } = owner
    await page.goto(`${h.url}/console/t/${tenant.id}/branding`)
    assert.strictEqual(await page.getByRole("heading", { level: 1 }).textContent(), "Branding")
    await email(page).getByRole("heading", { name: "Sign in to Acme" }).waitFor()
    await hosted(page).getByRole("heading", { name: "Continue signing in to Acme" }).waitFor()
    assert.include(await page.locator(".sms-bubble").textContent(), "Your Acme code is 123456")
    await noViolations(page)

    await page.getByLabel("App name").fill("Rocket Shop")
    await page.getByLabel("Primary colour", { exact: true }).fill("#0f766e")
    await email(page).getByRole("heading", { name: "Sign in to Rocket Shop" }).waitFor()
    await email(page).locator('td[bgcolor="#0f766e"]').waitFor()
    await hosted(page).getByRole("heading", { name: "Continue signing in to Rocket Shop" }).waitFor()
    assert.include(await hosted(page).locator("style").textContent(), "background:#0f766e")
    await page.locator(".sms-bubble", { hasText: "Your Rocket Shop code is 123456" }).waitFor()
    assert.strictEqual(await page.locator("#preview-subject").textContent(), "Sign in to Rocket Shop")
    assert.include(await page.locator("#preview-note").textContent(), "A draft: nothing is saved")

    await page.getByLabel("Language").selectOption("fr")
    await email(page).getByRole("heading", { name: "Connexion à Rocket Shop" }).waitFor()
    await hosted(page).getByRole("heading", { name: "Continuer la connexion à Rocket Shop" }).waitFor()
    await page.locator(".sms-bubble", { hasText: "Votre code Rocket Shop est 123456" }).waitFor()
    await noViolations(page)
    await framedViolations(context, page)
    await shoot(page, "branding", true)

    // Nothing is saved by previewing.
    assert.isUndefined((await settingsOf("live")).appName)

    await page.getByRole("button", { name: "Save branding" }).click()
    await page.getByText("Branding saved.").waitFor()
    assert.strictEqual(await page.getByLabel("App name").inputValue(), "Rocket Shop")
    assert.strictEqual(await page.getByLabel("Language").inputValue(), "fr")
    await noViolations(page)
    const live = await settingsOf("live")
    assert.strictEqual(live.appName, "Rocket Shop")
    assert.strictEqual(live.primaryColor, "#0f766e")
    const viaApi = await api("GET", tenant.keys.live)
    assert.strictEqual(viaApi.body.settings?.["appName"], "Rocket Shop")
    // Live and test keep separate settings.
    assert.isUndefined((await settingsOf("test")).appName)
  }, 60_000)

  it("previews without script through the Preview button, and saves in test mode only there", async () => {
    const context = await h.browser.newContext({ javaScriptEnabled: false, viewport: { width: 1280, height: 900 } })
    await context.addCookies(await owner.context.cookies())
    const page = await context.newPage()
    await page.goto(`${h.url}/console/t/${tenant.id}/branding?mode=test`)
    await page.getByLabel("App name").fill("Rocket Test")
    await page.getByLabel("Language").selectOption("de")
    await page.getByRole("button", { name: "Preview" }).click()
    await page.waitForURL(/appName=Rocket\+Test/)
    assert.include(page.url(), "mode=test")
    assert.strictEqual(await page.getByLabel("App name").inputValue(), "Rocket Test")
    assert.include(await page.locator("#preview-note").textContent(), "A draft: nothing is saved")
    await email(page).getByRole("heading", { name: "Bei Rocket Test anmelden" }).waitFor()
    await hosted(page).getByRole("heading", { name: "Anmeldung bei Rocket Test fortsetzen" }).waitFor()
    assert.include(await page.locator(".sms-bubble").textContent(), "Ihr Rocket Test-Code lautet 123456")
    // axe needs script: the same page state (the draft is all in the URL) in the owner's scripted browser
    await owner.page.goto(page.url())
    await noViolations(owner.page)
    assert.isUndefined((await settingsOf("test")).appName)

    await page.getByRole("button", { name: "Save branding" }).click()
    await page.getByText("Branding saved.").waitFor()
    assert.strictEqual((await settingsOf("test")).appName, "Rocket Test")
    assert.strictEqual((await settingsOf("live")).appName, "Rocket Shop")
    await context.close()
  }, 60_000)

  it("shows the API's message beside an invalid colour and keeps what was typed", async () => {
    const { page } = owner
    await page.goto(`${h.url}/console/t/${tenant.id}/branding`)
    await page.getByLabel("App name").fill("Rocket Renamed")
    await page.getByLabel("Primary colour", { exact: true }).fill("#12345")
    await page.getByRole("button", { name: "Save branding" }).click()
    const field = page.getByLabel("Primary colour", { exact: true })
    await page.locator("#primaryColor-error").waitFor()
    assert.strictEqual(await field.getAttribute("aria-invalid"), "true")
    assert.include(await field.getAttribute("aria-describedby"), "primaryColor-error")
    assert.strictEqual(await field.inputValue(), "#12345")
    assert.strictEqual(await page.getByLabel("App name").inputValue(), "Rocket Renamed")
    const refused = await api("PATCH", tenant.keys.live, { settings: { primaryColor: "#12345" } })
    assert.strictEqual(refused.status, 400)
    assert.strictEqual(await page.locator("#primaryColor-error").textContent(), refused.body.message)
    assert.include(await page.locator("#preview-note").textContent(), "primary colour")
    await noViolations(page)
    const live = await settingsOf("live")
    assert.strictEqual(live.appName, "Rocket Shop")
    assert.strictEqual(live.primaryColor, "#0f766e")
  }, 60_000)

  it("edits a stored template, previews the draft, shows the API's message beside a refused part and saves it", async () => {
    const { context, page } = owner
    await page.goto(`${h.url}/console/t/${tenant.id}/branding/templates`)
    assert.strictEqual(await page.getByRole("heading", { level: 1 }).textContent(), "Stored templates")
    await page.getByText("None: every message uses the built-in texts.").waitFor()
    const sheet = page.frameLocator('iframe[title="Template preview"]')
    await sheet.frameLocator("iframe").getByRole("heading", { name: "Sign in to Rocket Shop" }).waitFor()
    await noViolations(page)
    await framedViolations(context, page)

    await page.getByLabel("Message").selectOption("SIGNIN")
    await page.getByLabel("Language tag").fill("fr")
    await page.getByLabel("Subject").fill("Bienvenue chez {{appName}}")
    await page.getByLabel("HTML body").fill("<p>Bonjour de {{appName}}</p>")
    await page.getByLabel("Plain-text body").fill("Votre code : {{code}}")
    await page.getByLabel("SMS text").fill("{{code}} est votre code {{appName}}")
    await page.getByRole("button", { name: "Preview" }).click()
    await sheet.getByText("Saving would be refused: html: must contain {{code}} or {{link}}").waitFor()

    await page.getByRole("button", { name: "Save template" }).click()
    const html = page.getByLabel("HTML body")
    await page.locator("#html-error").waitFor()
    assert.strictEqual(await html.getAttribute("aria-invalid"), "true")
    assert.strictEqual(await html.inputValue(), "<p>Bonjour de {{appName}}</p>")
    const refused = await api("PATCH", tenant.keys.live, { settings: { templates: [{ template: "SIGNIN", locale: "fr", html: "<p>Bonjour de {{appName}}</p>", text: "Votre code : {{code}}" }] } })
    assert.strictEqual(refused.status, 400)
    assert.strictEqual(await page.locator("#html-error").textContent(), refused.body.message)
    await noViolations(page)
    assert.isUndefined((await settingsOf("live")).templates)

    await html.fill("<p>Bonjour de {{appName}} : {{code}}</p>")
    await page.getByRole("button", { name: "Preview" }).click()
    await sheet.getByRole("heading", { name: "Sign-in · fr · Link and code" }).waitFor()
    await sheet.frameLocator("iframe").getByText("Bonjour de Rocket Shop : 123456").waitFor()
    await sheet.getByText("123456 est votre code Rocket Shop").waitFor()
    assert.strictEqual(await sheet.locator("dd").first().textContent(), "Bienvenue chez Rocket Shop")
    assert.isUndefined((await settingsOf("live")).templates)

    await page.getByRole("button", { name: "Save template" }).click()
    await page.getByText("The sign-in template for fr was saved.").waitFor()
    await page.getByRole("cell", { name: "Bienvenue chez {{appName}}" }).waitFor()
    await noViolations(page)
    await framedViolations(context, page)
    await shoot(page, "branding-templates", true)
    assert.deepStrictEqual((await settingsOf("live")).templates, [{
      template: "SIGNIN", locale: "fr", subject: "Bienvenue chez {{appName}}", html: "<p>Bonjour de {{appName}} : {{code}}</p>",
      text: "Votre code : {{code}}", sms: "{{code}} est votre code {{appName}}"
    }])

    // The brand page's French preview is now the message as sent: the stored template's parts.
    await page.goto(`${h.url}/console/t/${tenant.id}/branding?locale=fr`)
    await email(page).getByText("Bonjour de Rocket Shop : 123456").waitFor()
    assert.strictEqual(await page.locator("#preview-subject").textContent(), "Bienvenue chez Rocket Shop")
    assert.strictEqual(await page.locator(".sms-bubble").textContent(), "123456 est votre code Rocket Shop")
    assert.include(await page.locator("#preview-note").textContent(), "stored sign-in template")
  }, 60_000)

  it("refuses a viewer's changes (403) and changes nothing, while letting them preview", async () => {
    const { context, page } = await h.signIn("viewer@example.com")
    await page.goto(`${h.url}/console/t/${tenant.id}/branding`)
    assert.strictEqual(await page.getByRole("button", { name: "Save branding" }).count(), 0)
    await page.getByText("Your role (viewer) may preview; saving needs admin.").waitFor()
    await noViolations(page)
    const csrf = await page.locator("#branding-form input[name=csrf]").inputValue()
    const post = (path: string, form: Record<string, string>) =>
      context.request.post(`${h.url}/console/t/${tenant.id}/${path}`, { form: { csrf, mode: "live", ...form }, headers: { origin: h.url }, maxRedirects: 0 })
    const preview = await post("branding/preview", { appName: "Viewer Draft", primaryColor: "", logoUrl: "", senderName: "", replyTo: "", locale: "en" })
    assert.strictEqual(preview.status(), 303)
    assert.include(preview.headers()["location"], "appName=Viewer+Draft")
    const save = await post("branding", { appName: "Hacked", primaryColor: "#000000", logoUrl: "", senderName: "", replyTo: "" })
    assert.strictEqual(save.status(), 403)
    assert.include(await save.text(), "Your role (viewer) cannot make this change; it needs admin.")
    const template = await post("branding/templates", { template: "SIGNUP", locale: "de", sms: "{{code}}" })
    assert.strictEqual(template.status(), 403)
    const remove = await post("branding/templates/delete", { template: "SIGNIN", locale: "fr" })
    assert.strictEqual(remove.status(), 403)
    const live = await settingsOf("live")
    assert.strictEqual(live.appName, "Rocket Shop")
    assert.strictEqual(live.primaryColor, "#0f766e")
    assert.lengthOf(live.templates ?? [], 1)
    await context.close()

    // An admin may remove it.
    await owner.page.goto(`${h.url}/console/t/${tenant.id}/branding/templates`)
    owner.page.once("dialog", (dialog) => void dialog.accept())
    await owner.page.getByRole("button", { name: "Remove SIGNIN fr" }).click()
    await owner.page.getByText("The sign-in template for fr was removed.").waitFor()
    assert.deepStrictEqual((await settingsOf("live")).templates, [])
  }, 60_000)
})
