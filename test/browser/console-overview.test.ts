/**
 * The console's overview and auth-request log (#14) in Chromium: sends and verifies made through the
 * HTTP API with a tenant's keys show up as numbers, charts and rows, and one request's page tells
 * what happened to it. Both pages are read-only.
 */
import { Effect } from "effect"
import gl from "google-libphonenumber"
import type { Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { make as makeStats } from "../../src/console/Stats.ts"
import { AllScopes, ApiKeyId, AuthRequestId, TenantId } from "../../src/domain/Ids.ts"
import { Passwordless } from "../../src/passwordless/Passwordless.ts"
import { type ConsoleHarness, hasChromium, seriousViolations, shoot, startConsole } from "../support/Console.ts"

const util = gl.PhoneNumberUtil.getInstance()
const MOBILE = util.format(util.getExampleNumberForType("GB", gl.PhoneNumberType.MOBILE), gl.PhoneNumberFormat.E164)

interface Sent {
  readonly authRequestId: string
  readonly code?: string
}

describe.skipIf(!hasChromium)("console overview and auth requests", () => {
  let h: ConsoleHarness
  let tenant: { readonly id: string; readonly keys: { readonly live: string; readonly test: string } }
  const sent: Record<string, Sent> = {}

  const api = async (key: string, path: string, body: unknown) => {
    const response = await fetch(`${h.url}/v1/passwordless/${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
      body: JSON.stringify(body)
    })
    return { status: response.status, body: await response.json() as Record<string, unknown> }
  }
  const send = async (key: string, name: string, body: unknown) => {
    const result = await api(key, "send", body)
    assert.strictEqual(result.status, 202, JSON.stringify(result.body))
    sent[name] = result.body as unknown as Sent
  }
  const verify = (key: string, name: string, code: string) => api(key, "verify", { authRequestId: sent[name]?.authRequestId, code })
  const wrongCode = (name: string) => sent[name]?.code === "000000" ? "111111" : "000000"

  const axe = async (page: Page) => assert.deepStrictEqual(await seriousViolations(page), [])
  const cells = async (page: Page, row: string) =>
    (await page.getByRole("row", { name: new RegExp(`^${row}`) }).locator("td").allTextContents()).map((t) => t.trim())

  beforeAll(async () => {
    h = await startConsole()
    await h.addOperator("owner@example.com", "owner")
    await h.addOperator("viewer@example.com", "viewer")
    tenant = await h.addTenant("Acme Shop")
    const test = tenant.keys.test
    await send(test, "ada", { email: "ada@example.com" })
    assert.strictEqual((await verify(test, "ada", sent["ada"]?.code ?? "")).status, 200)
    await send(test, "bob", { email: "bob@example.com" })
    assert.strictEqual((await verify(test, "bob", wrongCode("bob"))).status, 400)
    await send(test, "cy", { email: "cy@example.com" })
    await send(test, "sms", { channel: "sms", phone: MOBILE })
    await send(tenant.keys.live, "live", { email: "live@example.com" })
  }, 90_000)
  afterAll(async () => h?.close())

  it("shows each tenant's sends, verifications, success rate and failures, as numbers, charts and tables", async () => {
    const { context, page } = await h.signIn("owner@example.com")
    assert.strictEqual(await page.getByRole("heading", { level: 1 }).textContent(), "Overview")
    assert.strictEqual(await page.getByRole("link", { name: "Last 24 hours" }).getAttribute("aria-current"), "page")
    // live mode: the one live send
    assert.deepStrictEqual((await cells(page, "Acme Shop")).slice(0, 3), ["1", "0", "0"])
    await axe(page)
    await shoot(page, "overview-live")

    await page.getByRole("link", { name: "Test", exact: true }).click()
    await page.waitForURL(/\/console\?mode=test$/)
    // Email sends, SMS sends, Verified, Success rate, Failures, Risk blocks, Delivery failures, Queue
    assert.deepStrictEqual(await cells(page, "Acme Shop"), ["3", "1", "1", "25%", "1", "0", "0", "0"])
    const rows = await page.getByRole("table", { name: /by tenant/ }).locator("tbody tr").allTextContents()
    assert.match(rows[rows.length - 1] ?? "", /\(console sign-in\)/) // the console's own tenant comes last, labelled
    const acme = page.getByRole("region", { name: "Acme Shop" })
    assert.include(await acme.getByRole("img", { name: "Sends per hour for Acme Shop, by channel" }).getAttribute("aria-labelledby"), "-desc")
    assert.include(await acme.locator("svg desc").first().textContent(), "3 email and 1 SMS sends in total")
    await acme.getByText("Failures by error code as a table").click()
    const failures = acme.getByRole("table", { name: "Failures by error code for Acme Shop" })
    assert.strictEqual((await failures.getByRole("row", { name: /^CODE_INVALID/ }).locator("td").last().textContent())?.trim(), "1")
    assert.strictEqual(await acme.getByRole("img", { name: "Failures by error code for Acme Shop" }).count(), 1)
    await axe(page)
    await page.locator("h1").scrollIntoViewIfNeeded()
    await shoot(page, "overview", true)

    // the same numbers from the service the page reads
    const numbers = await h.run(Effect.flatMap(makeStats, (stats) => stats.overview("test", "24h")))
    const stats = numbers.tenants.get(tenant.id)
    assert.deepStrictEqual([stats?.sends.email, stats?.sends.sms, stats?.verified, stats?.failures.CODE_INVALID], [3, 1, 1, 1])

    await page.getByRole("link", { name: "Last 7 days" }).click()
    await page.waitForURL(/\/console\?range=7d&mode=test$/)
    assert.deepStrictEqual(await cells(page, "Acme Shop"), ["3", "1", "1", "25%", "1", "0", "0", "0"])
    assert.strictEqual(await page.getByRole("img", { name: "Sends per day for Acme Shop, by channel" }).count(), 1)
    await axe(page)
    await shoot(page, "overview-7d")
    await context.close()
  }, 60_000)

  it("lists a tenant's auth requests with status, attempts and delivery, filters them and opens one", async () => {
    const { context, page } = await h.signIn("owner@example.com")
    await page.goto(`${h.url}/console?mode=test`)
    await page.getByRole("link", { name: "Auth requests of Acme Shop" }).click()
    await page.waitForURL(new RegExp(`/console/t/${tenant.id}/requests\\?mode=test$`))
    assert.strictEqual(await page.getByRole("heading", { level: 1 }).textContent(), "Auth requests")
    const table = page.getByRole("table", { name: /Auth requests of Acme Shop, test mode/ })
    assert.strictEqual(await table.locator("tbody tr").count(), 4)
    const bob = table.getByRole("row", { name: new RegExp(sent["bob"]?.authRequestId ?? "-") })
    const bobCells = (await bob.locator("td").allTextContents()).map((t) => t.trim())
    // Created, Channel, Type, Identifier (masked), Status, Attempts, Delivery, Risk
    assert.deepStrictEqual(bobCells.slice(1), ["email", "OTP", "b•••@example.com", "pending", "1 / 5", "sent test-outbox", "—"])
    const ada = (await table.getByRole("row", { name: new RegExp(sent["ada"]?.authRequestId ?? "-") }).locator("td").allTextContents()).map((t) => t.trim())
    assert.strictEqual(ada[4], "verified")
    const sms = (await table.getByRole("row", { name: new RegExp(sent["sms"]?.authRequestId ?? "-") }).locator("td").allTextContents()).map((t) => t.trim())
    assert.strictEqual(sms[1], "sms")
    assert.notInclude(sms[3] ?? MOBILE, MOBILE.slice(-6))
    assert.notInclude(await page.content(), "bob@example.com")
    await axe(page)
    await shoot(page, "requests", true)

    await page.getByLabel("Status").selectOption("verified")
    await page.getByRole("button", { name: "Show requests" }).click()
    await page.waitForURL(/status=verified/)
    assert.strictEqual(await table.locator("tbody tr").count(), 1)
    assert.include(await table.locator("tbody tr").textContent(), sent["ada"]?.authRequestId ?? "-")
    await axe(page)

    await page.getByLabel("Status").selectOption("")
    await page.getByLabel("Email, phone or request id").fill("Bob@Example.com")
    await page.getByRole("button", { name: "Show requests" }).click()
    await page.waitForURL(/q=Bob/)
    assert.strictEqual(await table.locator("tbody tr").count(), 1)
    await axe(page)

    await page.getByRole("link", { name: `Request ${sent["bob"]?.authRequestId}` }).click()
    await page.waitForURL(new RegExp(`/requests/${sent["bob"]?.authRequestId}\\?mode=test$`))
    const field = async (name: string) => (await page.getByRole("row", { name: new RegExp(`^${name}`) }).locator("td").textContent())?.trim()
    assert.strictEqual(await field("Status"), "pending")
    assert.strictEqual(await field("Attempts"), "1 of 5")
    assert.strictEqual(await field("Identifier"), "b•••@example.com")
    const messages = page.getByRole("table", { name: /Messages of this request/ })
    assert.include(await messages.locator("tbody tr").textContent(), "test-outbox")
    const audit = page.getByRole("table", { name: /Audit log entries about this request/ })
    assert.include(await audit.locator("tbody tr").first().textContent(), "login.failed")
    assert.include(await audit.locator("tbody tr").first().textContent(), "reason: CODE_INVALID")
    await axe(page)
    await shoot(page, "request-detail")

    // the page says what Passwordless.status says
    const status = await h.run(Effect.flatMap(Passwordless, (pw) => pw.status(
      { keyId: ApiKeyId.make("key_consoleoverviewtest"), tenantId: TenantId.make(tenant.id), mode: "test", scopes: AllScopes },
      AuthRequestId.make(sent["bob"]?.authRequestId ?? ""))))
    assert.deepStrictEqual([status.status, status.attempts, status.maxAttempts, status.delivery.status], ["pending", 1, 5, "sent"])

    // a live request is not a test one's page; an id that does not exist is a 404
    const missing = await page.goto(`${h.url}/console/t/${tenant.id}/requests/${sent["bob"]?.authRequestId}`)
    assert.strictEqual(missing?.status(), 404)
    const invalid = await page.goto(`${h.url}/console/t/${tenant.id}/requests/not-an-id?mode=test`)
    assert.strictEqual(invalid?.status(), 404)
    await context.close()
  }, 60_000)

  it("lets a viewer read both pages, on a phone too, and no one signed out", async () => {
    const { context, page } = await h.signIn("viewer@example.com", { width: 390, height: 844 })
    const overview = await page.goto(`${h.url}/console?range=7d&mode=test`)
    assert.strictEqual(overview?.status(), 200)
    assert.deepStrictEqual(await cells(page, "Acme Shop"), ["3", "1", "1", "25%", "1", "0", "0", "0"])
    await axe(page)
    await shoot(page, "overview-phone")
    const requests = await page.goto(`${h.url}/console/t/${tenant.id}/requests`)
    assert.strictEqual(requests?.status(), 200)
    // live mode: the one live request
    assert.strictEqual(await page.getByRole("table", { name: /live mode/ }).locator("tbody tr").count(), 1)
    await axe(page)
    await context.close()

    const anonymous = await h.browser.newContext()
    const stranger = await anonymous.newPage()
    await stranger.goto(`${h.url}/console/t/${tenant.id}/requests?mode=test`)
    assert.match(stranger.url(), /\/console\/signin\?next=/)
    assert.notInclude(await stranger.content(), "b•••@example.com")
    await anonymous.close()
  }, 60_000)
})
