import { assert, describe, it } from "@effect/vitest"
import { badJsonBody, badParams, MAX_JSON_DEPTH } from "../../src/http/InputCheck.ts"

const nested = (depth: number, leaf = "1") => '{"a":'.repeat(depth - 1) + "{}".replace("}", `"x":${leaf}}`) + "}".repeat(depth - 1)

describe("badJsonBody", () => {
  it("names the field of a NUL at any depth, in arrays and in keys", () => {
    assert.deepStrictEqual(badJsonBody(JSON.stringify({ state: "a\u0000" })), { field: "state", problem: "nul" })
    assert.deepStrictEqual(badJsonBody(JSON.stringify({ metadata: { a: { b: "\u0000" } } })), { field: "metadata.a.b", problem: "nul" })
    assert.deepStrictEqual(badJsonBody(JSON.stringify({ list: ["ok", ["x\u0000"]] })), { field: "list.1.0", problem: "nul" })
    assert.deepStrictEqual(badJsonBody(JSON.stringify({ metadata: { "k\u0000": 1 } })), { field: "metadata", problem: "nul" })
    assert.deepStrictEqual(badJsonBody(JSON.stringify({ "k\u0000": 1 })), { field: undefined, problem: "nul" })
  })

  it("an escaped backslash before u0000, or brackets inside strings, are not findings", () => {
    assert.isUndefined(badJsonBody(JSON.stringify({ text: "\\u0000 is how JSON writes NUL" })))
    assert.isUndefined(badJsonBody(JSON.stringify({ text: "[".repeat(100) + "{".repeat(100) })))
    assert.isUndefined(badJsonBody(JSON.stringify({ many: Array.from({ length: 100 }, () => ({ a: [1] })) })))
  })

  it(`nesting: ${MAX_JSON_DEPTH} containers (the body included) pass, one more is refused, 100,000 cost no stack`, () => {
    assert.isUndefined(badJsonBody(nested(MAX_JSON_DEPTH)))
    assert.deepStrictEqual(badJsonBody(nested(MAX_JSON_DEPTH + 1)), { field: "a", problem: "depth" })
    assert.deepStrictEqual(badJsonBody(`{"metadata":${nested(100_000)}}`), { field: "metadata", problem: "depth" })
    assert.deepStrictEqual(badJsonBody("[".repeat(100_000) + "]".repeat(100_000)), { field: "0", problem: "depth" })
  })

  it("a body that is not JSON is left to the payload decoder", () => {
    assert.isUndefined(badJsonBody('{"a":"\\u0000"'))
    assert.isUndefined(badJsonBody(""))
  })
})

describe("badParams", () => {
  it("names a query or path parameter holding a NUL; a URL without %00 is not looked at", () => {
    assert.deepStrictEqual(badParams("/v1/users?email=a%00b", {}, { email: "a\u0000b" }), { field: "email", problem: "nul" })
    assert.deepStrictEqual(badParams("/v1/users/u%00", { userId: "u\u0000" }, {}), { field: "userId", problem: "nul" })
    assert.deepStrictEqual(badParams("/x?to=a&to=b%00", {}, { to: ["a", "b\u0000"] }), { field: "to", problem: "nul" })
    assert.isUndefined(badParams("/x?q=%2500", {}, { q: "%00" }))
    assert.isUndefined(badParams("/x?q=a", {}, { q: "a\u0000" }))
  })
})
