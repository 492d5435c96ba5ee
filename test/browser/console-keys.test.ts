/**
 * The console's API keys page (#14) in Chromium: an owner creates a key through the form and sees its
 * secret once, the secret works against the API within its scopes and allowlist, an invalid CIDR comes
 * back with the API's message beside the field, revoking and rotating take effect on the API, and a
 * viewer's POSTs are refused.
 */
import { Effect } from "effect"
import type { Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { Audit } from "../../src/audit/Audit.ts"
import type { TenantId } from "../../src/domain/Ids.ts"
import { type ApiKey, ApiKeys } from "../../src/keys/ApiKeys.ts"
import { type ConsoleHarness, hasChromium, seriousViolations, shoot, startConsole } from "../support/Console.ts"

const api = (url: string, secret: string, path = "/v1/keys") => fetch(`${url}${path}`, { headers: { authorization: `Bearer ${secret}` } })

/** Polls until the API refuses `secret` (revocation reaches every process within the key cache's second). */
const refusedSoon = async (url: string, secret: string) => {
  for (let i = 0; i < 40; i++) {
    const response = await api(url, secret)
    if (response.status === 401) return response
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  throw new Error("the API still accepts the secret")
}

describe.skipIf(!hasChromium)("console API keys", () => {
  let h: ConsoleHarness
  let tenant: { readonly id: string; readonly keys: { readonly live: string; readonly test: string } }
  let page: Page
  const keysOf = () => h.run(Effect.flatMap(ApiKeys, (keys) => keys.list(tenant.id as TenantId, "live")))
  const named = async (name: string): Promise<ApiKey | undefined> => (await keysOf()).find((k) => k.name === name)
  const listUrl = () => `${h.url}/console/t/${tenant.id}/keys`
  const axe = async () => assert.deepStrictEqual(await seriousViolations(page), [])
  /** Clicks, waits for the page the POST leads to (`shows`: a selector on it) and returns the POST's status. */
  const submit = async (click: () => Promise<void>, shows: string) => {
    const [response] = await Promise.all([page.waitForResponse((r) => r.request().method() === "POST"), click()])
    await page.locator(shows).first().waitFor()
    return response.status()
  }

  beforeAll(async () => {
    h = await startConsole()
    await h.addOperator("owner@example.com", "owner")
    await h.addOperator("viewer@example.com", "viewer")
    tenant = await h.addTenant("Acme")
    page = (await h.signIn("owner@example.com")).page
    page.on("dialog", (dialog) => void dialog.accept())
  }, 60_000)
  afterAll(async () => h?.close())

  let secret = ""

  it("creates a key and shows its secret once; the secret works within its scopes", async () => {
    await page.goto(listUrl())
    assert.strictEqual(await page.locator("h1").textContent(), "API keys")
    assert.strictEqual(await page.locator('input[name="scopes"]:checked').count(), 9, "every scope checked by default")
    await axe()

    await page.getByLabel("Name", { exact: true }).fill("Backend")
    for (const box of await page.locator('input[name="scopes"]').all()) {
      await box.setChecked(["keys:manage", "sessions:read"].includes(await box.getAttribute("value") ?? ""))
    }
    await page.getByLabel("IP allowlist").fill("127.0.0.0/8\n::1")
    assert.strictEqual(await submit(() => page.getByRole("button", { name: "Create key" }).click(), "#secret"), 201)

    secret = (await page.locator("#secret").textContent()) ?? ""
    assert.match(secret, /^sk_live_[A-Za-z0-9_-]{43}$/)
    assert.include(await page.locator("main").textContent(), "shown only once")
    assert.isTrue(await page.locator('button[data-copy="#secret"]').isVisible(), "console.js shows the copy button")
    await axe()
    await shoot(page, "key-created", true)

    const key = await named("Backend")
    assert.sameMembers([...key?.scopes ?? []], ["keys:manage", "sessions:read"])
    assert.strictEqual(key?.ipAllowlist.length, 2)
    assert.strictEqual(key?.ipAllowlist[0], "127.0.0.0/8")
    const events = await h.run(Effect.flatMap(Audit, (audit) => audit.list(tenant.id as TenantId, "live", { limit: 10, before: undefined })))
    const created = events.find((e) => e.type === "key.created" && e.subject === key?.id)
    assert.strictEqual(created?.actor, "operator:owner@example.com")

    assert.strictEqual((await api(h.url, secret)).status, 200)
    const missing = await api(h.url, secret, "/v1/users?email=a%40example.com")
    assert.strictEqual(missing.status, 403)
    assert.strictEqual(((await missing.json()) as { code: string }).code, "SCOPE_MISSING")

    await page.goto(listUrl())
    const text = (await page.content())
    assert.notInclude(text, secret)
    assert.strictEqual(await page.locator("#secret").count(), 0)
    assert.include(await page.locator(`tr[id="${key?.id}"]`).textContent(), "active")
    await axe()
    await shoot(page, "keys", true)
  }, 60_000)

  it("shows the API's message beside the IP allowlist and keeps what was typed", async () => {
    await page.getByLabel("Name", { exact: true }).fill("Bad")
    await page.getByLabel("IP allowlist").fill("10.0.0.1\n10.0.0.300/8")
    assert.strictEqual(await submit(() => page.getByRole("button", { name: "Create key" }).click(), ".field-error"), 400)

    const field = page.getByLabel("IP allowlist")
    assert.strictEqual(await field.getAttribute("aria-invalid"), "true")
    const errorId = (await field.getAttribute("aria-describedby"))?.split(" ").find((id) => id.endsWith("-error"))
    assert.isDefined(errorId)
    const message = await page.locator(`#${errorId}`).textContent()
    assert.include(message, "ipAllowlist.1: not an IPv4/IPv6 address or CIDR")
    assert.include(message, "10.0.0.300/8")
    assert.strictEqual(await field.inputValue(), "10.0.0.1\n10.0.0.300/8")
    assert.strictEqual(await page.getByLabel("Name", { exact: true }).inputValue(), "Bad")
    assert.strictEqual(await page.locator("#secret").count(), 0)
    assert.isUndefined(await named("Bad"))
    await axe()
  }, 30_000)

  it("revokes a key: the API refuses its secret", async () => {
    await page.goto(listUrl())
    const key = await named("Backend")
    assert.strictEqual(await submit(() => page.getByRole("button", { name: "Revoke Backend" }).click(), ".notice"), 303)
    assert.include(await page.locator(".notice").textContent(), "“Backend” was revoked")
    assert.include(await page.locator(`tr[id="${key?.id}"]`).textContent(), "revoked")
    assert.isNotNull((await named("Backend"))?.revokedAt)
    await axe()
    const refused = await refusedSoon(h.url, secret)
    assert.strictEqual(((await refused.json()) as { code: string }).code, "API_KEY_INVALID")
  }, 30_000)

  it("rotates a key: a new secret with the same bounds works, the old one is refused (or kept, if asked)", async () => {
    const expiresAt = new Date("2031-01-01T00:00:00Z")
    const old = await h.run(Effect.flatMap(ApiKeys, (keys) =>
      keys.create({ tenantId: tenant.id as TenantId, name: "Worker", mode: "live", scopes: ["keys:manage"], expiresAt, ipAllowlist: ["127.0.0.1/32"] })))
    await page.goto(listUrl())
    assert.isTrue(await page.locator(`tr[id="${old.key.id}"]`).getByLabel("Revoke the old key now").isChecked())
    assert.strictEqual(await submit(() => page.getByRole("button", { name: "Rotate Worker", exact: true }).click(), "#secret"), 201)
    const fresh = (await page.locator("#secret").textContent()) ?? ""
    assert.match(fresh, /^sk_live_/)
    assert.include(await page.locator("main").textContent(), "“Worker” was revoked")
    await axe()

    const rotated = await named("Worker (rotated)")
    assert.deepStrictEqual(rotated?.scopes, ["keys:manage"])
    assert.deepStrictEqual(rotated?.ipAllowlist, ["127.0.0.1/32"])
    assert.strictEqual(rotated?.expiresAt?.getTime(), expiresAt.getTime())
    assert.strictEqual((await api(h.url, fresh)).status, 200)
    await refusedSoon(h.url, old.secret)

    // Unchecked: the old key stays usable for a deployment's overlap; the name does not grow.
    await page.goto(listUrl())
    await page.locator(`tr[id="${rotated?.id}"]`).getByLabel("Revoke the old key now").uncheck()
    assert.strictEqual(await submit(() => page.getByRole("button", { name: "Rotate Worker (rotated)" }).click(), "#secret"), 201)
    assert.include(await page.locator("main").textContent(), "stays active")
    const both = (await keysOf()).filter((k) => k.name === "Worker (rotated)")
    assert.strictEqual(both.length, 2)
    assert.isTrue(both.every((k) => k.revokedAt === null))
    assert.strictEqual((await api(h.url, fresh)).status, 200)
  }, 30_000)

  it("refuses a viewer's changes (403) and changes nothing", async () => {
    const { context, page: viewer } = await h.signIn("viewer@example.com")
    await viewer.goto(listUrl())
    assert.strictEqual(await viewer.getByRole("button", { name: "Create key" }).count(), 0)
    assert.strictEqual(await viewer.getByRole("button", { name: /^Revoke / }).count(), 0)
    assert.deepStrictEqual(await seriousViolations(viewer), [])
    await viewer.goto(`${listUrl()}?mode=test`)
    assert.include(await viewer.locator("table").textContent(), "default test key")
    assert.notInclude(await viewer.locator("table").textContent(), "Backend")
    const csrf = (await viewer.locator('input[name="csrf"]').first().getAttribute("value")) ?? ""
    const before = await keysOf()
    const target = before.find((k) => k.revokedAt === null)
    assert.isDefined(target)

    const post = (path: string, form: Record<string, string>) =>
      viewer.request.post(`${listUrl()}${path}`, { form: { csrf, mode: "live", ...form }, headers: { origin: h.url }, maxRedirects: 0 })
    const create = await post("", { name: "Viewer key", scopes: "keys:manage" })
    assert.strictEqual(create.status(), 403)
    assert.include(await create.text(), "needs admin")
    const revoke = await post(`/${target?.id}/revoke`, {})
    assert.strictEqual(revoke.status(), 403)
    const rotate = await post(`/${target?.id}/rotate`, { revokeOld: "on" })
    assert.strictEqual(rotate.status(), 403)

    const after = await keysOf()
    assert.deepStrictEqual(after.map((k) => [k.id, k.revokedAt]), before.map((k) => [k.id, k.revokedAt]))
    await context.close()
  }, 30_000)
})
