/**
 * The console's tenants and settings pages (#14) in Chromium: an owner creates a tenant (its keys shown
 * once, and working), changes its live settings through the form with the API's validation, edits the
 * redirect allowlist, finds the test settings apart; a viewer's changes are refused (403).
 */
import type { Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { Audit } from "../../src/audit/Audit.ts"
import { TenantId } from "../../src/domain/Ids.ts"
import { Tenants } from "../../src/tenants/Tenants.ts"
import { type ConsoleHarness, hasChromium, seriousViolations, shoot, startConsole } from "../support/Console.ts"

interface TenantBody {
  readonly id: string
  readonly name: string
  readonly mode: string
  readonly settings: Record<string, unknown> & { readonly channels?: Record<string, unknown>; readonly limits?: Record<string, unknown> }
}

describe.skipIf(!hasChromium)("console tenants and settings", () => {
  let h: ConsoleHarness
  beforeAll(async () => {
    h = await startConsole()
    await h.addOperator("owner@example.com", "owner")
    await h.addOperator("viewer@example.com", "viewer")
  }, 60_000)
  afterAll(async () => h?.close())

  const tenantWith = async (key: string): Promise<TenantBody> => {
    const response = await fetch(`${h.url}/v1/tenant`, { headers: { authorization: `Bearer ${key}` } })
    assert.strictEqual(response.status, 200)
    return await response.json() as TenantBody
  }
  const noViolations = async (page: Page) => assert.deepStrictEqual(await seriousViolations(page), [])
  const postStatus = (page: Page, path: string) =>
    page.waitForResponse((r) => r.request().method() === "POST" && new URL(r.url()).pathname === path).then((r) => r.status())

  let tenantId = ""
  let keys = { live: "", test: "" }

  it("creates a tenant through the form and shows its working keys once", async () => {
    const { context, page } = await h.signIn("owner@example.com")
    await page.getByRole("link", { name: "Tenants", exact: true }).click()
    await page.waitForURL(`${h.url}/console/tenants`)
    assert.include(await page.locator("table").textContent(), "console sign-in")
    await noViolations(page)
    await shoot(page, "tenants", true)

    // an invalid allowlist entry: the form again, the message beside the field, what was typed kept
    await page.getByLabel("Name", { exact: true }).fill("Acme")
    await page.getByLabel("Redirect allowlist (optional)").fill("https://app.example.com/auth/*\njavascript:alert(1)")
    const refused = postStatus(page, "/console/tenants")
    await page.getByRole("button", { name: "Create tenant" }).click()
    assert.strictEqual(await refused, 400)
    assert.strictEqual(await page.locator("#tenant-redirects").getAttribute("aria-invalid"), "true")
    assert.include(await page.locator("#tenant-redirects-error").textContent(), "not a valid redirect allowlist entry: javascript:alert(1)")
    assert.strictEqual(await page.locator("#tenant-name").inputValue(), "Acme")
    await noViolations(page)
    await shoot(page, "tenants-error")
    const before = await h.run(Tenants.use((t) => t.count))

    await page.getByLabel("Redirect allowlist (optional)").fill("https://app.example.com/auth/*\n")
    const created = postStatus(page, "/console/tenants")
    await page.getByRole("button", { name: "Create tenant" }).click()
    assert.strictEqual(await created, 201)
    await page.getByRole("heading", { name: "Tenant created" }).waitFor()
    assert.include(await page.textContent("main"), "shown only once")
    keys = { live: (await page.locator("#live-key").textContent()) ?? "", test: (await page.locator("#test-key").textContent()) ?? "" }
    assert.match(keys.live, /^sk_live_/)
    assert.match(keys.test, /^sk_test_/)
    assert.isTrue(await page.locator('button[data-copy="#live-key"]').isVisible())
    await noViolations(page)
    await shoot(page, "tenant-created")

    // the keys work, and the tenant exists with the allowlist, in both modes
    const live = await tenantWith(keys.live)
    tenantId = live.id
    assert.strictEqual(live.name, "Acme")
    assert.deepStrictEqual(live.settings.redirectAllowlist, ["https://app.example.com/auth/*"])
    assert.strictEqual((await tenantWith(keys.test)).mode, "test")
    assert.strictEqual(await h.run(Tenants.use((t) => t.count)), before + 1)
    const tenant = await h.run(Tenants.use((t) => t.get(TenantId.make(tenantId))))
    assert.strictEqual(tenant.name, "Acme")
    const events = await h.run(Audit.use((a) => a.list(tenant.id, "live", { limit: 10, before: undefined })))
    const audit = events.find((e) => e.type === "tenant.created")
    assert.strictEqual(audit?.actor, "operator:owner@example.com")
    assert.deepStrictEqual(audit?.details, { name: "Acme" })
    assert.notInclude(JSON.stringify(events), keys.live)

    // settings: an out-of-range value gets the API's message beside that field, and changes nothing
    await page.getByRole("link", { name: "Open the tenant's settings" }).click()
    await page.waitForURL(`${h.url}/console/t/${tenantId}/settings`)
    await noViolations(page)
    await shoot(page, "settings", true)
    await page.locator("#s-otpTtlSeconds").fill("5")
    const invalid = postStatus(page, `/console/t/${tenantId}/settings`)
    await page.getByRole("button", { name: "Save live settings" }).click()
    assert.strictEqual(await invalid, 400)
    assert.strictEqual(await page.locator("#s-otpTtlSeconds").getAttribute("aria-invalid"), "true")
    assert.include(await page.locator("#s-otpTtlSeconds").getAttribute("aria-describedby"), "s-otpTtlSeconds-error")
    assert.strictEqual(await page.locator("#s-otpTtlSeconds-error").textContent(), "settings.otpTtlSeconds: Expected a value between 60 and 900")
    assert.strictEqual(await page.locator("#s-otpTtlSeconds").inputValue(), "5")
    await noViolations(page)
    await page.locator("#s-otpTtlSeconds").scrollIntoViewIfNeeded()
    await shoot(page, "settings-error", true)
    assert.isUndefined((await tenantWith(keys.live)).settings.otpTtlSeconds)

    // a valid change: saved through TenantAdmin, exactly the fields changed
    await page.locator("#s-otpTtlSeconds").fill("600")
    await page.getByLabel("SMS sign-in").uncheck()
    await page.getByLabel("Sends per end-user IP").fill("100")
    await page.getByLabel("Link mode").selectOption("direct")
    await page.getByLabel("Tenant name").fill("Acme Corp")
    await page.getByRole("button", { name: "Save live settings" }).click()
    await page.getByText("Settings saved").waitFor()
    assert.strictEqual(await page.locator("#s-otpTtlSeconds").inputValue(), "600")
    assert.include(await page.locator("#s-otpTtlSeconds-hint").textContent(), "Empty: the default, 300 (5 minutes).")
    assert.isFalse(await page.getByLabel("SMS sign-in").isChecked())
    assert.include(await page.locator("#s-channels-sms-hint").textContent(), "Default: on.")
    const saved = await tenantWith(keys.live)
    assert.strictEqual(saved.name, "Acme Corp")
    assert.deepStrictEqual(saved.settings, {
      redirectAllowlist: ["https://app.example.com/auth/*"],
      otpTtlSeconds: 600,
      channels: { sms: false },
      limits: { sendPerIpHour: 100 },
      linkMode: "direct"
    })
    const changes = await h.run(Audit.use((a) => a.list(tenant.id, "live", { limit: 10, before: undefined })))
    assert.strictEqual(changes.find((e) => e.type === "tenant.updated")?.actor, "operator:owner@example.com")
    await noViolations(page)

    // the redirect allowlist: add, refuse an invalid entry beside the field, remove
    await page.getByLabel("New entry").fill("https://app.example.com/callback")
    await page.getByRole("button", { name: "Add entry" }).click()
    await page.getByText("Added https://app.example.com/callback to the allowlist").waitFor()
    await page.getByLabel("New entry").fill("http://app.example.com/callback")
    const bad = postStatus(page, `/console/t/${tenantId}/settings/redirects`)
    await page.getByRole("button", { name: "Add entry" }).click()
    assert.strictEqual(await bad, 400)
    assert.strictEqual(await page.locator("#redirect-add").getAttribute("aria-invalid"), "true")
    assert.strictEqual(await page.locator("#redirect-add-error").textContent(), "settings.redirectAllowlist.2: not a valid redirect allowlist entry")
    assert.strictEqual(await page.locator("#redirect-add").inputValue(), "http://app.example.com/callback")
    await noViolations(page)
    await shoot(page, "settings-redirect-error")
    await page.getByRole("button", { name: "Remove https://app.example.com/auth/*" }).click()
    await page.getByText("Removed https://app.example.com/auth/* from the allowlist").waitFor()
    assert.deepStrictEqual((await tenantWith(keys.live)).settings.redirectAllowlist, ["https://app.example.com/callback"])

    // test mode: its own settings, untouched by the live changes; changing them leaves live alone
    await page.locator("#mode-switch").selectOption("test")
    await page.getByRole("button", { name: "Go", exact: true }).click()
    await page.waitForURL(`${h.url}/console/t/${tenantId}/settings?mode=test`)
    assert.strictEqual(await page.locator("#s-otpTtlSeconds").inputValue(), "")
    assert.strictEqual(await page.locator("#s-name").count(), 0)
    assert.include(await page.locator("ul.entries").textContent(), "https://app.example.com/auth/*")
    await noViolations(page)
    await page.locator("#s-otpTtlSeconds").fill("120")
    await page.getByRole("button", { name: "Save test settings" }).click()
    await page.getByText("Settings saved").waitFor()
    assert.strictEqual(await page.locator("#s-otpTtlSeconds").inputValue(), "120")
    const test = await tenantWith(keys.test)
    assert.strictEqual(test.settings.otpTtlSeconds, 120)
    assert.isUndefined(test.settings.linkMode)
    assert.strictEqual((await tenantWith(keys.live)).settings.otpTtlSeconds, 600)
    // an emptied field goes back to the default: the stored value is removed
    await page.locator("#s-otpTtlSeconds").fill("")
    await page.getByRole("button", { name: "Save test settings" }).click()
    await page.getByText("Settings saved").waitFor()
    assert.isUndefined((await tenantWith(keys.test)).settings.otpTtlSeconds)
    await context.close()
  }, 60_000)

  it("refuses a viewer's changes (403) and changes nothing", async () => {
    assert.notStrictEqual(tenantId, "")
    const { context, page } = await h.signIn("viewer@example.com")
    await page.goto(`${h.url}/console/tenants`)
    assert.strictEqual(await page.locator("#tenant-name").count(), 0)
    await noViolations(page)
    await page.goto(`${h.url}/console/t/${tenantId}/settings`)
    assert.isTrue(await page.locator("#s-otpTtlSeconds").isDisabled())
    await noViolations(page)
    const csrf = (await page.locator('input[name="csrf"]').first().getAttribute("value")) ?? ""
    assert.notStrictEqual(csrf, "")
    const before = await h.run(Tenants.use((t) => t.count))
    const post = (path: string, form: Record<string, string>) =>
      page.request.post(`${h.url}${path}`, { form: { csrf, ...form }, headers: { origin: h.url }, maxRedirects: 0 })

    const create = await post("/console/tenants", { name: "Viewer's tenant" })
    assert.strictEqual(create.status(), 403)
    assert.include(await create.text(), "Not allowed")
    const settings = await post(`/console/t/${tenantId}/settings`, { mode: "live", otpTtlSeconds: "900", name: "Taken" })
    assert.strictEqual(settings.status(), 403)
    assert.include(await settings.text(), "Not allowed")
    const redirects = await post(`/console/t/${tenantId}/settings/redirects`, { mode: "live", add: "https://evil.example/*" })
    assert.strictEqual(redirects.status(), 403)

    assert.strictEqual(await h.run(Tenants.use((t) => t.count)), before)
    const live = await tenantWith(keys.live)
    assert.strictEqual(live.name, "Acme Corp")
    assert.strictEqual(live.settings.otpTtlSeconds, 600)
    assert.deepStrictEqual(live.settings.redirectAllowlist, ["https://app.example.com/callback"])
    await context.close()
  }, 60_000)
})
