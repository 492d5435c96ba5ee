/**
 * The console's users pages (#14) in Chromium: find a test-mode user, see their sessions and sign-ins,
 * revoke a session, export, and erase behind a typed confirmation; a viewer may not revoke.
 */
import { readFile } from "node:fs/promises"
import { Effect } from "effect"
import type { Page } from "playwright-core"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import type { CurrentKey } from "../../src/api/Security.ts"
import { Audit } from "../../src/audit/Audit.ts"
import { AllScopes, ApiKeyId, type SessionId, TenantId, type UserId } from "../../src/domain/Ids.ts"
import { SessionAdmin } from "../../src/sessions/SessionAdmin.ts"
import { type ConsoleHarness, hasChromium, seriousViolations, shoot, startConsole } from "../support/Console.ts"

const EMAIL = "alice@example.com"

interface SignedIn { readonly userId: string; readonly sessionId: string; readonly refreshToken: string }

describe.skipIf(!hasChromium)("console users", () => {
  let h: ConsoleHarness
  let tenant: { readonly id: string; readonly keys: { readonly live: string; readonly test: string } }
  let caller: CurrentKey["Service"]

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${h.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${tenant.keys.test}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      ...(body === undefined ? {} : { body: JSON.stringify(body) })
    })
    return { status: res.status, json: res.status === 204 ? null : await res.json() as Record<string, unknown> }
  }

  /** A sign-in through the API with the tenant's test key (the code comes back in the send's response). */
  const signInApi = async (ip: string, userAgent: string, wrongFirst = false, email = EMAIL): Promise<SignedIn> => {
    const sent = await api("POST", "/v1/passwordless/send", { email })
    assert.strictEqual(sent.status, 202)
    const authRequestId = sent.json?.["authRequestId"]
    const code = String(sent.json?.["code"])
    if (wrongFirst) {
      const wrong = code === "000000" ? "111111" : "000000"
      assert.strictEqual((await api("POST", "/v1/passwordless/verify", { authRequestId, code: wrong })).status, 400)
    }
    const verified = await api("POST", "/v1/passwordless/verify", { authRequestId, code, client: { ipAddress: ip, userAgent } })
    assert.strictEqual(verified.status, 200)
    const user = verified.json?.["user"] as { id: string }
    const session = verified.json?.["session"] as { id: string; refreshToken: string }
    return { userId: user.id, sessionId: session.id, refreshToken: session.refreshToken }
  }

  const activeSessions = (userId: string) =>
    h.run(Effect.gen(function* () {
      const { sessions } = yield* (yield* SessionAdmin).list(caller, userId as UserId)
      return sessions.map((s) => s.id)
    }))

  const auditEvents = () =>
    h.run(Effect.gen(function* () {
      return yield* (yield* Audit).list(TenantId.make(tenant.id), "test", { limit: 50, before: undefined })
    }))

  const clean = async (page: Page) => assert.deepStrictEqual(await seriousViolations(page), [])

  beforeAll(async () => {
    h = await startConsole()
    await h.addOperator("owner@example.com", "owner")
    await h.addOperator("viewer@example.com", "viewer")
    tenant = await h.addTenant("Acme")
    caller = { keyId: ApiKeyId.make("key_test000000000000000"), tenantId: TenantId.make(tenant.id), mode: "test", scopes: AllScopes }
  }, 60_000)
  afterAll(async () => h?.close())

  it("finds a user, revokes a session, exports, and erases only on the typed confirmation", async () => {
    const first = await signInApi("203.0.113.7", "Firefox/140 on Linux", true)
    const second = await signInApi("198.51.100.23", "Safari/19 on iPhone")
    assert.strictEqual(first.userId, second.userId)
    const userId = first.userId
    const userPage = `${h.url}/console/t/${tenant.id}/users/${userId}?mode=test`

    const { context, page } = await h.signIn("owner@example.com")
    page.on("dialog", (dialog) => void dialog.accept())

    // The list: the newest users of the mode; live mode has none.
    await page.goto(`${h.url}/console/t/${tenant.id}/users`)
    assert.include(await page.textContent("main"), "No live users yet")
    await page.goto(`${h.url}/console/t/${tenant.id}/users?mode=test`)
    assert.include(await page.textContent("main table"), EMAIL)
    await clean(page)

    // Search: the API's normalisation (case, spaces); an unknown email; an invalid one.
    await page.getByLabel("Email address, phone number or user id").fill("  Alice@EXAMPLE.com ")
    await page.getByRole("button", { name: "Search" }).click()
    await page.waitForURL(/q=/u)
    assert.include(page.url(), "mode=test")
    assert.include(await page.textContent("main table"), EMAIL)
    await clean(page)
    await shoot(page, "users", true)

    await page.getByLabel("Email address, phone number or user id").fill("nobody@example.com")
    await page.getByRole("button", { name: "Search" }).click()
    await page.getByText("No test user matches").waitFor()
    await clean(page)

    const invalid = page.waitForResponse((r) => r.url().includes("q=not"))
    await page.getByLabel("Email address, phone number or user id").fill("not@an@email")
    await page.getByRole("button", { name: "Search" }).click()
    assert.strictEqual((await invalid).status(), 400)
    const field = page.getByLabel("Email address, phone number or user id")
    assert.strictEqual(await field.getAttribute("aria-invalid"), "true")
    assert.include(await page.textContent(".field-error"), "email address is not valid")
    await clean(page)

    // The user page: both sessions, the sign-ins (one failed guess), the auth requests.
    await page.getByLabel("Email address, phone number or user id").fill(EMAIL)
    await page.getByRole("button", { name: "Search" }).click()
    await page.getByRole("link", { name: EMAIL }).click()
    await page.waitForURL(userPage)
    assert.strictEqual(await page.textContent("h1"), EMAIL)
    const sessionsTable = await page.textContent("table[aria-labelledby=sessions]") ?? ""
    for (const s of [first, second]) assert.include(sessionsTable, s.sessionId)
    assert.include(sessionsTable, "203.0.113.7")
    assert.include(sessionsTable, "Safari/19 on iPhone")
    assert.strictEqual(await page.locator("table[aria-labelledby=sessions] .badge.ok").count(), 2)
    const signIns = page.locator("table[aria-labelledby=signins] tbody tr")
    assert.strictEqual(await signIns.count(), 3)
    assert.strictEqual(await signIns.filter({ hasText: "Signed in" }).count(), 2)
    assert.strictEqual(await signIns.filter({ hasText: "Failed" }).count(), 1)
    assert.strictEqual(await page.locator("table[aria-labelledby=requests] tbody tr").count(), 2)
    assert.strictEqual(await page.locator(`table[aria-labelledby=requests] a[href^="/console/t/${tenant.id}/requests/ar_"][href$="?mode=test"]`).count(), 2)
    await clean(page)
    await shoot(page, "user", true)

    // Revoke the first session: gone from the service's list, its refresh token refused, the other kept.
    await page.getByRole("button", { name: `Revoke session ${first.sessionId}` }).click()
    await page.getByText(`Revoked session ${first.sessionId}.`).waitFor()
    assert.deepStrictEqual(await activeSessions(userId), [second.sessionId])
    assert.include(await page.locator("table[aria-labelledby=sessions] tr", { hasText: first.sessionId }).textContent(), "Revoked")
    await clean(page)
    const refused = await fetch(`${h.url}/v1/token/refresh`, {
      method: "POST", headers: { "content-type": "application/json" }, body: JSON.stringify({ refreshToken: first.refreshToken })
    })
    assert.strictEqual(refused.status, 401)
    const revokedAudit = (await auditEvents()).find((e) => e.type === "session.revoked")
    assert.strictEqual(revokedAudit?.subject, first.sessionId)
    assert.strictEqual(revokedAudit?.actor, "operator:owner@example.com")
    assert.deepStrictEqual(revokedAudit?.details, { count: 1 })

    // Export: the API's document, as a download.
    const download = page.waitForEvent("download")
    await page.getByRole("button", { name: "Download the export (JSON)" }).click()
    const file = await download
    assert.strictEqual(file.suggestedFilename(), `${userId}.json`)
    const exported = JSON.parse(await readFile(await file.path(), "utf8")) as { user: { id: string; email: string }; sessions: unknown[]; authRequests: unknown[] }
    assert.strictEqual(exported.user.id, userId)
    assert.strictEqual(exported.user.email, EMAIL)
    assert.strictEqual(exported.sessions.length, 2)
    assert.strictEqual(exported.authRequests.length, 2)
    const fromApi = (await api("GET", `/v1/users/${userId}/export`)).json
    assert.deepStrictEqual({ ...exported, exportedAt: null }, { ...fromApi, exportedAt: null })
    const csrf = await page.locator("input[name=csrf]").first().inputValue()
    const direct = await page.request.post(`${h.url}/console/t/${tenant.id}/users/${userId}/export`, {
      form: { csrf, mode: "test" }, headers: { origin: h.url }
    })
    assert.strictEqual(direct.status(), 200)
    assert.match(direct.headers()["content-type"] ?? "", /^application\/json/u)
    assert.strictEqual(direct.headers()["content-disposition"], `attachment; filename="${userId}.json"`)
    assert.strictEqual((await auditEvents()).filter((e) => e.type === "user.exported" && e.subject === userId).length, 2)

    // Erase: a wrong confirmation is refused beside the field and erases nothing.
    const refusedErase = page.waitForResponse((r) => r.url().includes("/erase"))
    await page.getByLabel(/To confirm, type the user's email address/u).fill("someone@example.com")
    await page.getByRole("button", { name: "Erase this user" }).click()
    assert.strictEqual((await refusedErase).status(), 400)
    const confirmField = page.locator("#erase-confirm")
    assert.strictEqual(await confirmField.getAttribute("aria-invalid"), "true")
    assert.strictEqual(await confirmField.inputValue(), "someone@example.com")
    assert.include(await page.textContent("#erase-error"), "nothing was erased")
    assert.strictEqual((await api("GET", `/v1/users/${userId}`)).status, 200)
    assert.deepStrictEqual(await activeSessions(userId), [second.sessionId])
    await clean(page)

    await confirmField.fill(EMAIL)
    await page.getByRole("button", { name: "Erase this user" }).click()
    await page.getByText(`Erased user ${userId}`).waitFor()
    assert.match(page.url(), new RegExp(`/console/t/${tenant.id}/users\\?mode=test&notice=`, "u"))
    assert.strictEqual((await api("GET", `/v1/users/${userId}`)).status, 404)
    assert.deepStrictEqual((await api("GET", `/v1/users?email=${encodeURIComponent(EMAIL)}`)).json, { users: [] })
    const erasedAudit = (await auditEvents()).find((e) => e.type === "user.erased")
    assert.strictEqual(erasedAudit?.subject, userId)
    assert.deepStrictEqual(erasedAudit?.details, {})
    await clean(page)
    await context.close()
  }, 90_000)

  it("refuses a viewer's revoke and leaves the session live", async () => {
    const signed = await signInApi("192.0.2.1", "Chrome/150", false, "bob@example.com")
    const { context, page } = await h.signIn("viewer@example.com")
    await page.goto(`${h.url}/console/t/${tenant.id}/users/${signed.userId}?mode=test`)
    assert.strictEqual(await page.getByRole("button", { name: /Revoke/u }).count(), 0)
    assert.include(await page.textContent("main"), "cannot erase users")
    await clean(page)
    const csrf = await page.locator("input[name=csrf]").first().inputValue()
    const revoke = await page.request.post(`${h.url}/console/t/${tenant.id}/users/${signed.userId}/sessions/${signed.sessionId}/revoke`, {
      form: { csrf, mode: "test" }, headers: { origin: h.url }
    })
    assert.strictEqual(revoke.status(), 403)
    assert.deepStrictEqual(await activeSessions(signed.userId), [signed.sessionId as SessionId])
    await context.close()
  }, 60_000)
})
