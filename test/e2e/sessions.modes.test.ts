/**
 * Issue 10, item 1: test tokens fail live verification. A test key sends a code to a customer's CEO,
 * gets the code back, verifies, and holds an access token and an `email_verified` id token: exactly
 * the README's live check (`jose`, the server's /.well-known/jwks.json, issuer PUBLIC_URL, audience the
 * tenant id, typ at+jwt, ES256) must refuse them, while a live sign-in's tokens pass it. Test tokens
 * come from their own issuer (PUBLIC_URL/test) with their own JWKS and discovery, and every server-side
 * check (introspection, userinfo, refresh) keeps the modes apart.
 */
import { afterAll, assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from "jose"
import type { Database } from "../../src/platform/Database.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { startSmtpSink } from "../support/Processes.ts"
import { baseUrl, serverLayer } from "../support/Server.ts"
import { endUser, liveSignIn, signIn, tenantClients } from "../sessions/HttpFixtures.ts"

const ISSUER = "http://sesame.test" // PUBLIC_URL of the test server
const TEST_ISSUER = `${ISSUER}/test`

const mail = await startSmtpSink()
afterAll(() => mail.close())

/** A verifier as a resource server runs it; the outcome is the payload, or the name of jose's error. */
const verifier = (jwksUrl: string, issuer: string, audience: string, typ?: "at+jwt") => {
  const jwks = createRemoteJWKSet(new URL(jwksUrl))
  return (token: string) =>
    Effect.promise(() =>
      jwtVerify(token, jwks, { issuer, audience, algorithms: ["ES256"], ...(typ === undefined ? {} : { typ }) })
        .then(({ payload }) => payload, (error: Error) => error.name))
}

const fetchJson = (url: string) =>
  Effect.promise(async () => {
    const response = await fetch(url)
    return { response, body: (await response.json()) as Record<string, unknown> }
  })
const kidsAt = (url: string) =>
  Effect.map(fetchJson(url), ({ body }) => (body["keys"] as Array<{ kid: string }>).map((k) => k.kid))
const kidOf = (token: string) => decodeProtectedHeader(token).kid ?? ""

const suite = (name: string, database: Layer.Layer<Database>) =>
  layer(serverLayer(database, { smtpUrl: mail.url }), { timeout: 120_000, excludeTestServices: true })(name, (it) => {
    it.effect("a test-mode access and id token fail the README's live verification; live tokens pass; the test issuer verifies test tokens", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const { tenant, test, live } = yield* tenantClients
        const fromTest = yield* signIn(test, "ceo@customer.example")
        const fromLive = yield* liveSignIn(live, mail)
        assert.strictEqual(decodeJwt(fromTest.idToken)["email_verified"], true)

        // The README's check, word for word; id tokens are checked the same way without `typ` (they are typ JWT).
        const liveAccess = verifier(`${url}/.well-known/jwks.json`, ISSUER, tenant.id, "at+jwt")
        const liveId = verifier(`${url}/.well-known/jwks.json`, ISSUER, tenant.id)
        assert.strictEqual(yield* liveAccess(fromTest.session.accessToken), "JWKSNoMatchingKey")
        assert.strictEqual(yield* liveId(fromTest.idToken), "JWKSNoMatchingKey")
        assert.deepInclude(yield* liveAccess(fromLive.session.accessToken), { iss: ISSUER, aud: tenant.id, mode: "live", sub: fromLive.user.id })
        assert.deepInclude(yield* liveId(fromLive.idToken), { iss: ISSUER, mode: "live", email_verified: true })

        const testAccess = verifier(`${url}/test/.well-known/jwks.json`, TEST_ISSUER, tenant.id, "at+jwt")
        const testId = verifier(`${url}/test/.well-known/jwks.json`, TEST_ISSUER, tenant.id)
        assert.deepInclude(yield* testAccess(fromTest.session.accessToken), { iss: TEST_ISSUER, aud: tenant.id, tid: tenant.id, mode: "test", sub: fromTest.user.id })
        assert.deepInclude(yield* testId(fromTest.idToken), { iss: TEST_ISSUER, mode: "test", email: "ceo@customer.example" })
        assert.strictEqual(yield* testAccess(fromLive.session.accessToken), "JWKSNoMatchingKey")

        // Separate keys: each token's kid is in its own mode's JWKS only.
        const liveKids = yield* kidsAt(`${url}/.well-known/jwks.json`)
        const testKids = yield* kidsAt(`${url}/test/.well-known/jwks.json`)
        assert.isNotEmpty(testKids)
        assert.deepStrictEqual(liveKids.filter((kid) => testKids.includes(kid)), [])
        assert.include(testKids, kidOf(fromTest.session.accessToken))
        assert.include(testKids, kidOf(fromTest.idToken))
        assert.include(liveKids, kidOf(fromLive.session.accessToken))
      }))

    it.effect("test issuer: its own discovery and JWKS, in the contract, cached like the live ones", () =>
      Effect.gen(function*() {
        const url = yield* baseUrl
        const api = yield* endUser()
        const live = yield* api.oidc.configuration()
        const test = yield* api.oidc.testConfiguration()
        assert.deepInclude(live, { issuer: ISSUER, jwks_uri: `${ISSUER}/.well-known/jwks.json`, userinfo_endpoint: `${ISSUER}/v1/userinfo` })
        assert.deepInclude(test, { issuer: TEST_ISSUER, jwks_uri: `${TEST_ISSUER}/.well-known/jwks.json`, userinfo_endpoint: `${ISSUER}/v1/userinfo` })
        assert.include(live.claims_supported, "mode")
        assert.deepStrictEqual({ ...test, issuer: "", jwks_uri: "" }, { ...live, issuer: "", jwks_uri: "" })
        assert.isNotEmpty((yield* api.wellknown.testJwks()).keys)

        for (const [live, test] of [["/.well-known/jwks.json", "/test/.well-known/jwks.json"],
          ["/.well-known/openid-configuration", "/test/.well-known/openid-configuration"]] as const) {
          const a = (yield* fetchJson(`${url}${live}`)).response
          const b = (yield* fetchJson(`${url}${test}`)).response
          assert.strictEqual(b.status, 200)
          assert.strictEqual(b.headers.get("cache-control"), a.headers.get("cache-control"), test)
        }
        const openapi = (yield* fetchJson(`${url}/openapi.json`)).body["paths"] as Record<string, unknown>
        assert.includeMembers(Object.keys(openapi), ["/test/.well-known/jwks.json", "/test/.well-known/openid-configuration"])
      }))

    it.effect("introspection, userinfo and refresh keep the modes apart", () =>
      Effect.gen(function*() {
        const { test, live } = yield* tenantClients
        const fromTest = yield* signIn(test)
        const fromLive = yield* liveSignIn(live, mail)
        const refused = { valid: false, reason: "TOKEN_INVALID" } as const
        assert.deepStrictEqual(yield* live.sessions.verify({ payload: { token: fromTest.session.accessToken } }), refused)
        assert.deepStrictEqual(yield* test.sessions.verify({ payload: { token: fromLive.session.accessToken } }), refused)
        assert.isTrue((yield* test.sessions.verify({ payload: { token: fromTest.session.accessToken } })).valid)
        assert.isTrue((yield* live.sessions.verify({ payload: { token: fromLive.session.accessToken } })).valid)
        assert.strictEqual((yield* (yield* endUser(fromTest.session.accessToken)).token.userinfo()).sub, fromTest.user.id)
        assert.strictEqual((yield* (yield* endUser(fromLive.session.accessToken)).token.userinfo()).sub, fromLive.user.id)

        // A refresh issues tokens of the session's own mode, from that mode's issuer and keys.
        const anon = yield* endUser()
        for (const [signed, mode, issuer, jwks] of [
          [fromTest, "test", TEST_ISSUER, "/test/.well-known/jwks.json"],
          [fromLive, "live", ISSUER, "/.well-known/jwks.json"]
        ] as const) {
          const refreshed = yield* anon.token.refresh({ payload: { refreshToken: signed.session.refreshToken } })
          for (const token of [refreshed.session.accessToken, refreshed.idToken]) {
            const claims = decodeJwt(token)
            assert.deepStrictEqual([claims["mode"], claims.iss, claims["sid"]], [mode, issuer, signed.session.id])
            assert.include(yield* kidsAt(`${yield* baseUrl}${jwks}`), kidOf(token))
          }
          const caller = mode === "test" ? test : live
          assert.isTrue((yield* caller.sessions.verify({ payload: { token: refreshed.session.accessToken } })).valid)
          assert.strictEqual((yield* (yield* endUser(refreshed.session.accessToken)).token.userinfo()).sub, signed.user.id)
        }
      }))
  })

suite("test and live token issuers (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => suite("test and live token issuers (PostgreSQL)", postgresLayer))
