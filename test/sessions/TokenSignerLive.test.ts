import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { TestClock } from "effect/testing"
import { decodeProtectedHeader } from "jose"
import { type Mode, SessionId, UserId } from "../../src/domain/Ids.ts"
import { randomId } from "../../src/platform/Crypto.ts"
import { Secrets } from "../../src/platform/Secrets.ts"
import { newKeyMaterial } from "../../src/sessions/SigningKeys.ts"
import type { AccessClaims, TokenSigner } from "../../src/sessions/TokenSigner.ts"
import { make, rotate } from "../../src/sessions/TokenSignerLive.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { configLayer, newTenant, nowDate } from "./Fixtures.ts"

const claims = (mode: Mode): AccessClaims => {
  const tenant = newTenant()
  return { mode, sub: UserId.make(randomId("usr")), aud: tenant, tid: tenant, sid: SessionId.make(randomId("ses")), amr: ["link"], email: null, phone_number: "+14155550100" }
}

const sign = (signer: TokenSigner["Service"], mode: Mode = "live") =>
  Effect.flatMap(nowDate, (now) => signer.signAccess(claims(mode), 3600, now))
const kidOf = (token: string) => decodeProtectedHeader(token).kid
const crossVerify = (a: TokenSigner["Service"], b: TokenSigner["Service"]) =>
  Effect.gen(function*() {
    const now = yield* nowDate
    for (const mode of ["live", "test"] as const) {
      yield* b.verifyAccess((yield* sign(a, mode)).token, now)
      yield* a.verifyAccess((yield* sign(b, mode)).token, now)
    }
  })

const emptyKeys = Effect.flatMap(PgClient.PgClient, (sql) => sql`DELETE FROM signing_keys`)
const keyRows = Effect.flatMap(PgClient.PgClient, (sql) =>
  sql<{ kid: string; mode: Mode; publicJwk: Record<string, unknown>; privateEnc: Uint8Array; retiredAt: Date | null }>`
    SELECT kid, mode, public_jwk, private_enc, retired_at FROM signing_keys ORDER BY created_at, mode`)
const kids = (signer: TokenSigner["Service"], mode: Mode) => Effect.map(signer.jwks(mode), ({ keys }) => keys.map((k) => k.kid))

const suite = (db: Layer.Layer<PgClient.PgClient>) =>
  it.layer(Layer.mergeAll(db, Secrets.layerTest, configLayer))((it) => {
    it.effect("first start creates one key per mode, its private half sealed (aad = kid)", () =>
      Effect.gen(function*() {
          yield* emptyKeys
        const signer = yield* make
        const rows = yield* keyRows
        assert.deepStrictEqual(rows.map((r) => r.mode), ["live", "test"])
        for (const mode of ["live", "test"] as const) {
          const kid = rows.find((r) => r.mode === mode)?.kid
          assert.strictEqual(kidOf((yield* sign(signer, mode)).token), kid)
          assert.deepStrictEqual(yield* kids(signer, mode), [kid])
        }
        const row = rows[0]!
        assert.notProperty(row.publicJwk, "d")
        const secrets = yield* Secrets
        const d = (JSON.parse(secrets.open(row.privateEnc, row.kid)) as { d: string }).d
        assert.isAbove(d.length, 40)
        const stored = Buffer.from(row.privateEnc)
        assert.isFalse(stored.includes(d), "the JWK d member is not stored in plaintext")
        assert.isFalse(stored.includes(Buffer.from(d, "base64url")), "nor the raw private scalar")
        assert.throws(() => secrets.open(row.privateEnc, "another-kid"))
      }))

    it.effect("a second process reuses the stored key", () =>
      Effect.gen(function*() {
          const a = yield* make
        const b = yield* make
        assert.strictEqual((yield* keyRows).length, 2)
        yield* crossVerify(a, b)
        assert.deepStrictEqual(yield* a.jwks("live"), yield* b.jwks("live"))
        assert.deepStrictEqual(yield* a.jwks("test"), yield* b.jwks("test"))
      }))

    it.effect("processes starting together verify each other's tokens", () =>
      Effect.gen(function*() {
          yield* emptyKeys
        const [a, b] = yield* Effect.all([make, make], { concurrency: "unbounded" })
        yield* Effect.all([a.reload, b.reload])
        yield* crossVerify(a, b)
        assert.strictEqual(kidOf((yield* sign(a)).token), kidOf((yield* sign(b)).token))
        assert.strictEqual(kidOf((yield* sign(a, "test")).token), kidOf((yield* sign(b, "test")).token))
      }))

    it.effect("two keys from a start-up race: both published, the newest signs, an unknown kid triggers a re-read", () =>
      Effect.gen(function*() {
          yield* emptyKeys
        const a = yield* make
        // The other process's insert, which passed its NOT EXISTS check at the same moment as ours.
        const sql = yield* PgClient.PgClient
        const secrets = yield* Secrets
        const m = yield* newKeyMaterial
        yield* TestClock.adjust("1 second")
        yield* sql`INSERT INTO signing_keys ${sql.insert({
          kid: m.kid, mode: "live", alg: "ES256", publicJwk: sql.json(m.publicJwk),
          privateEnc: secrets.seal(JSON.stringify(m.privateJwk), m.kid), createdAt: yield* nowDate
        })}`
        const b = yield* make
        const fromB = (yield* sign(b)).token
        assert.strictEqual(kidOf(fromB), m.kid)
        yield* a.verifyAccess(fromB, yield* nowDate) // a has not re-read yet: the unknown kid makes it
        assert.strictEqual(kidOf((yield* sign(a)).token), m.kid)
        assert.strictEqual((yield* a.jwks("live")).keys.length, 2)
        assert.strictEqual((yield* a.jwks("test")).keys.length, 1)
        yield* crossVerify(a, b)
      }))

    it.effect("rotate: published at once, signs after the activation delay, old key kept until its tokens expire", () =>
      Effect.gen(function*() {
          yield* emptyKeys
        const a = yield* make
        yield* TestClock.adjust("1 hour")
        const oldToken = (yield* sign(a)).token
        const oldKid = kidOf(oldToken)
        const rotated = yield* rotate(yield* nowDate)
        assert.deepStrictEqual(rotated.map((r) => r.mode), ["live", "test"])
        const newKid = rotated[0]!.kid
        yield* a.reload
        assert.sameMembers(yield* kids(a, "live"), [oldKid, newKid])
        assert.strictEqual(kidOf((yield* sign(a)).token), oldKid)
        yield* TestClock.adjust("15 minutes")
        assert.strictEqual(kidOf((yield* sign(a)).token), newKid)
        yield* a.verifyAccess(oldToken, yield* nowDate)
        const b = yield* make
        assert.strictEqual(kidOf((yield* sign(b)).token), newKid)
        assert.isNotNull((yield* keyRows).find((r) => r.kid === oldKid)?.retiredAt)
        yield* TestClock.adjust("1 day")
        yield* TestClock.adjust("6 minutes")
        assert.deepStrictEqual(yield* kids(a, "live"), [newKid])
        assert.deepStrictEqual(yield* kids(a, "test"), [rotated[1]!.kid])
      }))

    it.effect("rotate --mode: rotating one mode leaves the other mode's keys as they were", () =>
      Effect.gen(function*() {
        yield* emptyKeys
        const a = yield* make
        yield* TestClock.adjust("1 hour")
        const before = yield* keyRows
        const [live] = yield* rotate(yield* nowDate, ["live"])
        yield* a.reload
        const afterLive = yield* keyRows
        assert.deepStrictEqual(afterLive.filter((r) => r.mode === "test"), before.filter((r) => r.mode === "test"))
        assert.isNotNull(afterLive.find((r) => r.kid === before.find((b) => b.mode === "live")?.kid)?.retiredAt)
        assert.sameMembers(yield* kids(a, "live"), [...before.filter((r) => r.mode === "live").map((r) => r.kid), live!.kid])
        assert.deepStrictEqual(yield* kids(a, "test"), before.filter((r) => r.mode === "test").map((r) => r.kid))

        const [test] = yield* rotate(yield* nowDate, ["test"])
        assert.strictEqual(test!.mode, "test")
        yield* a.reload
        const afterTest = yield* keyRows
        assert.deepStrictEqual(afterTest.filter((r) => r.mode === "live"), afterLive.filter((r) => r.mode === "live"))
        assert.sameMembers(yield* kids(a, "live"), [...before.filter((r) => r.mode === "live").map((r) => r.kid), live!.kid])
        yield* TestClock.adjust("15 minutes")
        assert.strictEqual(kidOf((yield* sign(a, "live")).token), live!.kid)
        assert.strictEqual(kidOf((yield* sign(a, "test")).token), test!.kid)
        assert.notInclude(yield* kids(a, "live"), test!.kid)
        assert.notInclude(yield* kids(a, "test"), live!.kid)
      }))
  })

describe("TokenSigner on PGlite", () => suite(pgliteLayer))
describe.skipIf(!hasPostgres)("TokenSigner on PostgreSQL", () => suite(postgresLayer))
