/**
 * The edge of every route, on the wire (issue 10, items 3, 4, 7): bodies bounded before and while they
 * are read, refused types, NUL and deep nesting as VALIDATION_FAILED, and the security headers.
 * Raw HTTP where framing or headers are the point; the derived client where a typed error is.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"
import { jsonOf, wire, type WireResponse } from "../support/Wire.ts"

const ORIGIN = "http://sesame.test"
const json = { "content-type": "application/json" }
const form = { "content-type": "application/x-www-form-urlencoded" }

const setup = Effect.gen(function* () {
  const { keys } = yield* tenantFixture("Edge Co", ["https://app.example.com/cb"])
  const base = yield* baseUrl
  const auth = (key: string) => ({ authorization: `Bearer ${key}` })
  return { keys, base, test: auth(keys.test), live: auth(keys.live), client: yield* clientFor(keys.test) }
})

const codeOf = (response: WireResponse) => jsonOf(response)["code"]

/** 80 KiB of valid JSON in 1 KiB chunks, sent without Content-Length. */
const chunkedJson = (): ReadonlyArray<string> =>
  ['{"email":"big@example.com","state":"', ...Array.from({ length: 80 }, () => "x".repeat(1024)), '"}']

// 127.0.0.1 is the trusted proxy; connecting from 127.0.0.2 is an untrusted peer on the same host.
const suite = (label: string, database: typeof pgliteLayer) =>
  layer(serverLayer(database, { trustProxy: ["127.0.0.1/32"] }), { timeout: 60_000, excludeTestServices: true })(label, (it) => {
    it.effect("every body is bounded: chunked over 64 KiB to /v1 is 413 while streaming; big bodies to /l/ and unknown routes are 413 unread", () =>
      Effect.gen(function* () {
        const { base, test } = yield* setup
        const chunked = yield* wire(`${base}/v1/passwordless/send`, { method: "POST", headers: { ...test, ...json }, body: chunkedJson() })
        assert.strictEqual(chunked.status, 413, chunked.body)
        assert.deepStrictEqual(jsonOf(chunked), { code: "PAYLOAD_TOO_LARGE", message: "The request body is larger than 64 KiB.", status: 413 })

        const big = "csrf=" + "a".repeat(2 * 1024 * 1024)
        const page = yield* wire(`${base}/l/${"t".repeat(43)}`, { method: "POST", headers: { ...form, origin: ORIGIN }, body: big })
        assert.strictEqual(page.status, 413)
        assert.strictEqual(codeOf(page), "PAYLOAD_TOO_LARGE")
        const pageChunked = yield* wire(`${base}/l/${"t".repeat(43)}`, {
          method: "POST", headers: { ...form, origin: ORIGIN }, body: Array.from({ length: 8 }, () => "a".repeat(1024))
        })
        assert.strictEqual(pageChunked.status, 413)

        const unknown = yield* wire(`${base}/no/such/route`, { method: "POST", headers: json, body: JSON.stringify({ a: "x".repeat(100_000) }) })
        assert.strictEqual(unknown.status, 413)
        assert.strictEqual(codeOf(unknown), "PAYLOAD_TOO_LARGE")
      }))

    it.effect("a body without a Content-Type is 415 like a wrong one, chunked or not; /l/ takes only a form", () =>
      Effect.gen(function* () {
        const { base, test } = yield* setup
        const body = JSON.stringify({ email: "untyped@example.com" })
        const chunked = yield* wire(`${base}/v1/passwordless/send`, { method: "POST", headers: test, body: [body] })
        assert.strictEqual(chunked.status, 415, chunked.body)
        assert.deepStrictEqual(jsonOf(chunked), { code: "UNSUPPORTED_MEDIA_TYPE", message: "The request body must be application/json.", status: 415 })
        const sized = yield* wire(`${base}/v1/passwordless/send`, { method: "POST", headers: test, body })
        assert.strictEqual(sized.status, 415)
        const text = yield* wire(`${base}/v1/passwordless/send`, { method: "POST", headers: { ...test, "content-type": "text/plain" }, body })
        assert.strictEqual(codeOf(text), "UNSUPPORTED_MEDIA_TYPE")

        const page = `${base}/l/${"t".repeat(43)}`
        for (const headers of [json, {}, { "content-type": "multipart/form-data; boundary=x" }]) {
          const refused = yield* wire(page, { method: "POST", headers: { ...headers, origin: ORIGIN }, body: "csrf=a&rt=1" })
          assert.strictEqual(refused.status, 415, JSON.stringify(headers))
          assert.deepStrictEqual(jsonOf(refused), {
            code: "UNSUPPORTED_MEDIA_TYPE", message: "The request body must be application/x-www-form-urlencoded.", status: 415
          })
        }
        // an empty POST (no body at all) needs no type
        const logout = yield* wire(`${base}/v1/logout`, { method: "POST", headers: test, body: "" })
        assert.notStrictEqual(logout.status, 415)
      }))

    it.effect("a NUL in any body field is 400 VALIDATION_FAILED naming the field, not a 503", () =>
      Effect.gen(function* () {
        const { client } = yield* setup
        const nul = "a\u0000b"
        const sends: ReadonlyArray<readonly [string, Record<string, unknown>]> = [
          ["state", { state: nul }],
          ["metadata.a.b", { metadata: { a: { b: nul } } }],
          ["metadata.list.1", { metadata: { list: ["ok", nul] } }],
          ["templateVariables.name", { templateVariables: { name: nul } }],
          ["emailContent.bodyText", { emailContent: { bodyText: nul } }],
          ["client.userAgent", { client: { userAgent: nul } }]
        ]
        for (const [field, extra] of sends) {
          const refused = yield* Effect.flip(client.passwordless.send({ payload: { email: "nul@example.com", ...extra } }))
          assert.strictEqual(errorCode(refused), "VALIDATION_FAILED", field)
          assert.strictEqual(refused._tag === "ValidationFailed" ? refused.field : undefined, field)
        }
        const template = yield* Effect.flip(client.tenant.update({
          payload: { settings: { templates: [{ template: "SIGNIN", locale: "de", text: `Code: {{code}}${nul}`, html: "<p>{{code}}</p>" }] } }
        }))
        assert.strictEqual(template._tag === "ValidationFailed" ? template.field : template._tag, "settings.templates.0.text")
        // still fine without the NUL
        const sent = yield* client.passwordless.send({ payload: { email: "fine@example.com", state: "ab", metadata: { a: { b: "c" } } } })
        assert.match(sent.authRequestId, /^ar_/)
      }))

    it.effect("a NUL in a query or path parameter is 400 VALIDATION_FAILED naming the parameter", () =>
      Effect.gen(function* () {
        const { base, test, client } = yield* setup
        const users = yield* Effect.flip(client.users.find({ query: { email: "a\u0000b@example.com" } }))
        assert.strictEqual(users._tag === "ValidationFailed" ? users.field : users._tag, "email")
        const outbox = yield* Effect.flip(client.test.messages({ query: { to: "x\u0000@example.com" } }))
        assert.strictEqual(outbox._tag === "ValidationFailed" ? outbox.field : outbox._tag, "to")
        const path = yield* wire(`${base}/v1/passwordless/req_%00`, { headers: test })
        assert.strictEqual(path.status, 400)
        assert.strictEqual(jsonOf(path)["field"], "authRequestId")
      }))

    it.effect("JSON nested 10,000 deep is 400 VALIDATION_FAILED naming the field; 20 deep is fine", () =>
      Effect.gen(function* () {
        const { base, test } = yield* setup
        const nested = (depth: number) => '{"a":'.repeat(depth) + "1" + "}".repeat(depth)
        const deep = yield* wire(`${base}/v1/passwordless/send`, {
          method: "POST", headers: { ...test, ...json }, body: `{"email":"deep@example.com","metadata":${nested(10_000)}}`
        })
        assert.strictEqual(deep.status, 400, deep.body)
        assert.strictEqual(codeOf(deep), "VALIDATION_FAILED")
        assert.strictEqual(jsonOf(deep)["field"], "metadata")
        const ok = yield* wire(`${base}/v1/passwordless/send`, {
          method: "POST", headers: { ...test, ...json }, body: `{"email":"deep@example.com","metadata":${nested(20)}}`
        })
        assert.strictEqual(ok.status, 202, ok.body)
      }))

    it.effect("Cache-Control: no-store on every response carrying a code, token, key or secret", () =>
      Effect.gen(function* () {
        const { base, test, live } = yield* setup
        const post = (path: string, body: unknown, key = test) =>
          wire(`${base}${path}`, { method: "POST", headers: { ...key, ...json }, body: JSON.stringify(body) })
        const noStore = (response: WireResponse, what: string) => {
          assert.isBelow(response.status, 300, `${what}: ${response.body}`)
          assert.strictEqual(response.headers["cache-control"], "no-store", what)
        }
        const sent = yield* post("/v1/passwordless/send", { email: "cache@example.com" })
        noStore(sent, "test send")
        const { authRequestId, code } = jsonOf(sent)
        // inside the resend cooldown: a 429, which like every answer without its own policy is no-store
        const resent = yield* post("/v1/passwordless/resend", { authRequestId })
        assert.strictEqual(resent.headers["cache-control"], "no-store")
        noStore(yield* wire(`${base}/v1/test/messages?to=cache@example.com`, { headers: test }), "test outbox")
        const verified = yield* post("/v1/passwordless/verify", { authRequestId, code: String(code) })
        noStore(verified, "verify")
        const session = jsonOf(verified)["session"]
        const refreshToken = typeof session === "object" && session !== null && "refreshToken" in session ? session.refreshToken : ""
        noStore(yield* post("/v1/token/refresh", { refreshToken }), "refresh")
        noStore(yield* post("/v1/keys", { name: "ci", scopes: ["passwordless:send"], mode: "live" }, live), "key creation")
        const hook = yield* post("/v1/webhooks", { url: "https://hooks.example.com/a", events: ["login.success"] })
        noStore(hook, "webhook creation")
        const endpoint = jsonOf(hook)["endpoint"]
        const endpointId = typeof endpoint === "object" && endpoint !== null && "id" in endpoint ? String(endpoint.id) : ""
        noStore(yield* post(`/v1/webhooks/${endpointId}/rotate-secret`, {}), "secret rotation")

        const link = jsonOf(yield* post("/v1/passwordless/send", { email: "link@example.com", type: "LINK", redirectUrl: "https://app.example.com/cb" }))
        const page = yield* wire(`${base}/l/${String(link["linkToken"])}`)
        const csrf = /name="csrf" value="([^"]+)"/.exec(page.body)?.[1] ?? ""
        const rt = /name="rt" value="(\d+)"/.exec(page.body)?.[1] ?? ""
        const confirmed = yield* wire(`${base}/l/${String(link["linkToken"])}`, {
          method: "POST", headers: { ...form, origin: ORIGIN }, body: new URLSearchParams({ csrf, rt }).toString()
        })
        assert.strictEqual(confirmed.status, 303)
        const exchangeCode = new URL(confirmed.headers.location ?? "").searchParams.get("code")
        noStore(yield* post("/v1/passwordless/exchange", { code: exchangeCode }), "exchange")

        // what chose to be cached keeps its own policy
        const jwks = yield* wire(`${base}/.well-known/jwks.json`)
        assert.strictEqual(jwks.headers["cache-control"], "public, max-age=300")
      }))

    it.effect("X-Content-Type-Options: nosniff on a 200, an error, an unknown route, the hosted page and /openapi.json", () =>
      Effect.gen(function* () {
        const { base } = yield* setup
        const responses = {
          ok: yield* wire(`${base}/healthz`),
          error: yield* wire(`${base}/v1/tenant`),
          unknown: yield* wire(`${base}/no/such/route`),
          page: yield* wire(`${base}/l/${"t".repeat(43)}`),
          openapi: yield* wire(`${base}/openapi.json`)
        }
        assert.deepStrictEqual(
          Object.fromEntries(Object.entries(responses).map(([name, r]) => [name, [r.status, r.headers["x-content-type-options"]]])),
          { ok: [200, "nosniff"], error: [401, "nosniff"], unknown: [404, "nosniff"], page: [404, "nosniff"], openapi: [200, "nosniff"] }
        )
        assert.strictEqual(responses.page.headers["cache-control"], "no-store")
      }))

    it.effect("HSTS when a trusted proxy says https; never for an untrusted peer's X-Forwarded-Proto or plain http", () =>
      Effect.gen(function* () {
        const { base } = yield* setup
        const https = { "x-forwarded-proto": "https", "x-forwarded-for": "203.0.113.9" }
        const trusted = yield* wire(`${base}/healthz`, { headers: https, localAddress: "127.0.0.1" })
        assert.strictEqual(trusted.headers["strict-transport-security"], "max-age=31536000; includeSubDomains")
        const error = yield* wire(`${base}/v1/tenant`, { headers: https, localAddress: "127.0.0.1" })
        assert.strictEqual(error.headers["strict-transport-security"], "max-age=31536000; includeSubDomains")
        // a client's own value left of the proxy's does not count
        const forged = yield* wire(`${base}/healthz`, { headers: { "x-forwarded-proto": "https, http" }, localAddress: "127.0.0.1" })
        assert.isUndefined(forged.headers["strict-transport-security"])
        const untrusted = yield* wire(`${base}/healthz`, { headers: https, localAddress: "127.0.0.2" })
        assert.strictEqual(untrusted.status, 200)
        assert.isUndefined(untrusted.headers["strict-transport-security"])
        const plain = yield* wire(`${base}/healthz`, { localAddress: "127.0.0.1" })
        assert.isUndefined(plain.headers["strict-transport-security"])
      }))
  })

// PostgreSQL is where a NUL used to surface (as a 503): the edge must hold there too.
suite("the edge (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => suite("the edge (PostgreSQL)", postgresLayer))
