/**
 * The native capabilities the compatibility adapters are built on (issue 12), each through `/v1`:
 * verify without a session (`confirm`), the link mode and landing parameter per request, an SMS
 * request verified by the email it is bound to, the approval in the ID token, the redirect URL on
 * verify, UUID and integer aliases, why a key was refused, and client-credentials bearers.
 */
import { assert, layer } from "@effect/vitest"
import { Clock, Effect } from "effect"
import { TestClock } from "effect/testing"
import { decodeJwt } from "jose"
import { authRequestOfUuid, uuidOfAuthRequest } from "../../src/domain/RequestUuid.ts"
import { ApiKeys } from "../../src/keys/ApiKeys.ts"
import { ClientCredentials } from "../../src/keys/ClientCredentials.ts"
import { UserStore } from "../../src/sessions/UserStore.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { baseUrl, clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"
import { jsonOf, wire } from "../support/Wire.ts"

const MOBILE = "+14155552671"
const fixture = Effect.gen(function* () {
  const { tenant, keys } = yield* tenantFixture()
  return { tenant, keys, test: yield* clientFor(keys.test), live: yield* clientFor(keys.live) }
})

const databases = [["PGlite", pgliteLayer], ...(hasPostgres ? [["PostgreSQL", postgresLayer] as const] : [])] as const
for (const [name, database] of databases)
layer(serverLayer(database), { timeout: 60_000 })(`native capabilities for the adapters (${name})`, (it) => {
  it.effect("confirm proves the code and the user but opens no session; the code is then used", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const sent = yield* test.passwordless.send({ payload: { email: "confirm@example.com", state: "st" } })
      const confirmed = yield* test.passwordless.confirm({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })
      assert.strictEqual(confirmed.user.email, "confirm@example.com")
      assert.isTrue(confirmed.isNewUser)
      assert.strictEqual(confirmed.authRequest.state, "st")
      assert.isFalse("session" in confirmed)
      const sessions = yield* test.sessions.list({ params: { userId: confirmed.user.id } })
      assert.strictEqual(sessions.sessions.length, 0)
      const again = yield* Effect.flip(test.passwordless.confirm({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } }))
      assert.strictEqual(errorCode(again), "ALREADY_USED")
      const wrong = yield* test.passwordless.send({ payload: { email: "confirm@example.com" } })
      const bad = yield* Effect.flip(test.passwordless.confirm({ payload: { authRequestId: wrong.authRequestId, code: wrong.code === "000000" ? "111111" : "000000" } }))
      assert.strictEqual(errorCode(bad), "CODE_INVALID")
      const verified = yield* test.passwordless.verify({ payload: { authRequestId: wrong.authRequestId, code: wrong.code ?? "" } })
      assert.isFalse(verified.isNewUser)
      assert.strictEqual((yield* test.sessions.list({ params: { userId: confirmed.user.id } })).sessions.length, 1)
    }))

  it.effect("linkMode and linkParam per request decide the email's link; verify answers the redirect URL", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const redirectUrl = "https://app.example.com/cb"
      const direct = yield* test.passwordless.send({
        payload: { email: "direct@example.com", type: "LINK", redirectUrl, linkMode: "direct", linkParam: "magic_token" }
      })
      const hosted = yield* test.passwordless.send({ payload: { email: "hosted@example.com", type: "LINK", redirectUrl, linkMode: "hosted" } })
      const plain = yield* test.passwordless.send({ payload: { email: "plain@example.com", type: "LINK", redirectUrl, linkMode: "direct" } })
      const textTo = (to: string) => Effect.map(test.test.messages({ query: { to } }), (m) => m.messages[0]?.text ?? "")
      assert.include(yield* textTo("direct@example.com"), `${redirectUrl}?magic_token=${direct.linkToken}`)
      assert.include(yield* textTo("hosted@example.com"), `http://sesame.test/l/${hosted.linkToken}`)
      assert.include(yield* textTo("plain@example.com"), `${redirectUrl}?link_token=${plain.linkToken}`)
      const verified = yield* test.passwordless.verify({ payload: { linkToken: direct.linkToken ?? "" } })
      assert.strictEqual(verified.authRequest.redirectUrl, redirectUrl)
    }))

  it.effect("an SMS bound to an email verifies by {email, code, channel: sms}; without the channel the email has no request", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const sent = yield* test.passwordless.send({ payload: { channel: "sms", phone: MOBILE, email: "bound@example.com" } })
      const noChannel = yield* Effect.flip(test.passwordless.verify({ payload: { email: "bound@example.com", code: sent.code ?? "" } }))
      assert.strictEqual(errorCode(noChannel), "NOT_FOUND")
      const other = yield* Effect.flip(test.passwordless.verify({ payload: { email: "other@example.com", code: sent.code ?? "", channel: "sms" } }))
      assert.strictEqual(errorCode(other), "NOT_FOUND")
      const ok = yield* test.passwordless.verify({ payload: { email: "Bound@Example.com", code: sent.code ?? "", channel: "sms" } })
      assert.strictEqual(ok.user.phone, MOBILE)
      assert.strictEqual(ok.authRequest.id, sent.authRequestId)
    }))

  it.effect("the ID token carries the approval: its pairs, else the transaction and summary", () =>
    Effect.gen(function* () {
      const { test } = yield* fixture
      const withData = yield* test.passwordless.send({
        payload: { email: "pay@example.com", approval: { transactionId: "tx-1", summary: "Pay 10 EUR", data: { amount: "10", currency: "EUR" } } }
      })
      const a = yield* test.passwordless.verify({ payload: { authRequestId: withData.authRequestId, code: withData.code ?? "" } })
      assert.deepStrictEqual(decodeJwt(a.idToken)["approval_data"], { amount: "10", currency: "EUR" })
      assert.deepStrictEqual(a.authRequest.approval?.data, { amount: "10", currency: "EUR" })
      const plain = yield* test.passwordless.send({ payload: { email: "pay@example.com", approval: { transactionId: "tx-2", summary: "Pay 5 EUR" } } })
      const b = yield* test.passwordless.verify({ payload: { authRequestId: plain.authRequestId, code: plain.code ?? "" } })
      assert.deepStrictEqual(decodeJwt(b.idToken)["approval_data"], { transactionId: "tx-2", summary: "Pay 5 EUR" })
      const none = yield* test.passwordless.send({ payload: { email: "pay@example.com" } })
      const c = yield* test.passwordless.verify({ payload: { authRequestId: none.authRequestId, code: none.code ?? "" } })
      assert.isUndefined(decodeJwt(c.idToken)["approval_data"])
    }))

  it.effect("every new auth request id has a UUIDv4 alias; users have a stable integer alias", () =>
    Effect.gen(function* () {
      const { test, tenant } = yield* fixture
      const users = yield* UserStore
      const one = yield* test.passwordless.send({ payload: { email: "n1@example.com" } })
      const uuid = uuidOfAuthRequest(one.authRequestId)
      assert.match(uuid ?? "", /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
      assert.strictEqual(authRequestOfUuid(uuid ?? ""), one.authRequestId)
      const status = yield* test.passwordless.status({ params: { authRequestId: authRequestOfUuid(uuid ?? "") ?? one.authRequestId } })
      assert.strictEqual(status.id, one.authRequestId)
      const u1 = yield* test.passwordless.verify({ payload: { authRequestId: one.authRequestId, code: one.code ?? "" } })
      const two = yield* test.passwordless.send({ payload: { email: "n2@example.com" } })
      const u2 = yield* test.passwordless.verify({ payload: { authRequestId: two.authRequestId, code: two.code ?? "" } })
      const key = { tenantId: tenant.id, mode: "test" as const }
      const n1 = yield* users.numberOf(key, u1.user.id)
      const n2 = yield* users.numberOf(key, u2.user.id)
      assert.isTrue(Number.isSafeInteger(n1) && Number.isSafeInteger(n2))
      assert.notStrictEqual(n1, n2)
      const again = yield* test.passwordless.send({ payload: { email: "n1@example.com" } })
      const u1b = yield* test.passwordless.verify({ payload: { authRequestId: again.authRequestId, code: again.code ?? "" } })
      assert.strictEqual(yield* users.numberOf(key, u1b.user.id), n1)
      assert.isUndefined(yield* users.numberOf({ ...key, mode: "live" }, u1.user.id))
    }))

  it.effect("a refused key says why (unknown, revoked, expired); /v1 still answers one API_KEY_INVALID", () =>
    Effect.gen(function* () {
      const { tenant, live } = yield* fixture
      const keys = yield* ApiKeys
      const reason = (secret: string) => Effect.map(Effect.flip(keys.authenticate(secret)), (e) => e._tag === "KeyRefused" ? e.reason : e._tag)
      assert.strictEqual(yield* reason(`sk_live_${"A".repeat(43)}`), "unknown")
      assert.strictEqual(yield* reason("not-a-key"), "unknown")
      const revoked = yield* keys.create({ tenantId: tenant.id, name: "r", mode: "live", scopes: ["passwordless:send"] })
      yield* keys.revoke(revoked.key.id)
      assert.strictEqual(yield* reason(revoked.secret), "revoked")
      const now = yield* Clock.currentTimeMillis
      const expiring = yield* keys.create({ tenantId: tenant.id, name: "e", mode: "live", scopes: ["passwordless:send"], expiresAt: new Date(now + 60_000) })
      assert.strictEqual((yield* keys.authenticate(expiring.secret)).id, expiring.key.id)
      yield* TestClock.adjust("61 seconds")
      assert.strictEqual(yield* reason(expiring.secret), "expired")
      const viaV1 = yield* Effect.flip((yield* clientFor(revoked.secret)).passwordless.send({ payload: { email: "a@example.com" } }))
      assert.strictEqual(errorCode(viaV1), "API_KEY_INVALID")
      assert.isDefined(live)
    }))

  it.effect("a client-credentials bearer acts as its key until it expires or the key is revoked; a forged one is refused", () =>
    Effect.gen(function* () {
      const { tenant } = yield* fixture
      const keys = yield* ApiKeys
      const clients = yield* ClientCredentials
      const made = yield* keys.create({ tenantId: tenant.id, name: "cc", mode: "test", scopes: ["passwordless:send"] })
      const token = yield* clients.issue(made.secret)
      assert.strictEqual(token.token_type, "Bearer")
      assert.strictEqual(token.expires_in, 900)
      const asBearer = yield* clientFor(token.access_token)
      const sent = yield* asBearer.passwordless.send({ payload: { email: "cc@example.com" } })
      assert.match(sent.code ?? "", /^\d{6}$/)
      const scope = yield* Effect.flip(asBearer.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } }))
      assert.strictEqual(errorCode(scope), "SCOPE_MISSING")
      const forged = `${token.access_token.slice(0, -2)}${token.access_token.endsWith("AA") ? "BB" : "AA"}`
      const refused = yield* Effect.flip((yield* clientFor(forged)).passwordless.send({ payload: { email: "cc@example.com" } }))
      assert.strictEqual(errorCode(refused), "API_KEY_INVALID")
      yield* TestClock.adjust("901 seconds")
      const expired = yield* Effect.flip(asBearer.passwordless.send({ payload: { email: "cc@example.com" } }))
      assert.strictEqual(errorCode(expired), "API_KEY_INVALID")
      const fresh = yield* clients.issue(made.secret)
      yield* keys.revoke(made.key.id)
      const revoked = yield* Effect.flip((yield* clientFor(fresh.access_token)).passwordless.send({ payload: { email: "cc@example.com" } }))
      assert.strictEqual(errorCode(revoked), "API_KEY_INVALID")
      const noIssue = yield* Effect.flip(clients.issue(made.secret))
      assert.strictEqual(noIssue._tag, "KeyRefused")
    }))

  it.effect("a template variable whose name is not an identifier is refused, not silently dropped", () =>
    Effect.gen(function* () {
      const { keys } = yield* fixture
      const url = `${yield* baseUrl}/v1/passwordless/send`
      const send = (templateVariables: Record<string, string>) =>
        wire(url, {
          method: "POST",
          headers: { authorization: `Bearer ${keys.test}`, "content-type": "application/json" },
          body: JSON.stringify({ email: "tv@example.com", templateVariables })
        })
      const refused = yield* send({ "team-name": "Blue" })
      assert.strictEqual(refused.status, 400)
      assert.strictEqual(jsonOf(refused)["code"], "VALIDATION_FAILED")
      assert.include(String(jsonOf(refused)["message"]), "templateVariables")
      assert.strictEqual((yield* send({ team_name: "Blue" })).status, 202)
    }))
})
