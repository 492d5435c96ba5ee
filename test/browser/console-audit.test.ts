/** The console's audit log and test outbox (#14) in Chromium: events filtered and paged, test sends previewed. */
import AxeBuilder from "@axe-core/playwright"
import { Effect } from "effect"
import type { Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { Audit, RequestContext } from "../../src/audit/Audit.ts"
import { ensureConsoleTenant } from "../../src/console/Setup.ts"
import { AllScopes, TenantId } from "../../src/domain/Ids.ts"
import { TestOutbox } from "../../src/passwordless/TestOutbox.ts"
import { type ConsoleHarness, hasChromium, seriousViolations, shoot, startConsole } from "../support/Console.ts"

const api = async (url: string, key: string, method: string, path: string, body: unknown): Promise<Record<string, unknown>> => {
  const response = await fetch(`${url}${path}`, {
    method, headers: { authorization: `Bearer ${key}`, "content-type": "application/json" }, body: JSON.stringify(body)
  })
  const json: unknown = await response.json()
  assert.isTrue(response.ok, `${method} ${path}: ${response.status} ${JSON.stringify(json)}`)
  return typeof json === "object" && json !== null ? { ...json } : {}
}

/** The audit table's rows as [type, actor, subject] (the type cell without its badge). */
const rows = (page: Page) =>
  page.locator("table.audit tbody tr").evaluateAll((trs) =>
    trs.map((tr) => [2, 3, 5].map((n) => {
      const cell = tr.querySelector(`td:nth-child(${n})`)
      return (cell?.querySelector("code") ?? cell)?.textContent?.trim() ?? ""
    })))

const noViolations = async (page: Page) => assert.deepStrictEqual(await seriousViolations(page), [])

/**
 * `seriousViolations` with the email previews left out: axe waits forever on a framed document that
 * may run no script (the previews' CSP `sandbox`: its timers never fire). The frames' titles are
 * asserted by the test instead; what they show is the tenant's email, not the console.
 */
const noViolationsBesidePreviews = async (page: Page) => {
  const result = await new AxeBuilder({ page }).withTags(["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa", "best-practice"])
    .exclude("iframe.preview").analyze()
  assert.deepStrictEqual(result.violations.filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id} (${v.impact}): ${v.help} — ${v.nodes.slice(0, 3).map((n) => n.target.join(" ")).join(", ")}`), [])
}

describe.skipIf(!hasChromium)("console audit log and test outbox", () => {
  let h: ConsoleHarness
  let acme: Awaited<ReturnType<ConsoleHarness["addTenant"]>>
  beforeAll(async () => {
    h = await startConsole()
    await h.addOperator("owner@example.com", "owner")
    await h.addOperator("viewer@example.com", "viewer")
    acme = await h.addTenant("Acme")
  }, 60_000)
  afterAll(async () => h?.close())

  it("lists the tenant's events newest first, filters them by type, actor and dates, and pages", async () => {
    // key.created by the live key, then tenant.updated by the key it created: two actors
    const created = await api(h.url, acme.keys.live, "POST", "/v1/keys", { name: "Deploy", scopes: AllScopes, mode: "live" })
    const secret = String(created["secret"])
    await api(h.url, secret, "PATCH", "/v1/tenant", { settings: { appName: "Acme App" } })
    const tenantId = TenantId.make(acme.id)
    const events = await h.run(Effect.flatMap(Audit, (audit) => audit.list(tenantId, "live", { limit: 10, before: undefined })))
    assert.deepStrictEqual(events.map((e) => e.type), ["tenant.updated", "key.created"])
    const [updated, keyCreated] = events
    const liveKey = keyCreated?.actor ?? ""
    const newKey = updated?.actor ?? ""
    assert.match(liveKey, /^key_/)
    assert.match(newKey, /^key_/)
    assert.notStrictEqual(liveKey, newKey)

    const { context, page } = await h.signIn("owner@example.com")
    await page.goto(`${h.url}/console/t/${acme.id}/audit`)
    assert.deepStrictEqual(await rows(page), [["tenant.updated", newKey, acme.id], ["key.created", liveKey, keyCreated?.subject ?? ""]])
    assert.include(await page.locator("table.audit tbody tr").first().textContent(), "Acme App", "details as compact JSON")
    await noViolations(page)
    await shoot(page, "audit", true)

    // by type
    await page.getByLabel("Event type").selectOption("key.created")
    await page.getByRole("button", { name: "Filter" }).click()
    await page.waitForURL(/type=key\.created/)
    assert.deepStrictEqual(await rows(page), [["key.created", liveKey, keyCreated?.subject ?? ""]])
    assert.strictEqual(await page.getByLabel("Event type").inputValue(), "key.created", "the form keeps the filter")
    await noViolations(page)

    // by actor (with the type cleared), through the service alike
    await page.getByLabel("Event type").selectOption("")
    await page.getByLabel("Actor").fill(newKey)
    await page.getByRole("button", { name: "Filter" }).click()
    await page.waitForURL(/actor=/)
    assert.deepStrictEqual(await rows(page), [["tenant.updated", newKey, acme.id]])
    const byActor = await h.run(Effect.flatMap(Audit, (audit) => audit.list(tenantId, "live", { limit: 10, before: undefined }, { actor: newKey })))
    assert.deepStrictEqual(byActor.map((e) => e.id), [updated?.id])

    // both: nothing matches
    await page.getByLabel("Event type").selectOption("key.created")
    await page.getByRole("button", { name: "Filter" }).click()
    await page.getByText("No event matches these filters.").waitFor()
    assert.strictEqual(await page.locator("table.audit").count(), 0)
    await noViolations(page)

    // dates: from tomorrow → nothing; an end before the start → the field says so (400)
    const day = (offset: number) => new Date(Date.now() + offset * 86_400_000).toISOString().slice(0, 10)
    await page.goto(`${h.url}/console/t/${acme.id}/audit?from=${day(1)}`)
    await page.getByText("No event matches these filters.").waitFor()
    await page.goto(`${h.url}/console/t/${acme.id}/audit?from=${day(-1)}&to=${day(0)}`)
    assert.strictEqual((await rows(page)).length, 2, "the end date is included")
    await page.getByLabel("To (UTC, included)").fill(day(-2))
    const response = page.waitForResponse((r) => r.url().includes("/audit?"))
    await page.getByRole("button", { name: "Filter" }).click()
    assert.strictEqual((await response).status(), 400)
    assert.strictEqual(await page.getByLabel("To (UTC, included)").getAttribute("aria-invalid"), "true")
    assert.include(await page.locator("#to-error").textContent(), "before the start date")
    await noViolations(page)

    // test mode: the tenant's test events only (plus tenant-wide ones): none here
    await page.goto(`${h.url}/console/t/${acme.id}/audit?mode=test`)
    await page.getByText("No events yet.").waitFor()

    // the console tenant: sign-ins, found by the operator's address as typed
    const consoleTenant = await h.run(ensureConsoleTenant(h.url))
    await page.goto(`${h.url}/console/t/${consoleTenant}/audit`)
    await page.getByLabel("Actor").fill("Owner@Example.COM")
    await page.getByLabel("Event type").selectOption("console.signin")
    await page.getByRole("button", { name: "Filter" }).click()
    await page.waitForURL(/type=console\.signin/)
    const signins = await rows(page)
    assert.isAtLeast(signins.length, 1)
    for (const [type, actor] of signins) assert.deepStrictEqual([type, actor], ["console.signin", "operator:owner@example.com"])
    await noViolations(page)

    // paging: 55 events → 50, then the 5 oldest
    const busy = await h.addTenant("Busy")
    await h.run(Effect.gen(function* () {
      const audit = yield* Audit
      for (let i = 0; i < 55; i++) {
        yield* audit.record({ tenantId: TenantId.make(busy.id), mode: "live", type: "rate_limited", subject: `limit-${i}`, details: { i } }).pipe(
          Effect.provideService(RequestContext, { requestId: `req_${i}`, ip: "203.0.113.9", actor: "key_busy" })
        )
      }
    }))
    await page.goto(`${h.url}/console/t/${busy.id}/audit`)
    const first = await rows(page)
    assert.strictEqual(first.length, 50)
    assert.deepStrictEqual(first[0], ["rate_limited", "key_busy", "limit-54"])
    assert.deepStrictEqual(first[49], ["rate_limited", "key_busy", "limit-5"])
    await page.getByRole("link", { name: "Older events" }).click()
    await page.waitForURL(/before=/)
    assert.deepStrictEqual((await rows(page)).map((r) => r[2]), ["limit-4", "limit-3", "limit-2", "limit-1", "limit-0"])
    assert.strictEqual(await page.getByRole("link", { name: "Older events" }).count(), 0)
    await page.getByRole("link", { name: "Newest events" }).waitFor()
    await noViolations(page)
    await context.close()
  }, 60_000)

  it("shows what the tenant's test keys sent, with a sandboxed HTML preview, whatever the page's mode", async () => {
    await api(h.url, acme.keys.test, "POST", "/v1/passwordless/send", { email: "lin@example.com", type: "OTP" })
    await api(h.url, acme.keys.test, "POST", "/v1/passwordless/send", { email: "max@example.com", type: "OTP" })
    const sent = await h.run(Effect.flatMap(TestOutbox, (outbox) => outbox.list(TenantId.make(acme.id), undefined, 10)))
    assert.deepStrictEqual(sent.map((m) => m.to), ["max@example.com", "lin@example.com"])
    const code = /\b([0-9]{6})\b/u.exec(sent[1]?.text ?? "")?.[1] ?? ""
    assert.match(code, /^[0-9]{6}$/)

    const { context, page } = await h.signIn("owner@example.com")
    await page.goto(`${h.url}/console/t/${acme.id}/outbox`)
    await page.getByText("whichever mode the console shows").waitFor({ timeout: 5000 })
    assert.deepStrictEqual(await page.locator("article.message dl dd:nth-of-type(2)").allTextContents(), ["max@example.com", "lin@example.com"])
    const lin = page.locator("article.message").nth(1)
    assert.include(await lin.locator("pre").textContent(), code)
    const frame = lin.locator("iframe.preview")
    assert.strictEqual(await frame.getAttribute("sandbox"), "")
    assert.include(await frame.getAttribute("title"), "lin@example.com")
    await frame.scrollIntoViewIfNeeded()
    await page.frameLocator("article.message:nth-of-type(2) iframe.preview").locator("body").getByText(code).waitFor({ timeout: 5000 })
    await noViolationsBesidePreviews(page)
    // the frames load lazily: bring the first into view for the screenshot
    await page.locator("iframe.preview").first().scrollIntoViewIfNeeded()
    await page.frameLocator("article.message:nth-of-type(1) iframe.preview").locator("body").getByText("Sign in to Acme").first().waitFor({ timeout: 5000 })
    await shoot(page, "outbox")

    // the preview itself: the email's HTML, framable by the console only, no script, no form
    const src = await frame.getAttribute("src") ?? ""
    assert.strictEqual(src, `/console/t/${acme.id}/outbox/${sent[1]?.id}`)
    const preview = await context.request.get(`${h.url}${src}`)
    assert.strictEqual(preview.status(), 200)
    assert.strictEqual(await preview.text(), sent[1]?.html)
    const csp = preview.headers()["content-security-policy"] ?? ""
    assert.include(csp, "default-src 'none'")
    assert.include(csp, "sandbox")
    assert.include(csp, "frame-ancestors 'self'")
    assert.notInclude(csp, "script-src")
    assert.strictEqual((await context.request.get(`${h.url}/console/t/${acme.id}/outbox/msg_${"0".repeat(24)}`)).status(), 404)
    const consoleTenant = await h.run(ensureConsoleTenant(h.url))
    assert.strictEqual((await context.request.get(`${h.url}/console/t/${consoleTenant}/outbox/${sent[1]?.id}`)).status(), 404, "another tenant's message")

    // by recipient, as typed; the same in the test-mode view
    await page.getByLabel("Recipient").fill("Lin@Example.com")
    await page.getByRole("button", { name: "Filter" }).click()
    await page.waitForURL(/to=/)
    assert.deepStrictEqual(await page.locator("article.message dl dd:nth-of-type(2)").allTextContents(), ["lin@example.com"])
    await noViolationsBesidePreviews(page)
    await page.goto(`${h.url}/console/t/${acme.id}/outbox?mode=test&to=nobody%40example.com`)
    await page.getByText("No test message to nobody@example.com.").waitFor()
    await noViolationsBesidePreviews(page)
    await context.close()
  }, 60_000)

  it("keeps the console tenant's test outbox (operators' sign-in codes) from anyone but an owner", async () => {
    const consoleTenant = await h.run(ensureConsoleTenant(h.url))
    const { context, page } = await h.signIn("viewer@example.com")
    const codes = await h.run(Effect.flatMap(TestOutbox, (outbox) => outbox.list(consoleTenant, "owner@example.com", 1)))
    assert.strictEqual(codes.length, 1, "the owner's sign-in code is in there")
    await page.goto(`${h.url}/console/t/${consoleTenant}/outbox`)
    await page.getByText("only an owner may read it").waitFor()
    assert.strictEqual(await page.locator("article.message").count(), 0)
    assert.notInclude(await page.content(), codes[0]?.text.slice(0, 40) ?? "")
    assert.strictEqual((await context.request.get(`${h.url}/console/t/${consoleTenant}/outbox/${codes[0]?.id}`)).status(), 404)
    await noViolations(page)
    await context.close()
  }, 60_000)
})
