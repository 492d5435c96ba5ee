/**
 * Interoperability: live access tokens from the running server verify with `jose` (createRemoteJWKSet
 * on the server's JWKS URL) and with `jsonwebtoken` + `jwks-rsa`, before, during and after a rotation.
 * Live sign-ins read their code from the email the server sends to a local SMTP sink.
 * The rotation's 15-minute activation delay and the retired key's retention are compressed by moving
 * the stored key times back (what the passing of time would do), then re-reading the keys.
 */
import { afterAll, assert, describe, layer } from "@effect/vitest"
import { PgClient } from "@effect/sql-pg"
import { Effect, type Layer } from "effect"
import { createRemoteJWKSet, decodeProtectedHeader, jwtVerify } from "jose"
import jwt from "jsonwebtoken"
import { JwksClient } from "jwks-rsa"
import type { Database } from "../../src/platform/Database.ts"
import { TokenSigner } from "../../src/sessions/TokenSigner.ts"
import { rotate } from "../../src/sessions/TokenSignerLive.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { startSmtpSink } from "../support/Processes.ts"
import { baseUrl, serverLayer } from "../support/Server.ts"
import { endUser, liveSignIn, tenantClients, uniqueEmail } from "../sessions/HttpFixtures.ts"

const ISSUER = "http://sesame.test" // PUBLIC_URL of the test server

const mail = await startSmtpSink()
afterAll(() => mail.close())

/** The two independent verifiers a customer's API would run, both fetching the server's JWKS over HTTP. */
const verifiers = (jwksUri: string, audience: string) => {
  // In real time a new key is published 15 minutes before it signs, longer than any JWKS cache lives;
  // here those minutes are compressed, so jose's refetch throttle must not hide the new key.
  const remote = createRemoteJWKSet(new URL(jwksUri), { cooldownDuration: 0 })
  const rsa = new JwksClient({ jwksUri, cache: true })
  return {
    jose: (token: string) =>
      Effect.promise(() => jwtVerify(token, remote, { issuer: ISSUER, audience, typ: "at+jwt", algorithms: ["ES256"] }))
        .pipe(Effect.map(({ payload }) => payload)),
    jsonwebtoken: (token: string) =>
      Effect.promise(() =>
        new Promise<jwt.JwtPayload>((resolve, reject) =>
          jwt.verify(token, (header, callback) =>
            rsa.getSigningKey(header.kid).then((key) => callback(null, key.getPublicKey()), (e: Error) => callback(e)),
          { algorithms: ["ES256"], issuer: ISSUER, audience }, (error, payload) =>
            error !== null ? reject(error) : typeof payload === "object" ? resolve(payload) : reject(new Error("string payload")))))
  }
}

const kidOf = (token: string) => decodeProtectedHeader(token).kid ?? ""

const shiftKeys = (interval: string) =>
  Effect.flatMap(PgClient.PgClient, (sql) =>
    sql`UPDATE signing_keys SET created_at = created_at - ${interval}::interval,
      retired_at = retired_at - ${interval}::interval`).pipe(Effect.orDie)

const suite = (name: string, database: Layer.Layer<Database>) =>
  layer(serverLayer(database, { smtpUrl: mail.url }), { timeout: 120_000, excludeTestServices: true })(name, (it) => {
    it.effect("jose and jsonwebtoken+jwks-rsa verify our tokens before, during and after a key rotation", () =>
      Effect.gen(function*() {
        const { tenant, live } = yield* tenantClients
        const url = yield* baseUrl
        const signer = yield* TokenSigner
        const check = verifiers(`${url}/.well-known/jwks.json`, tenant.id)
        const both = (token: string) =>
          Effect.gen(function*() {
            const a = yield* check.jose(token)
            const b = yield* check.jsonwebtoken(token)
            assert.strictEqual(a.sub, b.sub)
            assert.strictEqual(a["sid"], b["sid"])
            return a
          })
        const jwksKids = Effect.promise(() => fetch(`${url}/.well-known/jwks.json`).then((r) => r.json()))
          .pipe(Effect.map((body) => (body as { keys: ReadonlyArray<{ kid: string }> }).keys.map((k) => k.kid).sort()))

        const before = yield* liveSignIn(live, mail, uniqueEmail("before"))
        const first = kidOf(before.session.accessToken)
        const claims = yield* both(before.session.accessToken)
        assert.deepInclude(claims, { sub: before.user.id, sid: before.session.id, tid: tenant.id, iss: ISSUER, mode: "live" })
        assert.isString(claims.jti)

        // A deployment older than the activation delay: the rotated key is published now, signs later.
        yield* shiftKeys("1 hour")
        yield* signer.reload
        const newKid = (yield* rotate(new Date())).find((k) => k.mode === "live")?.kid ?? ""
        yield* signer.reload
        assert.deepStrictEqual(yield* jwksKids, [first, newKid].sort())
        const during = yield* liveSignIn(live, mail, uniqueEmail("during"))
        assert.strictEqual(kidOf(during.session.accessToken), first)
        yield* both(during.session.accessToken)

        // 15 minutes later the new key signs; tokens of the old one still verify everywhere.
        yield* shiftKeys("15 minutes")
        yield* signer.reload
        const after = yield* liveSignIn(live, mail, uniqueEmail("after"))
        assert.strictEqual(kidOf(after.session.accessToken), newKid)
        yield* both(after.session.accessToken)
        const refreshed = yield* (yield* endUser()).token.refresh({ payload: { refreshToken: before.session.refreshToken } })
        assert.strictEqual(kidOf(refreshed.session.accessToken), newKid)
        yield* both(refreshed.session.accessToken)
        yield* both(before.session.accessToken)
        yield* both(during.session.accessToken)

        // Once every token the old key signed has expired (longest TTL + leeway), it leaves the JWKS.
        yield* shiftKeys("1 day 6 minutes")
        yield* signer.reload
        assert.deepStrictEqual(yield* jwksKids, [newKid])
        const fresh = verifiers(`${url}/.well-known/jwks.json`, tenant.id)
        const refused = yield* Effect.flip(Effect.tryPromise(() =>
          jwtVerify(before.session.accessToken, createRemoteJWKSet(new URL(`${url}/.well-known/jwks.json`)), { issuer: ISSUER })))
        assert.include(String(refused.cause), "no applicable key")
        yield* fresh.jose(after.session.accessToken)
      }))

    it.effect("discovery: issuer is exactly PUBLIC_URL; JWKS and discovery carry cache headers", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const response = yield* Effect.promise(() => fetch(`${url}/.well-known/openid-configuration`))
        assert.strictEqual(response.status, 200)
        assert.match(response.headers.get("cache-control") ?? "", /^public, max-age=\d+$/)
        const doc = (yield* Effect.promise(() => response.json())) as Record<string, unknown>
        assert.deepInclude(doc, {
          issuer: ISSUER,
          jwks_uri: `${ISSUER}/.well-known/jwks.json`,
          userinfo_endpoint: `${ISSUER}/v1/userinfo`,
          id_token_signing_alg_values_supported: ["ES256"]
        })
        assert.includeMembers(doc["claims_supported"] as Array<string>, ["sub", "sid", "amr", "email", "email_verified"])
        const jwks = yield* Effect.promise(() => fetch(`${url}/.well-known/jwks.json`))
        assert.strictEqual(jwks.headers.get("cache-control"), "public, max-age=300")
        const body = (yield* Effect.promise(() => jwks.json())) as { keys: Array<Record<string, unknown>> }
        assert.isTrue(body.keys.every((k) => k["d"] === undefined && k["alg"] === "ES256" && k["use"] === "sig"))
      }))
  })

suite("JWT interop (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => suite("JWT interop (PostgreSQL)", postgresLayer))
