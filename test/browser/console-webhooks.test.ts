/**
 * The console's webhooks pages (#14) in Chromium, against a real receiver on 127.0.0.1 and the real
 * webhook worker: register an endpoint (its secret shown once), send a test event that fails with 500,
 * see every attempt, retry it once the receiver answers 200 and check the signature with the shown
 * secret, rotate the secret, edit, delete; a viewer's retry is refused.
 */
import { Effect } from "effect"
import type { Page } from "playwright-core"
import { Webhook } from "standardwebhooks"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { Audit } from "../../src/audit/Audit.ts"
import { AllScopes, ApiKeyId, TenantId } from "../../src/domain/Ids.ts"
import { randomId } from "../../src/platform/Crypto.ts"
import { TEST_EVENT } from "../../src/webhooks/Events.ts"
import { Webhooks } from "../../src/webhooks/Webhooks.ts"
import { type ConsoleHarness, hasChromium, seriousViolations, shoot, startConsole } from "../support/Console.ts"
import { freePort } from "../support/Processes.ts"
import { type Received, type Receiver, startReceiver } from "../webhooks/Receiver.ts"

const OWNER = "owner@example.com"
const VIEWER = "viewer@example.com"

/** Reloads until `ready` holds (the worker delivers in the background). */
const reloadUntil = async (page: Page, what: string, ready: () => Promise<boolean>) => {
  for (let i = 0; i < 150; i++) {
    if (await ready()) return
    await page.waitForTimeout(100)
    await page.reload()
  }
  throw new Error(`the page never showed ${what}`)
}

const noViolations = async (page: Page) => assert.deepStrictEqual(await seriousViolations(page), [])

const standardHeaders = (request: Received): Record<string, string> => ({
  "webhook-id": String(request.headers["webhook-id"]),
  "webhook-timestamp": String(request.headers["webhook-timestamp"]),
  "webhook-signature": String(request.headers["webhook-signature"])
})

const verifies = (secret: string, request: Received) => {
  try {
    new Webhook(secret).verify(request.body, standardHeaders(request))
    return true
  } catch {
    return false
  }
}

describe.skipIf(!hasChromium)("console webhooks", () => {
  let h: ConsoleHarness
  let receiver: Receiver
  let answer = 500
  let tenantId: TenantId
  let endpointPath = ""
  let deliveryId = ""
  let owner: Page

  const caller = () => ({ keyId: ApiKeyId.make(randomId("key")), tenantId, mode: "live" as const, scopes: AllScopes })
  const endpoints = () => h.run(Effect.flatMap(Webhooks, (w) => w.list(caller()))).then((r) => r.endpoints)
  const deliveries = (id: string) =>
    h.run(Effect.flatMap(Webhooks, (w) => w.deliveries(caller(), id as never, {}))).then((r) => r.deliveries)
  const audits = () =>
    h.run(Effect.flatMap(Audit, (a) => a.list(tenantId, "live", { limit: 100, before: undefined })))

  beforeAll(async () => {
    receiver = await startReceiver(() => answer, await freePort())
    h = await startConsole({ webhooksAllowPrivate: true, webhookRetryBaseMs: 1, workerPollMs: 50 })
    await h.addOperator(OWNER, "owner")
    await h.addOperator(VIEWER, "viewer")
    tenantId = TenantId.make((await h.addTenant("Acme")).id)
  }, 60_000)
  afterAll(async () => {
    await h?.close()
    await receiver?.close()
  })

  it("registers an endpoint, shows a failing test delivery's attempts, retries it and rotates the secret", async () => {
    const { page } = await h.signIn(OWNER)
    owner = page
    page.on("dialog", (dialog) => void dialog.accept())
    await page.goto(`${h.url}/console/t/${tenantId}/webhooks`)
    assert.include(await page.textContent("main"), "No endpoints yet.")
    await noViolations(page)

    // The service's own URL rule, beside the field, with what was typed kept.
    await page.getByLabel("Endpoint URL").fill("ftp://example.com/hook")
    await page.getByLabel("login.success").check()
    const [refused] = await Promise.all([
      page.waitForResponse((r) => r.request().method() === "POST"),
      page.getByRole("button", { name: "Add endpoint" }).click()
    ])
    assert.strictEqual(refused.status(), 400)
    assert.strictEqual(await page.getAttribute("#url", "aria-invalid"), "true")
    assert.include(await page.textContent("#url-error"), "http(s)")
    assert.include(await page.getAttribute("#url", "aria-describedby") ?? "", "url-error")
    assert.strictEqual(await page.inputValue("#url"), "ftp://example.com/hook")
    assert.isTrue(await page.getByLabel("login.success").isChecked())
    assert.deepStrictEqual(await endpoints(), [])
    await noViolations(page)
    await shoot(page, "webhooks-invalid")

    await page.getByLabel("Endpoint URL").fill(receiver.url("/hook"))
    await page.getByLabel("Description").fill("Acme backend")
    await page.getByRole("button", { name: "Add endpoint" }).click()
    await page.locator(".secret #secret").waitFor()
    const secret = (await page.textContent("#secret")) ?? ""
    assert.match(secret, /^whsec_[A-Za-z0-9+/=]{20,}$/)
    assert.isTrue(await page.locator('button[data-copy="#secret"]').isVisible())
    await noViolations(page)
    const [endpoint] = await endpoints()
    assert.strictEqual(endpoint?.url, receiver.url("/hook"))
    assert.deepStrictEqual(endpoint?.events, ["login.success"])
    assert.strictEqual(endpoint?.description, "Acme backend")
    endpointPath = `/console/t/${tenantId}/webhooks/${endpoint?.id}`

    // Shown once: the list and the endpoint's page never show it again.
    await page.goto(`${h.url}/console/t/${tenantId}/webhooks`)
    assert.notInclude(await page.content(), secret)
    assert.include(await page.textContent("table"), receiver.url("/hook"))
    assert.include(await page.textContent("table"), "enabled")
    await noViolations(page)
    await shoot(page, "webhooks", true)

    await page.getByRole("link", { name: receiver.url("/hook") }).click()
    assert.notInclude(await page.content(), secret)
    await page.getByRole("button", { name: "Send a test event" }).click()
    assert.include(await page.textContent(".notice"), "Test event")
    // Four attempts go out within ~2 s (WEBHOOK_RETRY_BASE_MS=1); the fifth is due ~5 s after the fourth,
    // so nothing is in flight when Retry is pressed below.
    await reloadUntil(page, "four failed attempts", async () => (await page.locator(".attempts li").count()) >= 4)
    const firstTry = await page.textContent("table.deliveries tbody tr") ?? ""
    assert.include(firstTry, TEST_EVENT)
    assert.include(firstTry, "HTTP 500")
    assert.match(firstTry, /#1\s+HTTP 500\s+· \d+ ms/)
    assert.match(firstTry, /#4\s+HTTP 500\s+· \d+ ms/)
    await noViolations(page)
    const [failing] = await deliveries(endpoint?.id ?? "")
    deliveryId = failing?.id ?? ""
    assert.strictEqual(failing?.eventType, TEST_EVENT)
    assert.isTrue((failing?.attempts.length ?? 0) >= 4 && failing?.attempts.every((a) => a.statusCode === 500))
    assert.isTrue(failing?.attempts.every((a) => a.latencyMs >= 0 && firstTry.includes(`${a.latencyMs} ms`)))

    // The receiver recovers; Retry queues the delivery again at once and the next attempt succeeds.
    answer = 200
    const before = (await deliveries(endpoint?.id ?? ""))[0]?.attempts.length ?? 0
    await page.getByRole("button", { name: /^Retry delivery/ }).click()
    assert.include(await page.textContent(".notice"), "queued again")
    await reloadUntil(page, "the retried delivery succeeding", async () =>
      (await page.locator("table.deliveries .attempts li").count()) > before && (await page.locator("table.deliveries .badge.ok").count()) === 1)
    const [done] = await deliveries(endpoint?.id ?? "")
    assert.strictEqual(done?.attempts.length, before + 1)
    assert.strictEqual(done?.attempts.at(-1)?.statusCode, 200)
    assert.include(await page.textContent("table.deliveries tbody tr") ?? "", "HTTP 200")
    const delivered = receiver.received.filter((r) => r.status === 200)
    assert.isAbove(delivered.length, 0)
    for (const request of delivered) {
      assert.isTrue(verifies(secret, request), "signed with the secret the page showed")
      assert.strictEqual(JSON.parse(request.body).event, TEST_EVENT)
    }
    assert.isFalse(verifies("whsec_" + Buffer.alloc(24, 1).toString("base64"), delivered[0] as Received))
    await noViolations(page)
    await shoot(page, "webhook-deliveries", true)

    // The status filter keeps to what it names.
    await page.goto(`${h.url}${endpointPath}?status=failed`)
    assert.include(await page.textContent("main"), "No failed deliveries.")
    await noViolations(page)
    await page.goto(`${h.url}${endpointPath}`)

    // Rotation: a new secret, shown once, with when the previous one stops signing; both sign meanwhile.
    await page.getByRole("button", { name: "Rotate the signing secret" }).click()
    await page.locator(".secret #secret").waitFor()
    const rotated = (await page.textContent("#secret")) ?? ""
    assert.match(rotated, /^whsec_/)
    assert.notStrictEqual(rotated, secret)
    assert.include(await page.textContent(".secret + .hint, section.panel") ?? "", "previous secret keeps signing")
    assert.strictEqual(await page.locator("section.panel time").count() > 0, true)
    await noViolations(page)
    await shoot(page, "webhook-rotated")
    const seen = receiver.received.length
    await page.goto(`${h.url}${endpointPath}`)
    await page.getByRole("button", { name: "Send a test event" }).click()
    await reloadUntil(page, "the second test delivered", async () => (await page.locator("table.deliveries .badge.ok").count()) === 2)
    const afterRotation = receiver.received.slice(seen).find((r) => r.status === 200)
    assert.isDefined(afterRotation)
    assert.isTrue(verifies(rotated, afterRotation as Received))
    assert.isTrue(verifies(secret, afterRotation as Received))

    // Settings: disabling is saved through the service.
    await page.getByLabel("Enabled").uncheck()
    await page.getByLabel("session.revoked").check()
    await page.getByRole("button", { name: "Save settings" }).click()
    assert.include(await page.textContent(".notice"), "saved")
    assert.include(await page.textContent("dl.facts"), "disabled")
    const [edited] = await endpoints()
    assert.strictEqual(edited?.status, "disabled")
    assert.deepStrictEqual([...(edited?.events ?? [])].sort(), ["login.success", "session.revoked"])
    await noViolations(page)

    const trail = await audits()
    const types = trail.map((e) => e.type)
    for (const type of ["webhook.created", "webhook.test_sent", "webhook.delivery_retried", "webhook.secret_rotated", "webhook.updated"] as const) {
      assert.include(types, type)
    }
    assert.isTrue(trail.filter((e) => e.type.startsWith("webhook.")).every((e) => e.actor === `operator:${OWNER}`))
    assert.notInclude(JSON.stringify(trail), secret.slice(6))
    assert.notInclude(JSON.stringify(trail), rotated.slice(6))
    assert.strictEqual(trail.find((e) => e.type === "webhook.delivery_retried")?.subject, deliveryId)
  }, 60_000)

  it("refuses a viewer's retry (403) and changes nothing", async () => {
    const { context, page } = await h.signIn(VIEWER)
    await page.goto(`${h.url}${endpointPath}`)
    assert.strictEqual(await page.getByRole("button", { name: /^Retry/ }).count(), 0)
    assert.include(await page.textContent("main"), "changing them needs admin")
    await noViolations(page)
    const csrf = await page.locator('input[name="csrf"]').first().inputValue()
    const before = await deliveries(endpointPath.split("/").at(-1) ?? "")
    const auditsBefore = (await audits()).length
    const response = await page.request.post(`${h.url}${endpointPath}/deliveries/${deliveryId}/retry`, {
      form: { csrf, mode: "live" }, headers: { origin: h.url }
    })
    assert.strictEqual(response.status(), 403)
    assert.deepStrictEqual(await deliveries(endpointPath.split("/").at(-1) ?? ""), before)
    assert.strictEqual((await audits()).length, auditsBefore)
    await context.close()
  }, 60_000)

  it("deletes the endpoint after a confirmation", async () => {
    const page = owner
    await page.goto(`${h.url}${endpointPath}`)
    await page.getByRole("button", { name: "Delete endpoint" }).click()
    await page.waitForURL(/\/webhooks\?notice=/)
    assert.include(await page.textContent(".notice"), "deleted")
    assert.include(await page.textContent("main"), "No endpoints yet.")
    assert.deepStrictEqual(await endpoints(), [])
    assert.include((await audits()).map((e) => e.type), "webhook.deleted")
    await noViolations(page)
  }, 60_000)
})
