/** The console's sign-in (#14) in Chromium: an operator gets a code by email and lands on the overview. */
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { type ConsoleHarness, hasChromium, seriousViolations, shoot, startConsole } from "../support/Console.ts"

describe.skipIf(!hasChromium)("console sign-in", () => {
  let h: ConsoleHarness
  beforeAll(async () => {
    h = await startConsole()
    await h.addOperator("owner@example.com", "owner")
  }, 60_000)
  afterAll(async () => h?.close())

  it("signs an operator in with the emailed code and keeps them signed in", async () => {
    const anonymous = await h.browser.newContext()
    const first = await anonymous.newPage()
    await first.goto(`${h.url}/console/go?tenant=none`)
    assert.match(first.url(), /\/console\/signin\?next=%2Fconsole%2Fgo%3Ftenant%3Dnone$/)
    assert.deepStrictEqual(await seriousViolations(first), [])
    await shoot(first, "signin", true)
    await anonymous.close()

    const { context, page } = await h.signIn("owner@example.com")
    assert.include(await page.textContent("header"), "owner@example.com")
    const cookie = (await context.cookies()).find((c) => c.name === "sesame-console")
    assert.isDefined(cookie)
    assert.isTrue(cookie?.httpOnly)
    assert.strictEqual(cookie?.sameSite, "Strict")
    await context.close()
  }, 60_000)
})
