import { assert, expectTypeOf, layer } from "@effect/vitest"
import { Effect } from "effect"
import { SesameApi } from "../../src/api/Api.ts"
import { AuthRequestId } from "../../src/domain/Ids.ts"
import { type ContractErrorCode, createSesame, SesameError, type SesameErrorCode } from "../../src/promise.ts"
import { pgliteLayer } from "../support/Db.ts"
import { freePort } from "../support/Processes.ts"
import { baseUrl, serverLayer, tenantFixture } from "../support/Server.ts"

/** The failure of a Promise client call, as the SesameError it must be. */
const failure = (promise: Promise<unknown>) =>
  Effect.promise(() =>
    promise.then(
      () => assert.fail("the call succeeded"),
      (error: unknown) => {
        assert.instanceOf(error, SesameError)
        return error
      }
    )
  )

const fixture = Effect.gen(function* () {
  const { keys } = yield* tenantFixture()
  const url = yield* baseUrl
  return { url, sesame: createSesame({ baseUrl: url, apiKey: keys.test }) }
})

layer(serverLayer(pgliteLayer), { timeout: 60_000, excludeTestServices: true })("createSesame (Promise client)", (it) => {
  it.effect("signs in: send with a test key answers the code, verify answers a session; status takes path params", () =>
    Effect.gen(function* () {
      const { sesame } = yield* fixture
      const sent = yield* Effect.promise(() => sesame.passwordless.send({ payload: { email: "ada@example.com" } }))
      assert.strictEqual(sent.channel, "email")
      assert.match(sent.code ?? "", /^\d{6}$/)
      const verified = yield* Effect.promise(() =>
        sesame.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } }))
      assert.strictEqual(verified.user.email, "ada@example.com")
      assert.match(verified.session.accessToken, /^eyJ/)
      const status = yield* Effect.promise(() => sesame.passwordless.status({ params: { authRequestId: sent.authRequestId } }))
      assert.strictEqual(status.status, "verified")
    }))

  it.effect("a declared error rejects with its code, status and body: CODE_INVALID, NOT_FOUND, API_KEY_INVALID", () =>
    Effect.gen(function* () {
      const { sesame, url } = yield* fixture
      const sent = yield* Effect.promise(() => sesame.passwordless.send({ payload: { email: "wrong@example.com" } }))
      const wrong = sent.code === "000000" ? "111111" : "000000"
      const invalid = yield* failure(sesame.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: wrong } }))
      assert.strictEqual(invalid.code, "CODE_INVALID")
      assert.strictEqual(invalid.status, 400)
      const body = invalid.body
      assert(body?.code === "CODE_INVALID")
      assert.strictEqual(body.attemptsRemaining, 4)
      assert.strictEqual(body.message, invalid.message)

      const missing = yield* failure(sesame.passwordless.status({ params: { authRequestId: AuthRequestId.make("ar_000000000000000000000000") } }))
      assert.deepStrictEqual([missing.code, missing.status], ["NOT_FOUND", 404])

      const stranger = createSesame({ baseUrl: url, apiKey: "sk_test_not_a_key" })
      const refused = yield* failure(stranger.passwordless.send({ payload: { email: "ada@example.com" } }))
      assert.deepStrictEqual([refused.code, refused.status, refused.body?.status], ["API_KEY_INVALID", 401, 401])
    }))

  it.effect("failures without a declared answer: VALIDATION_FAILED before sending, NETWORK_ERROR, UNEXPECTED_RESPONSE", () =>
    Effect.gen(function* () {
      const { sesame } = yield* fixture
      const tooLong = yield* failure(sesame.passwordless.send({ payload: { email: `${"a".repeat(320)}@example.com` } }))
      assert.deepStrictEqual([tooLong.code, tooLong.status, tooLong.body], ["VALIDATION_FAILED", 0, undefined])

      const port = yield* Effect.promise(() => freePort())
      const nobody = createSesame({ baseUrl: `http://127.0.0.1:${port}`, apiKey: "sk_test_x" })
      const unreachable = yield* failure(nobody.passwordless.send({ payload: { email: "ada@example.com" } }))
      assert.deepStrictEqual([unreachable.code, unreachable.status], ["NETWORK_ERROR", 0])

      const proxy = createSesame({
        baseUrl: "http://sesame.invalid",
        apiKey: "sk_test_x",
        fetch: () => Promise.resolve(new Response("<html>Bad gateway</html>", { status: 502, headers: { "content-type": "text/html" } }))
      })
      const gateway = yield* failure(proxy.passwordless.send({ payload: { email: "ada@example.com" } }))
      assert.deepStrictEqual([gateway.code, gateway.status, gateway.body], ["UNEXPECTED_RESPONSE", 502, undefined])

      const garbled = createSesame({
        baseUrl: "http://sesame.invalid",
        apiKey: "sk_test_x",
        fetch: () => Promise.resolve(Response.json({ unexpected: true }, { status: 202 }))
      })
      const undecodable = yield* failure(garbled.passwordless.send({ payload: { email: "ada@example.com" } }))
      assert.deepStrictEqual([undecodable.code, undecodable.status], ["UNEXPECTED_RESPONSE", 202])
    }))

  it.effect("has one method per endpoint of the contract, grouped as the Effect client is", () =>
    Effect.gen(function* () {
      const { sesame } = yield* fixture
      const expected = Object.values(SesameApi.groups).flatMap((group) => Object.keys(group.endpoints).map((name) => `${group.identifier}.${name}`))
      const actual = Object.entries(sesame).flatMap(([group, methods]) =>
        Object.entries(methods).map(([name, method]) => `${group}.${name}:${typeof method}`))
      assert.deepStrictEqual(actual.sort(), expected.map((name) => `${name}:function`).sort())
    }))
})

// Types: the code is the contract's union (plus the two transport codes), and bodies narrow by code.
expectTypeOf<"CODE_INVALID" | "API_KEY_INVALID" | "RATE_LIMITED" | "VALIDATION_FAILED">().toExtend<ContractErrorCode>()
expectTypeOf<"NOT_A_CODE">().not.toExtend<SesameErrorCode>()
expectTypeOf<SesameError["code"]>().toEqualTypeOf<SesameErrorCode>()
expectTypeOf<Extract<NonNullable<SesameError["body"]>, { code: "CODE_INVALID" }>["attemptsRemaining"]>().toEqualTypeOf<number>()
