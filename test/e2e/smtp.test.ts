/**
 * Real email delivery through SMTP: the in-process server (PGlite) sends with its pooled nodemailer
 * transport to a local SMTP sink; the code or link read back out of the received MIME message
 * verifies. Also: SMTP down at send time, up again later → the worker's retries deliver it.
 */
import { assert, layer } from "@effect/vitest"
import { Effect } from "effect"
import { afterAll } from "vitest"
import type { AuthRequestId } from "../../src/domain/Ids.ts"
import { pgliteLayer } from "../support/Db.ts"
import {
  codeIn,
  eventually,
  freePort,
  headersOf,
  linkTokenIn,
  partOf,
  type SmtpSink,
  startSmtpSink
} from "../support/Processes.ts"
import { clientFor, serverLayer, tenantFixture } from "../support/Server.ts"

// The server is configured with this port once; the sink on it is started and stopped by the tests.
const smtpPort = await freePort()
let sink: SmtpSink | undefined
const smtpUp = Effect.promise(async () => (sink ??= await startSmtpSink(smtpPort)))
const smtpDown = Effect.promise(async () => {
  const current = sink
  sink = undefined
  await current?.close()
})
afterAll(async () => {
  await sink?.close()
})

const fixture = Effect.gen(function* () {
  const { keys } = yield* tenantFixture("Mailer Co", ["http://localhost/*"])
  return { live: yield* clientFor(keys.live) }
})

type Live = Effect.Success<typeof fixture>["live"]

/** Polls the auth request until its delivery is `sent` (the sink may see the mail before the row is marked). */
const sentStatus = (live: Live, authRequestId: AuthRequestId) =>
  Effect.promise(() =>
    eventually("delivery status sent", () =>
      Effect.runPromise(live.passwordless.status({ params: { authRequestId } }).pipe(
        Effect.map((s) => (s.delivery.status === "sent" ? s : undefined)),
        Effect.orDie
      )), 5000))

layer(serverLayer(pgliteLayer, { smtpUrl: `smtp://127.0.0.1:${smtpPort}` }), {
  timeout: 60_000,
  // Real clock: the delivery worker's retry back-off must elapse (TestClock would freeze it).
  excludeTestServices: true
})("email over SMTP (PGlite)", (it) => {
  it.effect("OTP with a live key: the email arrives, its code verifies, the code is not in the headers", () =>
    Effect.gen(function* () {
      const mail = yield* smtpUp
      const { live } = yield* fixture
      const sent = yield* live.passwordless.send({ payload: { email: "Otp.User@Example.com" } })
      assert.isUndefined(sent.code)
      assert.isUndefined(sent.linkToken)
      const received = yield* Effect.promise(() => mail.waitFor("otp.user@example.com"))
      const code = codeIn(received.raw)
      assert.match(code ?? "", /^\d{6}$/, `no code in:\n${received.raw}`)
      assert.notInclude(headersOf(received.raw), code ?? "", "the code must never be in a header (subject)")
      assert.include(partOf(received.raw, "text/html") ?? "", code ?? "")
      const verified = yield* live.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: code ?? "" } })
      assert.strictEqual(verified.user.email, "otp.user@example.com")
      const status = yield* sentStatus(live, sent.authRequestId)
      assert.strictEqual(status.delivery.provider, "smtp")
      assert.strictEqual(status.delivery.attempts, 1)
      assert.strictEqual(mail.to("otp.user@example.com").length, 1)
    }))

  it.effect("LINK with a live key: the link token in the email verifies", () =>
    Effect.gen(function* () {
      const mail = yield* smtpUp
      const { live } = yield* fixture
      const sent = yield* live.passwordless.send({
        payload: { email: "link.user@example.com", type: "LINK", redirectUrl: "http://localhost:3000/auth/cb", state: "st-1" }
      })
      assert.isUndefined(sent.linkToken)
      const received = yield* Effect.promise(() => mail.waitFor("link.user@example.com"))
      const linkToken = linkTokenIn(received.raw)
      assert.isDefined(linkToken, `no link in:\n${partOf(received.raw, "text/plain") ?? received.raw}`)
      assert.isUndefined(codeIn(received.raw), "a LINK email carries no code")
      const verified = yield* live.passwordless.verify({ payload: { linkToken: linkToken ?? "" } })
      assert.strictEqual(verified.user.email, "link.user@example.com")
      assert.strictEqual(verified.authRequest.state, "st-1")
      assert.deepStrictEqual(verified.authRequest.type, "LINK")
    }))

  it.effect("SMTP down at send time: queued, retried, delivered once SMTP is back; the code verifies", () =>
    Effect.gen(function* () {
      yield* smtpDown
      const { live } = yield* fixture
      const sent = yield* live.passwordless.send({ payload: { email: "late@example.com" } })
      assert.strictEqual(sent.delivery, "queued")
      // At least one attempt has failed against the closed port before SMTP comes back.
      const failed = yield* Effect.promise(() =>
        eventually("a failed delivery attempt", () =>
          Effect.runPromise(live.passwordless.status({ params: { authRequestId: sent.authRequestId } }).pipe(
            Effect.map((s) => (s.delivery.attempts >= 1 && s.delivery.lastError !== null ? s : undefined)),
            Effect.orDie
          )), 5000, 20))
      assert.notStrictEqual(failed.delivery.status, "sent")
      assert.notStrictEqual(failed.delivery.status, "failed")
      const mail = yield* smtpUp
      // Retries back off exponentially from 100 ms (test config): a few seconds at most.
      const received = yield* Effect.promise(() => mail.waitFor("late@example.com", 15_000))
      const code = codeIn(received.raw)
      assert.match(code ?? "", /^\d{6}$/)
      const verified = yield* live.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: code ?? "" } })
      assert.strictEqual(verified.user.email, "late@example.com")
      const status = yield* sentStatus(live, sent.authRequestId)
      assert.strictEqual(status.delivery.provider, "smtp")
      assert.isAtLeast(status.delivery.attempts, 2)
      assert.isNull(status.delivery.lastError)
      assert.strictEqual(mail.to("late@example.com").length, 1)
    }), { timeout: 30_000 })
})
