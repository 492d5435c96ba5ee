/**
 * The compatibility kit (src/compat/Kit.ts, OAuth.ts, Products.ts, http/KeyResolver.ts,
 * keys/ClientCredentials.ts, the compat policies of http/Edge.ts) over real HTTP, on PGlite and
 * PostgreSQL: what no single product's test covers — client credentials at both token endpoints
 * (form, JSON, HTTP Basic), what a bearer may do (its key's mode, tenant, scopes, IP allowlist, limit,
 * expiry from the Clock, forgeries), the edge's body policy per product and path, and the 404 fallback
 * routes against the real ones.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect } from "effect"
import type { HttpServerResponse } from "effect/http"
import { TestClock } from "effect/testing"
import { compatEdges } from "../../src/compat/Products.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"
import { jsonOf, wire, type WireResponse } from "../support/Wire.ts"

const SCALEKIT_TOKEN = "/compat/scalekit/oauth/token"
const TRANSMIT_TOKEN = "/compat/transmit/cis/oidc/token"
const SCALEKIT_SEND = "/compat/scalekit/api/v1/passwordless/email/send"
const AUTH1_SEND = "/compat/auth1/api/auth/sms/request"

/** Each token endpoint and how its product words "no valid client": status and a body check. */
const tokenEndpoints = [
  { name: "Scalekit", path: SCALEKIT_TOKEN, refused: (body: Record<string, unknown>) => assert.strictEqual(body["code"], 16) },
  { name: "Transmit", path: TRANSMIT_TOKEN, refused: (body: Record<string, unknown>) => assert.deepStrictEqual(Object.keys(body).sort(), ["error_code", "message"]) }
] as const

const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`, "utf8").toString("base64")}`

/** What a canned edge answer (413, 415, 404) sends: status and JSON body. */
const cannedOf = (response: HttpServerResponse.HttpServerResponse) => {
  const body = response.body
  assert.strictEqual(body._tag, "Uint8Array")
  return { status: response.status, json: body._tag === "Uint8Array" ? JSON.parse(new TextDecoder().decode(body.body)) as unknown : undefined }
}

const setup = Effect.gen(function* () {
  const { tenant, keys } = yield* tenantFixture("Kit Co")
  const base = yield* baseUrl
  const post = (path: string, body: string, headers: Record<string, string>) => wire(`${base}${path}`, { method: "POST", headers, body })
  const form = (path: string, fields: Record<string, string>, headers: Record<string, string> = {}) =>
    post(path, new URLSearchParams(fields).toString(), { "content-type": "application/x-www-form-urlencoded", ...headers })
  const json = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    post(path, JSON.stringify(body), { "content-type": "application/json", ...headers })
  /** The access token of a successful client-credentials answer. */
  const accessToken = (response: WireResponse) => {
    assert.strictEqual(response.status, 200, response.body)
    const body = jsonOf(response)
    assert.deepStrictEqual(Object.keys(body).sort(), ["access_token", "expires_in", "token_type"])
    assert.deepStrictEqual([body["token_type"], body["expires_in"]], ["Bearer", 900])
    assert.match(String(body["access_token"]), /^sat_key_[0-9A-Za-z]+\.\d+\.[A-Za-z0-9_-]{43}$/)
    return String(body["access_token"])
  }
  return { tenant, keys, base, post, form, json, accessToken, native: yield* clientFor(keys.test) }
})

const suite = (name: string, database: typeof pgliteLayer) =>
  // Workers poll once a minute: TestClock.adjust wakes every poll it skips over, and nothing here needs them.
  layer(serverLayer(database, { workerPollMs: 60_000 }), { timeout: 60_000 })(name, (it) => {
    it.effect("client credentials at both token endpoints: form, JSON, HTTP Basic (percent-encoded too); bad Basic is a refusal, never a 500", () =>
      Effect.gen(function* () {
        const { keys, form, json, accessToken } = yield* setup
        for (const endpoint of tokenEndpoints) {
          const at = endpoint.name
          accessToken(yield* form(endpoint.path, { grant_type: "client_credentials", client_id: "any", client_secret: keys.test }))
          accessToken(yield* json(endpoint.path, { grant_type: "client_credentials", client_secret: keys.test }))
          // RFC 6749 §2.3.1: HTTP Basic, the password form-urlencoded before base64
          accessToken(yield* form(endpoint.path, { grant_type: "client_credentials" }, { authorization: basic("any", keys.test) }))
          const encoded = [...keys.test].map((c) => `%${c.charCodeAt(0).toString(16).padStart(2, "0")}`).join("")
          accessToken(yield* form(endpoint.path, { grant_type: "client_credentials" }, { authorization: basic("any", encoded) }))
          // a body secret wins over the header
          accessToken(yield* form(endpoint.path, { grant_type: "client_credentials", client_secret: keys.test }, { authorization: basic("any", "wrong") }))
          for (const authorization of [basic("any", "%zz"), basic("any", "%E0%A4%A"), `Basic ${Buffer.from("no-colon").toString("base64")}`,
            "Basic !!!", basic("any", ""), basic("any", `sk_test_${"A".repeat(43)}`)]) {
            const refused = yield* form(endpoint.path, { grant_type: "client_credentials" }, { authorization })
            assert.strictEqual(refused.status, 401, `${at} ${authorization}: ${refused.body}`)
            endpoint.refused(jsonOf(refused))
          }
        }
      }))

    it.effect("a bearer is its key: the key's mode and tenant, scopes and IP allowlist; it counts against the key's limit", () =>
      Effect.gen(function* () {
        const { keys, form, json, accessToken, native } = yield* setup
        const tokenOf = (secret: string) => Effect.map(form(SCALEKIT_TOKEN, { grant_type: "client_credentials", client_secret: secret }), accessToken)
        const asTest = yield* clientFor(yield* tokenOf(keys.test))
        const asLive = yield* clientFor(yield* tokenOf(keys.live))
        // test mode: the answer carries the code; live mode does not, and neither sees the other's requests
        const testSend = yield* asTest.passwordless.send({ payload: { email: "mode@example.com" } })
        assert.match(testSend.code ?? "", /^\d{6}$/)
        const liveSend = yield* asLive.passwordless.send({ payload: { email: "mode@example.com" } })
        assert.isUndefined(liveSend.code)
        assert.strictEqual(errorCode(yield* Effect.flip(asTest.passwordless.status({ params: { authRequestId: liveSend.authRequestId } }))), "NOT_FOUND")
        assert.strictEqual(errorCode(yield* Effect.flip(asLive.passwordless.status({ params: { authRequestId: testSend.authRequestId } }))), "NOT_FOUND")
        assert.strictEqual((yield* asTest.passwordless.status({ params: { authRequestId: testSend.authRequestId } })).id, testSend.authRequestId)
        // another tenant's bearer sees nothing of this one
        const other = yield* tenantFixture("Other Co")
        const asOther = yield* clientFor(yield* tokenOf(other.keys.test))
        assert.strictEqual(errorCode(yield* Effect.flip(asOther.passwordless.status({ params: { authRequestId: testSend.authRequestId } }))), "NOT_FOUND")

        // the key's scopes and IP allowlist bind its bearer, in the product's words (Scalekit: PERMISSION_DENIED)
        const verifyOnly = yield* native.keys.create({ payload: { name: "verify only", mode: "test", scopes: ["passwordless:verify"] } })
        const narrow = yield* tokenOf(verifyOnly.secret)
        const noScope = yield* json(SCALEKIT_SEND, { email: "k@example.com" }, { authorization: `Bearer ${narrow}` })
        assert.deepStrictEqual([noScope.status, jsonOf(noScope)["code"]], [403, 7], noScope.body)
        const elsewhere = yield* native.keys.create({
          payload: { name: "elsewhere", mode: "test", scopes: ["passwordless:send"], ipAllowlist: ["203.0.113.9"] }
        })
        const far = yield* tokenOf(elsewhere.secret)
        const refused = yield* json(SCALEKIT_SEND, { email: "k@example.com" }, { authorization: `Bearer ${far}` })
        assert.deepStrictEqual([refused.status, jsonOf(refused)["code"]], [403, 7], refused.body)
        assert.include(String(jsonOf(refused)["message"]), "address")

        // one per-minute budget for a key and its bearers, answered with Retry-After and X-RateLimit-*
        yield* native.tenant.update({ payload: { settings: { limits: { requestsPerKeyMinute: 2 } } } })
        const limited = yield* native.keys.create({ payload: { name: "limited", mode: "test", scopes: ["passwordless:send"] } })
        const bearer = yield* tokenOf(limited.secret)
        const first = yield* json(SCALEKIT_SEND, { email: "l1@example.com" }, { authorization: `Bearer ${limited.secret}` })
        assert.strictEqual(first.status, 200, first.body)
        const second = yield* json(SCALEKIT_SEND, { email: "l2@example.com" }, { authorization: `Bearer ${bearer}` })
        assert.strictEqual(second.status, 200, second.body)
        const third = yield* json(SCALEKIT_SEND, { email: "l3@example.com" }, { authorization: `Bearer ${bearer}` })
        assert.deepStrictEqual([third.status, jsonOf(third)["code"]], [429, 8], third.body)
        assert.match(String(third.headers["retry-after"]), /^[1-9]\d*$/)
        assert.strictEqual(third.headers["x-ratelimit-limit"], "2")
        assert.strictEqual(third.headers["x-ratelimit-remaining"], "0")
        const auth1 = yield* json(AUTH1_SEND, { phone: "+447400123456", email: "l4@example.com", tenant: "t" }, { "x-api-key": limited.secret })
        assert.deepStrictEqual([auth1.status, jsonOf(auth1)["error"]], [429, "RATE_LIMIT_EXCEEDED"], auth1.body)
        assert.strictEqual(auth1.headers["retry-after"], String(jsonOf(auth1)["retryAfter"]))
      }))

    it.effect("a bearer's life: 900 s on the Clock, ended by its key's revocation or expiry; an altered bearer is refused", () =>
      Effect.gen(function* () {
        const { keys, form, json, accessToken, native } = yield* setup
        const tokenOf = (secret: string) => Effect.map(form(TRANSMIT_TOKEN, { grant_type: "client_credentials", client_secret: secret }), accessToken)
        const sendWith = (bearer: string) => json(SCALEKIT_SEND, { email: "life@example.com" }, { authorization: `Bearer ${bearer}` })
        const refusedWith = (bearer: string) =>
          Effect.map(sendWith(bearer), (answer) => assert.deepStrictEqual([answer.status, jsonOf(answer)["code"]], [401, 16], `${bearer}: ${answer.body}`))

        const token = yield* tokenOf(keys.test)
        assert.strictEqual((yield* sendWith(token)).status, 200)
        // altered: the MAC binds the key id and the expiry
        const [, id = "", expires = "", mac = ""] = /^sat_(key_[0-9A-Za-z]+)\.(\d+)\.(.+)$/.exec(token) ?? []
        const other = yield* native.keys.create({ payload: { name: "other", mode: "test", scopes: ["passwordless:send"] } })
        yield* refusedWith(`sat_${other.key.id}.${expires}.${mac}`)
        yield* refusedWith(`sat_${id}.${Number(expires) + 3600}.${mac}`)
        yield* refusedWith(`sat_${id}.${expires}.${mac.slice(0, 20)}${mac[20] === "A" ? "B" : "A"}${mac.slice(21)}`)
        yield* refusedWith(`sat_${id}.${expires}`)
        yield* refusedWith("sat_")

        // expiry is the Clock's: still good after 899 s, refused at 900 s
        yield* TestClock.adjust("899 seconds")
        assert.strictEqual((yield* sendWith(token)).status, 200)
        yield* TestClock.adjust("1 second")
        yield* refusedWith(token)

        // revoking the key ends its bearer at once (this process) and refuses new ones
        const revocable = yield* native.keys.create({ payload: { name: "revocable", mode: "test", scopes: ["passwordless:send"] } })
        const doomed = yield* tokenOf(revocable.secret)
        assert.strictEqual((yield* sendWith(doomed)).status, 200)
        yield* native.keys.revoke({ params: { keyId: revocable.key.id } })
        yield* refusedWith(doomed)
        const reissue = yield* form(TRANSMIT_TOKEN, { grant_type: "client_credentials", client_secret: revocable.secret })
        assert.strictEqual(reissue.status, 401, reissue.body)

        // a key that expires before its bearer takes the bearer with it
        const now = Math.floor((yield* Clock.currentTimeMillis) / 1000)
        const brief = yield* native.keys.create({ payload: { name: "brief", mode: "test", scopes: ["passwordless:send"], expiresAt: now + 60 } })
        const short = yield* tokenOf(brief.secret)
        assert.strictEqual((yield* sendWith(short)).status, 200)
        yield* TestClock.adjust("61 seconds")
        yield* refusedWith(short)
      }))

    it.effect("the edge under each prefix: 413, 415 and 404 in the product's words; a form only at a token path", () =>
      Effect.gen(function* () {
        const { keys, base, post, form, json } = yield* setup
        const big = JSON.stringify({ padding: "x".repeat(70 * 1024) })
        for (const edge of compatEdges) {
          const same = (answer: WireResponse, canned: HttpServerResponse.HttpServerResponse, what: string) => {
            const expected = cannedOf(canned)
            assert.strictEqual(answer.status, expected.status, `${edge.prefix} ${what}: ${answer.body}`)
            assert.deepStrictEqual(jsonOf(answer), expected.json, `${edge.prefix} ${what}`)
          }
          same(yield* post(`${edge.prefix}/nope`, big, { "content-type": "application/json" }), edge.tooLarge, "413")
          same(yield* post(`${edge.prefix}/nope`, "a=1", { "content-type": "text/plain" }), edge.unsupported(false), "415")
          same(yield* form(`${edge.prefix}/nope`, { a: "1" }), edge.unsupported(false), "form off a token path")
          same(yield* json(`${edge.prefix}/nope`, {}), edge.notFound, "404")
          same(yield* wire(`${base}${edge.prefix}/`), edge.notFound, "404 at the prefix itself")
          same(yield* wire(`${base}${edge.prefix}`), edge.notFound, "404 at the bare prefix")
          for (const path of edge.formPaths) {
            same(yield* post(path, "a=1", { "content-type": "text/plain" }), edge.unsupported(true), "415 at a token path")
            // a query string does not hide a token path from the policy
            accessTokenStatus(yield* form(`${path}?x=1`, { grant_type: "client_credentials", client_secret: keys.test }))
          }
        }
        // a chunked body (no Content-Length) is cut at 64 KiB while it is read: the product's 413 still
        const chunks = ["{\"grant_type\":\"client_credentials\",\"pad\":\"", ...Array.from({ length: 70 }, () => "x".repeat(1024)), "\"}"]
        const auth1Edge = compatEdges.find((e) => e.prefix === "/compat/auth1")
        const scalekitEdge = compatEdges.find((e) => e.prefix === "/compat/scalekit")
        assert.isDefined(auth1Edge)
        assert.isDefined(scalekitEdge)
        for (const [path, edge, headers] of [
          [AUTH1_SEND, auth1Edge, { "x-api-key": keys.test }],
          [SCALEKIT_TOKEN, scalekitEdge, {}]
        ] as const) {
          if (edge === undefined) continue
          const streamed = yield* wire(`${base}${path}`, { method: "POST", headers: { "content-type": "application/json", ...headers }, body: chunks })
          const expected = cannedOf(edge.tooLarge)
          assert.strictEqual(streamed.status, 413, `${path}: ${streamed.body}`)
          assert.deepStrictEqual(jsonOf(streamed), expected.json)
        }
        // JSON with parameters is JSON; a look-alike type is not
        const charset = yield* post(AUTH1_SEND, JSON.stringify({ phone: "+447400123456", email: "c@example.com", tenant: "t" }), {
          "content-type": "application/json; charset=utf-8", "x-api-key": keys.test
        })
        assert.strictEqual(charset.status, 200, charset.body)
        const lookalike = yield* post(AUTH1_SEND, "{}", { "content-type": "application/jsonp", "x-api-key": keys.test })
        assert.deepStrictEqual([lookalike.status, jsonOf(lookalike)["error"]], [415, "UNSUPPORTED_MEDIA_TYPE"])
        // a form to a JSON route of a product that has a token path
        const scalekitForm = yield* form(SCALEKIT_SEND, { email: "f@example.com" }, { authorization: `Bearer ${keys.test}` })
        assert.deepStrictEqual([scalekitForm.status, jsonOf(scalekitForm)["code"]], [415, 3], scalekitForm.body)
      }))

    it.effect("the 404 fallback shadows no real route: every compatibility path in /openapi.json reaches its handler", () =>
      Effect.gen(function* () {
        const { base } = yield* setup
        const doc = jsonOf(yield* wire(`${base}/openapi.json`))
        const paths = Object.entries(doc["paths"] as Record<string, Record<string, unknown>>).filter(([path]) => path.startsWith("/compat/"))
        const prefixes = new Set(compatEdges.map((edge) => edge.prefix))
        for (const prefix of prefixes) assert.isTrue(paths.some(([path]) => path.startsWith(`${prefix}/`)), `${prefix} has routes`)
        let checked = 0
        for (const [path, operations] of paths) {
          const edge = compatEdges.find((e) => path.startsWith(`${e.prefix}/`))
          assert.isDefined(edge, path)
          if (edge === undefined) continue
          const notFound = cannedOf(edge.notFound).json
          for (const method of Object.keys(operations).filter((m) => ["get", "post", "patch", "put", "delete"].includes(m))) {
            const url = `${base}${path.replace(/\{[^}]+\}/g, "x")}`
            const withBody = method === "post" || method === "patch" || method === "put"
            const answer = yield* wire(url, {
              method: method.toUpperCase(),
              ...(withBody ? { headers: { "content-type": "application/json" }, body: "{}" } : {})
            })
            const body = answer.body === "" ? undefined : jsonOf(answer)
            assert.isFalse(answer.status === 404 && JSON.stringify(body) === JSON.stringify(notFound), `${method} ${path} fell through: ${answer.body}`)
            checked++
          }
        }
        assert.isAtLeast(checked, 20)
      }))
  })

/** A token path's answer to a valid client-credentials form: 200 with a bearer. */
const accessTokenStatus = (response: WireResponse) => {
  assert.strictEqual(response.status, 200, response.body)
  assert.strictEqual(jsonOf(response)["token_type"], "Bearer")
}

suite("compatibility kit (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => {
  suite("compatibility kit (PostgreSQL)", postgresLayer)
})
