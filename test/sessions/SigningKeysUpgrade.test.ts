/**
 * The upgrade to per-mode signing keys (migration 0007): the keys a deployment already has become
 * live keys, test mode gets its own key at the next start, and live access tokens issued before the
 * upgrade (no `mode` claim) keep verifying as live, so sessions in flight survive it.
 */
import { assert, describe, it } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import { Migrator } from "effect/sql"
import { decodeProtectedHeader, importJWK, SignJWT } from "jose"
import { migrations } from "../../migrations/index.ts"
import { SessionId, UserId } from "../../src/domain/Ids.ts"
import { randomId } from "../../src/platform/Crypto.ts"
import { type Database, migrate } from "../../src/platform/Database.ts"
import { Secrets } from "../../src/platform/Secrets.ts"
import { newKeyMaterial } from "../../src/sessions/SigningKeys.ts"
import { make } from "../../src/sessions/TokenSignerLive.ts"
import { emptyPgliteLayer, emptyPostgresLayer, hasPostgres } from "../support/Db.ts"
import { configLayer, ISSUER, newTenant, nowDate } from "./Fixtures.ts"

const before0007 = Migrator.make({})({
  loader: Migrator.fromRecord(Object.fromEntries(Object.entries(migrations).filter(([id]) => id < "0007")))
})

const suite = (db: Layer.Layer<Database>) =>
  it.layer(Layer.mergeAll(db, Secrets.layerTest, configLayer), { timeout: "60 seconds" })((it) => {
    it.effect("keys from before become live; test gets its own; a pre-upgrade token without `mode` still verifies as live", () =>
      Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        const secrets = yield* Secrets
        yield* before0007
        // A deployment before the upgrade: one key, which signed every token of both modes.
        const old = yield* newKeyMaterial
        const now = yield* nowDate
        yield* sql`INSERT INTO signing_keys ${sql.insert({
          kid: old.kid, alg: "ES256", publicJwk: sql.json(old.publicJwk),
          privateEnc: secrets.seal(JSON.stringify(old.privateJwk), old.kid), createdAt: now
        })}`
        const tenant = newTenant()
        const sid = SessionId.make(randomId("ses"))
        const issuedBefore = yield* Effect.promise(async () =>
          new SignJWT({ sub: UserId.make(randomId("usr")), aud: tenant, tid: tenant, sid, amr: ["otp", "email"], jti: "j", iss: ISSUER })
            .setProtectedHeader({ alg: "ES256", typ: "at+jwt", kid: old.kid })
            .setIssuedAt(Math.floor(now.getTime() / 1000)).setExpirationTime(Math.floor(now.getTime() / 1000) + 3600)
            .sign(await importJWK(old.privateJwk, "ES256")))

        assert.deepInclude(yield* migrate, [7, "signing_key_modes"])
        const signer = yield* make
        const rows = yield* sql<{ kid: string; mode: string }>`SELECT kid, mode FROM signing_keys ORDER BY mode`
        assert.strictEqual(rows.length, 2)
        assert.deepStrictEqual(rows[0], { kid: old.kid, mode: "live" })
        assert.strictEqual(rows[1]?.mode, "test")

        const verified = yield* signer.verifyAccess(issuedBefore, now, tenant)
        assert.deepInclude(verified, { mode: "live", sid })
        const sign = (mode: "live" | "test") =>
          signer.signAccess({ mode, sub: verified.sub, aud: tenant, tid: tenant, sid, amr: ["otp"], email: null, phone_number: null }, 60, now)
        assert.strictEqual(decodeProtectedHeader((yield* sign("live")).token).kid, old.kid)
        assert.strictEqual(decodeProtectedHeader((yield* sign("test")).token).kid, rows[1]?.kid)
        assert.deepStrictEqual((yield* signer.jwks("live")).keys.map((k) => k.kid), [old.kid])

        // Every key names its mode from now on: no default, nothing but live or test.
        const m = yield* newKeyMaterial
        const insert = (mode: Record<string, string>) =>
          Effect.flip(sql`INSERT INTO signing_keys ${sql.insert({
            kid: m.kid, ...mode, alg: "ES256", publicJwk: sql.json(m.publicJwk), privateEnc: new Uint8Array([1]), createdAt: now
          })}`)
        yield* insert({})
        yield* insert({ mode: "staging" })
      }))
  })

describe("signing keys upgrade on PGlite", () => suite(emptyPgliteLayer))
describe.skipIf(!hasPostgres)("signing keys upgrade on PostgreSQL", () => suite(emptyPostgresLayer))
