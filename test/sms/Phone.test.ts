import { assert, describe, it } from "@effect/vitest"
import gl from "google-libphonenumber"
import { classifyPhone } from "../../src/domain/Phone.ts"

// libphonenumber's own example number of each type, per country (never numbers typed by hand).
const util = gl.PhoneNumberUtil.getInstance()
const T = gl.PhoneNumberType
const example = (region: string, type: number): string | undefined => {
  const n = util.getExampleNumberForType(region, type)
  return n === null || n === undefined ? undefined : util.format(n, gl.PhoneNumberFormat.E164)
}

const table: ReadonlyArray<readonly [string, number, string]> = [
  ["GB", T.MOBILE, "mobile"], ["GB", T.FIXED_LINE, "landline"], ["GB", T.VOIP, "voip"], ["GB", T.PREMIUM_RATE, "premium_rate"],
  ["GB", T.TOLL_FREE, "toll_free"], ["GB", T.PERSONAL_NUMBER, "personal"],
  ["FR", T.MOBILE, "mobile"], ["FR", T.FIXED_LINE, "landline"], ["FR", T.VOIP, "voip"], ["FR", T.PREMIUM_RATE, "premium_rate"],
  ["DE", T.MOBILE, "mobile"], ["DE", T.FIXED_LINE, "landline"], ["DE", T.PREMIUM_RATE, "premium_rate"],
  ["US", T.MOBILE, "mobile"], ["US", T.PREMIUM_RATE, "premium_rate"], ["US", T.TOLL_FREE, "toll_free"],
  ["IN", T.MOBILE, "mobile"], ["IN", T.TOLL_FREE, "toll_free"],
  ["AU", T.MOBILE, "mobile"], ["AU", T.FIXED_LINE, "landline"], ["AU", T.PREMIUM_RATE, "premium_rate"]
]

describe("classifyPhone", () => {
  for (const [region, type, expected] of table) {
    it(`${region} example ${expected}`, () => {
      const number = example(region, type)
      assert.isDefined(number, `libphonenumber has an example ${expected} number for ${region}`)
      const phone = classifyPhone(number ?? "")
      assert.isDefined(phone)
      assert.strictEqual(phone?.type, expected)
      assert.strictEqual(phone?.isVoip, expected === "voip")
      assert.strictEqual(phone?.country, region)
      assert.strictEqual(phone?.e164, number)
    })
  }

  it("accepts only E.164 and normalises separators; refuses invalid numbers", () => {
    const n = example("GB", T.MOBILE) ?? ""
    const spaced = `${n.slice(0, 3)} ${n.slice(3, 7)}-${n.slice(7)}`
    assert.strictEqual(classifyPhone(spaced)?.e164, n)
    assert.isUndefined(classifyPhone(n.slice(1)))   // no "+": the country would be a guess
    assert.isUndefined(classifyPhone("+1234"))
    assert.isUndefined(classifyPhone("+44 7"))
    assert.isUndefined(classifyPhone("not a phone"))
    assert.strictEqual(classifyPhone(n)?.prefix, n.slice(0, n.length - 4))
  })
})
