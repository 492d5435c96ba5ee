/**
 * The hot paths' round-trip budget (issue 11, item 4): one send and one verify each make ONE
 * statement against the database — no BEGIN/COMMIT, no read before the write — counted exactly
 * through the SQL client's spans (every statement runs in a span carrying `db.query.text`; every
 * transaction in a `sql.transaction` span, which costs a BEGIN and a COMMIT). Timing stays in the
 * benchmark (`npm run bench`); these counts do not depend on the machine.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Tracer } from "effect"
import Mustache from "mustache"
import { vi } from "vitest"
import type { CurrentKey } from "../../src/api/Security.ts"
import { ApiKeys } from "../../src/keys/ApiKeys.ts"
import { servicesOn } from "../../src/Layers.ts"
import { Passwordless } from "../../src/passwordless/Passwordless.ts"
import { TestOutbox } from "../../src/passwordless/TestOutbox.ts"
import { createTenantWithKeys } from "../../src/tenants/Bootstrap.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { testConfig } from "../support/Server.ts"

/** The budget: what a send and a verify may cost in round trips to the database. */
const SEND_BUDGET = 1
const VERIFY_BUDGET = 1

/** Runs `effect` and returns what it sent to the database: statement texts and round trips. */
const count = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const statements: Array<string> = []
    let transactions = 0
    const tracer = Tracer.make({
      span(options) {
        const span = new Tracer.NativeSpan(options)
        if (options.name === "sql.transaction") transactions++
        const attribute = span.attribute.bind(span)
        span.attribute = (key, value) => {
          if (key === "db.query.text") statements.push(String(value))
          attribute(key, value)
        }
        return span
      }
    })
    const result = yield* Effect.provideService(effect, Tracer.Tracer, tracer)
    return { result, statements, roundTrips: statements.length + 2 * transactions }
  })

const suite = (name: string, database: typeof pgliteLayer) =>
  layer(servicesOn(database).pipe(Layer.provide(testConfig())), { timeout: 120_000, excludeTestServices: true })(name, (it) => {
    const caller = Effect.gen(function* () {
      const created = yield* createTenantWithKeys("RoundTrips", ["https://app.example.com/*"])
      const key = yield* (yield* ApiKeys).authenticate(created.keys.test)
      return { keyId: key.id, tenantId: key.tenantId, mode: key.mode, scopes: key.scopes } satisfies CurrentKey["Service"]
    })

    it.effect(`a send is ${SEND_BUDGET} round trip, a verify ${VERIFY_BUDGET} (code by id, link by token)`, () =>
      Effect.gen(function* () {
        const key = yield* caller
        const pw = yield* Passwordless
        // warm: the tenant cache and the signing key are loaded once per process, not per request
        const warm = yield* pw.send(key, { email: "warm@example.com" })
        yield* pw.verify(key, { authRequestId: warm.authRequestId, code: warm.code ?? "" })

        const send = yield* count(pw.send(key, { email: "one@example.com" }))
        assert.strictEqual(send.roundTrips, SEND_BUDGET, send.statements.join("\n---\n"))
        assert.match(send.statements[0] ?? "", /INSERT INTO auth_requests[\s\S]*INSERT INTO messages/)

        const verify = yield* count(pw.verify(key, { authRequestId: send.result.authRequestId, code: send.result.code ?? "" }))
        assert.strictEqual(verify.roundTrips, VERIFY_BUDGET, verify.statements.join("\n---\n"))
        assert.strictEqual(verify.result.authRequest.id, send.result.authRequestId)
        assert.match(verify.statements[0] ?? "", /UPDATE auth_requests[\s\S]*INSERT INTO sessions[\s\S]*INSERT INTO refresh_tokens/)

        const link = yield* pw.send(key, { email: "link@example.com", type: "LINK", redirectUrl: "https://app.example.com/cb" })
        const byLink = yield* count(pw.verify(key, { linkToken: link.linkToken ?? "" }))
        assert.strictEqual(byLink.roundTrips, VERIFY_BUDGET, byLink.statements.join("\n---\n"))
        assert.strictEqual(byLink.result.authRequest.id, link.authRequestId)

        // confirm (verify without a session, the Scalekit adapter): the same one statement, no session rows
        const toConfirm = yield* pw.send(key, { email: "confirm@example.com" })
        const confirm = yield* count(pw.confirm(key, { authRequestId: toConfirm.authRequestId, code: toConfirm.code ?? "" }))
        assert.strictEqual(confirm.roundTrips, VERIFY_BUDGET, confirm.statements.join("\n---\n"))
        assert.strictEqual(confirm.result.user.email, "confirm@example.com")
      }))

    it.effect("a wrong guess is one round trip too; a used code costs the statement and two reads that say why", () =>
      Effect.gen(function* () {
        const key = yield* caller
        const pw = yield* Passwordless
        const sent = yield* pw.send(key, { email: "guess@example.com" })
        const wrong = sent.code === "000000" ? "111111" : "000000"
        const guess = yield* count(Effect.flip(pw.verify(key, { authRequestId: sent.authRequestId, code: wrong })))
        assert.strictEqual(guess.result._tag, "CodeInvalid")
        assert.strictEqual(guess.roundTrips, 1, guess.statements.join("\n---\n"))
        yield* pw.verify(key, { authRequestId: sent.authRequestId, code: sent.code ?? "" })
        const again = yield* count(Effect.flip(pw.verify(key, { authRequestId: sent.authRequestId, code: sent.code ?? "" })))
        assert.strictEqual(again.result._tag, "AlreadyUsed")
        // the statement that changed nothing, the request's row, its identifier's lock
        assert.strictEqual(again.roundTrips, 3, again.statements.join("\n---\n"))
        assert.match(again.statements[0] ?? "", /UPDATE auth_requests/)
      }))

    it.effect("a test key's send renders nothing; the test outbox renders the message when it is read", () =>
      Effect.gen(function* () {
        const key = yield* caller
        const pw = yield* Passwordless
        const renders = vi.spyOn(Mustache.Writer.prototype, "render")
        const sent = yield* pw.send(key, { email: "lazy@example.com", locale: "fr" })
        assert.strictEqual(renders.mock.calls.length, 0)
        const [message] = yield* (yield* TestOutbox).list(key.tenantId, "lazy@example.com", 5)
        assert.isAbove(renders.mock.calls.length, 0)
        vi.restoreAllMocks()
        assert.strictEqual(message?.authRequestId, sent.authRequestId)
        assert.include(message?.text ?? "", sent.code ?? "no code")
        assert.include(message?.html ?? "", sent.code ?? "no code")
        assert.match(message?.subject ?? "", /connexion|code/i)
      }))
  })

suite("round trips per request (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => {
  suite("round trips per request (PostgreSQL)", postgresLayer)
})
