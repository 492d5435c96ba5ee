/**
 * The console's sign-in (#14) in Chromium: an operator gets a code by email (the console tenant's test
 * outbox here) and lands on the overview; an owner ends another operator's session on the Operators
 * page, and that operator's cookie no longer opens anything.
 */
import { Effect } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { ensureConsoleTenant } from "../../src/console/Setup.ts"
import { TestOutbox } from "../../src/passwordless/TestOutbox.ts"
import { type ConsoleHarness, hasChromium, seriousViolations, shoot, startConsole } from "../support/Console.ts"

describe.skipIf(!hasChromium)("console sign-in", () => {
  let h: ConsoleHarness
  beforeAll(async () => {
    h = await startConsole()
    await h.addOperator("owner@example.com", "owner")
    await h.addOperator("viewer@example.com", "viewer")
  }, 60_000)
  afterAll(async () => h?.close())

  it("signs an operator in with the emailed code and keeps them signed in", async () => {
    const anonymous = await h.browser.newContext()
    const first = await anonymous.newPage()
    await first.goto(`${h.url}/console/operators`)
    assert.match(first.url(), /\/console\/signin\?next=%2Fconsole%2Foperators$/)
    assert.deepStrictEqual(await seriousViolations(first), [])
    await shoot(first, "signin", true)
    await first.getByLabel("Your email address").fill("owner@example.com")
    await first.getByRole("button", { name: "Email me a sign-in code" }).click()
    await first.getByLabel("Sign-in code").fill("000000")
    await first.getByRole("button", { name: "Sign in" }).click()
    assert.match(await first.getByRole("alert").innerText(), /That code is not right/)
    assert.deepStrictEqual(await seriousViolations(first), [])
    await shoot(first, "signin-code-wrong")
    await first.getByLabel("Sign-in code").fill(await h.codeFor("owner@example.com"))
    await first.getByRole("button", { name: "Sign in" }).click()
    // back where the operator was going
    await first.waitForURL(`${h.url}/console/operators`)
    const cookie = (await anonymous.cookies()).find((c) => c.name === "sesame-console")
    assert.isDefined(cookie)
    assert.isTrue(cookie?.httpOnly)
    assert.strictEqual(cookie?.sameSite, "Strict")
    assert.strictEqual(cookie?.path, "/")
    await anonymous.close()
  }, 60_000)

  it("signs an operator in with the emailed link: the link shows a button, the button signs in, the link works once", async () => {
    const context = await h.browser.newContext()
    const page = await context.newPage()
    await page.goto(`${h.url}/console/signin`)
    await page.getByLabel("Your email address").fill("owner@example.com")
    await page.getByRole("button", { name: "Email me a sign-in code" }).click()
    await page.getByLabel("Sign-in code").waitFor()
    const message = await h.run(Effect.gen(function* () {
      const tenantId = yield* ensureConsoleTenant(h.url)
      return (yield* (yield* TestOutbox).list(tenantId, "owner@example.com", 1))[0]
    }))
    const link = new RegExp(`${h.url.replace(/\./g, "\\.")}/console/signin/link\\?token=[A-Za-z0-9_-]{20,}`).exec(message?.text ?? "")?.[0]
    assert.isDefined(link, message?.text)
    // opening the link (as a mail scanner would) signs nobody in
    await page.goto(link ?? "")
    assert.deepStrictEqual(await seriousViolations(page), [])
    assert.strictEqual((await context.cookies()).filter((c) => c.name === "sesame-console").length, 0)
    await page.getByRole("button", { name: "Continue" }).click()
    await page.waitForURL(`${h.url}/console`)
    assert.include(await page.locator("header").innerText(), "owner@example.com")
    // a second use of the same link is refused
    const again = await h.browser.newContext()
    const second = await again.newPage()
    await second.goto(link ?? "")
    await second.getByRole("button", { name: "Continue" }).click()
    assert.match(await second.getByRole("alert").innerText(), /not valid any more/)
    assert.strictEqual((await again.cookies()).filter((c) => c.name === "sesame-console").length, 0)
    await again.close()
    await context.close()
  }, 60_000)

  it("in the dark scheme and on a phone, the pages keep WCAG AA contrast and fit the screen", async () => {
    await h.addTenant("Dark Mode Co")
    const { context, page } = await h.signIn("owner@example.com", { width: 390, height: 844 }, { colorScheme: "dark" })
    const background = await page.evaluate<string>("getComputedStyle(document.body).backgroundColor")
    assert.strictEqual(background, "rgb(11, 15, 23)", "the dark palette is in use")
    for (const path of ["/console", "/console/tenants", "/console/operators"]) {
      await page.goto(`${h.url}${path}`)
      assert.deepStrictEqual(await seriousViolations(page), [], path)
      // nothing wider than the phone's screen but the scrolling table regions
      const overflow = await page.evaluate<number>("document.documentElement.scrollWidth - document.documentElement.clientWidth")
      assert.isAtMost(overflow, 0, `${path} scrolls sideways`)
    }
    await shoot(page, "dark-phone", true)
    await context.close()
  }, 60_000)

  it("an address that is not an operator gets the same answer and no email", async () => {
    const context = await h.browser.newContext()
    const page = await context.newPage()
    await page.goto(`${h.url}/console/signin`)
    await page.getByLabel("Your email address").fill("stranger@example.com")
    await page.getByRole("button", { name: "Email me a sign-in code" }).click()
    assert.include(await page.locator("main").innerText(), "If s•••@example.com belongs to an operator")
    await page.getByLabel("Sign-in code").fill("123456")
    await page.getByRole("button", { name: "Sign in" }).click()
    assert.match(await page.getByRole("alert").innerText(), /That code is not right/)
    assert.include(page.url(), "/console/signin/code")
    await context.close()
  }, 60_000)

  it("an owner ends another operator's session; that operator's cookie is refused from then on", async () => {
    const viewer = await h.signIn("viewer@example.com")
    await viewer.page.goto(`${h.url}/console/operators`)
    assert.include(await viewer.page.locator("main").innerText(), "viewer@example.com")
    // a viewer sees no "End session" buttons
    assert.strictEqual(await viewer.page.getByRole("button", { name: /End session/ }).count(), 0)

    const owner = await h.signIn("owner@example.com")
    await owner.page.goto(`${h.url}/console/operators`)
    assert.deepStrictEqual(await seriousViolations(owner.page), [])
    await shoot(owner.page, "operators")
    await owner.page.getByRole("button", { name: /End session of viewer@example\.com/ }).first().click()
    assert.include(await owner.page.getByRole("status").innerText(), "Session ended.")

    await viewer.page.goto(`${h.url}/console/operators`)
    assert.match(viewer.page.url(), /\/console\/signin\?next=%2Fconsole%2Foperators$/)
    await viewer.context.close()
    await owner.context.close()
  }, 60_000)
})
