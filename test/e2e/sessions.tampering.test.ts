/**
 * RFC 8725 on the wire: every forged, altered, expired or misdirected token is refused by both
 * `/v1/sessions/verify` (valid: false) and `/v1/userinfo` (401), while the genuine one passes.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { createHmac } from "node:crypto"
import { decodeProtectedHeader, exportSPKI, generateKeyPair, importJWK, SignJWT } from "jose"
import type { Mode, TenantId } from "../../src/domain/Ids.ts"
import type { Database } from "../../src/platform/Database.ts"
import { TokenSigner } from "../../src/sessions/TokenSigner.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, errorCode, serverLayer } from "../support/Server.ts"
import { endUser, signIn, tenantClients } from "../sessions/HttpFixtures.ts"

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
const parts = (token: string) => token.split(".") as [string, string, string]
const payloadOf = (token: string): Record<string, unknown> => JSON.parse(Buffer.from(parts(token)[1], "base64url").toString("utf8"))

const hs256 = (header: object, payload: object, secret: Uint8Array | string) => {
  const input = `${b64(header)}.${b64(payload)}`
  return `${input}.${createHmac("sha256", secret).update(input).digest("base64url")}`
}

const foreignKey = Effect.promise(() => generateKeyPair("ES256"))
const signForeign = (payload: Record<string, unknown>, header: Record<string, unknown>) =>
  Effect.flatMap(foreignKey, ({ privateKey }) =>
    Effect.promise(() => new SignJWT(payload).setProtectedHeader({ alg: "ES256", typ: "at+jwt", ...header }).sign(privateKey)))

const suite = (name: string, database: Layer.Layer<Database>) =>
  layer(serverLayer(database), { timeout: 120_000, excludeTestServices: true })(name, (it) => {
    it.effect("alg none, HS256 keyed with our public key, altered payload, foreign keys, expiry, audience, typ, garbage", () =>
      Effect.gen(function*() {
        const { tenant, test } = yield* tenantClients
        const other = yield* tenantClients
        const signed = yield* signIn(test)
        const good = signed.session.accessToken
        const header = decodeProtectedHeader(good)
        const claims = payloadOf(good)
        const signer = yield* TokenSigner
        // The sign-in was made with a test key: its tokens come from the test issuer's keys.
        const jwk = (yield* signer.jwks("test")).keys.find((k) => k.kid === header.kid)
        assert.isDefined(jwk)
        const pem = yield* Effect.promise(async () => {
          const key = await importJWK({ ...jwk }, "ES256")
          if (key instanceof Uint8Array) throw new Error("not an EC public key")
          return exportSPKI(key)
        })
        const now = new Date()
        const access = (overrides: { aud?: TenantId; tid?: TenantId; mode?: Mode }, ttl: number, at: Date) =>
          signer.signAccess({
            mode: overrides.mode ?? "test", sub: signed.user.id, aud: overrides.aud ?? tenant.id, tid: overrides.tid ?? tenant.id, sid: signed.session.id,
            amr: ["otp", "email"], email: signed.user.email, phone_number: null
          }, ttl, at).pipe(Effect.map((t) => t.token))

        const forged: Record<string, { token: string; expired?: boolean }> = {
          "alg none": { token: `${b64({ ...header, alg: "none" })}.${parts(good)[1]}.` },
          "alg none, no signature part": { token: `${b64({ alg: "none", typ: "at+jwt" })}.${parts(good)[1]}` },
          "HS256 keyed with the PEM public key": { token: hs256({ ...header, alg: "HS256" }, claims, pem) },
          "HS256 keyed with the JWK": { token: hs256({ ...header, alg: "HS256" }, claims, JSON.stringify(jwk)) },
          "payload altered (sub)": {
            token: `${parts(good)[0]}.${b64({ ...claims, sub: other.tenant.id.replace("ten_", "usr_") })}.${parts(good)[2]}`
          },
          "payload altered (exp extended)": {
            token: `${parts(good)[0]}.${b64({ ...claims, exp: Number(claims["exp"]) + 86400 })}.${parts(good)[2]}`
          },
          "signature of another token": { token: `${parts(good)[0]}.${parts(good)[1]}.${parts(signed.idToken)[2]}` },
          "unknown kid, jku to an attacker's JWKS": {
            token: yield* signForeign(claims, { kid: "attacker-key", jku: "https://attacker.example/jwks.json" })
          },
          "our kid, another key": { token: yield* signForeign(claims, { kid: header.kid }) },
          "no kid": { token: yield* signForeign(claims, {}) },
          "expired (signed by us)": { token: yield* access({}, 60, new Date(now.getTime() - 3 * 3600_000)), expired: true },
          "another tenant's audience (signed by us)": { token: yield* access({ aud: other.tenant.id, tid: other.tenant.id }, 600, now) },
          "aud differs from tid (signed by us)": { token: yield* access({ aud: other.tenant.id }, 600, now) },
          "a live token for this test session (signed by us)": { token: yield* access({ mode: "live" }, 600, now) },
          "id token as access token (typ JWT)": { token: signed.idToken },
          "garbage": { token: "garbage" },
          "three garbage parts": { token: "a.b.c" },
          "empty": { token: "" },
          // over-long: still TOKEN_INVALID, not VALIDATION_FAILED (API.md); both under the header limit
          "over-long garbage (10,000 chars)": { token: "x".repeat(10_000) },
          "over-long, JWT-shaped (our header, padded payload)": { token: `${parts(good)[0]}.${"A".repeat(9_000)}.${parts(good)[2]}` }
        }

        assert.isTrue((yield* test.sessions.verify({ payload: { token: good } })).valid)
        assert.strictEqual((yield* (yield* endUser(good)).token.userinfo()).sub, signed.user.id)
        for (const [label, { token, expired }] of Object.entries(forged)) {
          const reason = expired === true ? "TOKEN_EXPIRED" : "TOKEN_INVALID"
          const verdict = yield* test.sessions.verify({ payload: { token } })
          assert.deepStrictEqual(verdict, { valid: false, reason }, `sessions/verify: ${label}`)
          const refused = yield* Effect.flip((yield* endUser(token)).token.userinfo())
          assert.strictEqual(errorCode(refused), reason, `userinfo: ${label}`)
        }
      }))

    it.effect("wire: 401 body and WWW-Authenticate on userinfo without a token; no API key needed or accepted", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const { keys } = yield* tenantClients
        for (const authorization of [undefined, `Bearer ${keys.test}`]) {
          const response = yield* Effect.promise(() =>
            fetch(`${url}/v1/userinfo`, { headers: authorization === undefined ? {} : { authorization } }))
          assert.strictEqual(response.status, 401)
          assert.strictEqual(response.headers.get("www-authenticate"), "Bearer error=\"invalid_token\"")
          const body = (yield* Effect.promise(() => response.json())) as Record<string, unknown>
          assert.deepInclude(body, { code: "TOKEN_INVALID", status: 401 })
        }
      }))
  })

suite("token tampering (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => suite("token tampering (PostgreSQL)", postgresLayer))
