import { assert, describe, it } from "@effect/vitest"
import { authRequestOfUuid, newAuthRequestId, uuidOfAuthRequest } from "../../src/domain/RequestUuid.ts"
import { Schema } from "effect"
import { AuthRequestId } from "../../src/domain/Ids.ts"
import { randomId } from "../../src/platform/Crypto.ts"

const V4 = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

describe("auth request ids with a UUID alias", () => {
  it("a new id is a valid AuthRequestId whose UUID is v4 and maps back to it (10,000 ids, all distinct)", () => {
    const seen = new Set<string>()
    for (let i = 0; i < 10_000; i++) {
      const id = newAuthRequestId()
      assert.isTrue(Schema.is(AuthRequestId)(id))
      const uuid = uuidOfAuthRequest(id)
      assert.match(uuid ?? "", V4)
      assert.strictEqual(authRequestOfUuid(uuid ?? ""), id)
      seen.add(uuid ?? "")
    }
    assert.strictEqual(seen.size, 10_000)
  })

  it("an id made before (131 random bits) has no UUID view unless it happens to decode to a v4; junk never does", () => {
    let views = 0
    for (let i = 0; i < 2_000; i++) {
      const uuid = uuidOfAuthRequest(randomId("ar"))
      if (uuid !== undefined) {
        views++
        assert.match(uuid, V4)
      }
    }
    // 1 in 2^3 old ids is below 2^128, and 1 in 2^6 of those has the v4 bits: ~0.2 %
    assert.isBelow(views, 40)
    assert.isUndefined(uuidOfAuthRequest("ar_short"))
    assert.isUndefined(uuidOfAuthRequest("usr_0123456789ABCDEFGHIJKL"))
    assert.isUndefined(uuidOfAuthRequest("ar_zzzzzzzzzzzzzzzzzzzzzz"))
  })

  it("only version-4 UUIDs name a request", () => {
    assert.isUndefined(authRequestOfUuid("not-a-uuid"))
    assert.isUndefined(authRequestOfUuid("123e4567-e89b-12d3-a456-426614174000"))
    assert.isDefined(authRequestOfUuid("123e4567-e89b-42d3-a456-426614174000"))
    assert.strictEqual(uuidOfAuthRequest(authRequestOfUuid("123E4567-E89B-42D3-A456-426614174000") ?? ""), "123e4567-e89b-42d3-a456-426614174000")
  })
})
