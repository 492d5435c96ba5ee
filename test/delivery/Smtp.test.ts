import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { TestClock } from "effect/testing"
import type { AddressInfo } from "node:net"
import { SMTPServer } from "smtp-server"
import { layerSmtp } from "../../src/delivery/Mailer.ts"
import { senderAddress } from "../../src/delivery/Smtp.ts"
import { Outbox } from "../../src/delivery/Outbox.ts"
import { defaults, runOnce } from "../../src/delivery/Worker.ts"
import { pgliteLayer } from "../support/Db.ts"
import { clockNow, newMessage, reset, row, withOutbox } from "./fixtures.ts"

interface Received {
  readonly from: string | false
  readonly to: ReadonlyArray<string>
  readonly raw: string
}

/** A real SMTP server on 127.0.0.1 that keeps what it receives; closed with the test's scope. */
const smtpServer = (port = 0) =>
  Effect.acquireRelease(
    Effect.callback<{ readonly port: number; readonly received: Array<Received>; readonly server: SMTPServer }>((resume) => {
      const received: Array<Received> = []
      const server = new SMTPServer({
        authOptional: true,
        disabledCommands: ["STARTTLS"],
        logger: false,
        onData(stream, session, done) {
          const chunks: Array<Buffer> = []
          stream.on("data", (chunk: Buffer) => chunks.push(chunk))
          stream.on("end", () => {
            received.push({
              from: session.envelope.mailFrom && session.envelope.mailFrom.address,
              to: session.envelope.rcptTo.map((r) => r.address),
              raw: Buffer.concat(chunks).toString("utf8")
            })
            done()
          })
        }
      })
      server.listen(port, "127.0.0.1", () => {
        const address = server.server.address() as AddressInfo // a TCP listener always has an AddressInfo
        resume(Effect.succeed({ port: address.port, received, server }))
      })
    }),
    ({ server }) => Effect.callback<void>((resume) => server.close(() => resume(Effect.void)))
  )

/** A port nothing listens on (yet). */
const freePort = Effect.scoped(Effect.map(smtpServer(), (s) => s.port))

const FROM = "Sesame <no-reply@sesame.test>"
const smtp = (port: number) => layerSmtp(Redacted.make(`smtp://127.0.0.1:${port}`), FROM)
const header = (raw: string, name: string) =>
  raw.split("\r\n\r\n")[0]?.replace(/\r\n[ \t]+/g, " ").split("\r\n").find((l) => l.startsWith(`${name}: `))

describe("senderAddress", () => {
  it("takes the address part of SMTP_FROM", () => {
    assert.deepStrictEqual(senderAddress(FROM), { name: "Sesame", address: "no-reply@sesame.test" })
    assert.deepStrictEqual(senderAddress("bare@example.com"), { name: "", address: "bare@example.com" })
  })
})

describe("SMTP delivery", () => {
  it.layer(withOutbox(pgliteLayer), { excludeTestServices: true, timeout: "120 seconds" })((it) => {
    it.effect("a queued message reaches a real SMTP server with subject, text, HTML and the sender's name", () =>
      Effect.gen(function* () {
        yield* reset
        const server = yield* smtpServer()
        const fromName = `Acme "Support", <evil@attacker.test>`
        const message = newMessage({ email: { ...newMessage().email, fromName, replyTo: "help@acme.test" } })
        const id = yield* (yield* Outbox).enqueue(message, yield* clockNow)
        yield* runOnce(defaults).pipe(Effect.provide(smtp(server.port)))

        assert.strictEqual(server.received.length, 1)
        const [mail] = server.received
        assert.strictEqual(mail?.from, "no-reply@sesame.test")
        assert.deepStrictEqual(mail?.to, ["ada@example.com"])
        const raw = mail?.raw ?? ""
        assert.strictEqual(header(raw, "From"), `From: "Acme \\"Support\\", <evil@attacker.test>" <no-reply@sesame.test>`)
        assert.strictEqual(header(raw, "Reply-To"), "Reply-To: help@acme.test")
        assert.strictEqual(header(raw, "Subject"), "Subject: Your sign-in code")
        assert.include(raw, "Content-Type: text/plain")
        assert.include(raw, "Your code: 123456")
        assert.include(raw, "Content-Type: text/html")
        assert.include(raw, "<p>Your code: <b>123456</b></p>")
        assert.strictEqual((yield* row(id))?.provider, "smtp")
      }).pipe(Effect.scoped))

    it.effect("a non-ASCII sender name is MIME-encoded", () =>
      Effect.gen(function* () {
        yield* reset
        const server = yield* smtpServer()
        const message = newMessage({ email: { ...newMessage().email, fromName: "Café Ünïcode" } })
        yield* (yield* Outbox).enqueue(message, yield* clockNow)
        yield* runOnce(defaults).pipe(Effect.provide(smtp(server.port)))
        const from = header(server.received[0]?.raw ?? "", "From") ?? ""
        assert.match(from, /^From: =\?UTF-8\?[QB]\?.+\?= <no-reply@sesame\.test>$/)
      }).pipe(Effect.scoped))

    it.effect("SMTP down: the message waits with its error, and is delivered once the server is up", () =>
      Effect.gen(function* () {
        yield* reset
        const port = yield* freePort
        yield* Effect.gen(function* () {
          const id = yield* (yield* Outbox).enqueue(newMessage(), yield* clockNow)
          yield* runOnce(defaults)
          const waiting = yield* row(id)
          assert.strictEqual(waiting?.status, "queued")
          assert.strictEqual(waiting?.attempts, 1)
          assert.match(waiting?.lastError ?? "", /^E[A-Z]+: connect ECONNREFUSED 127\.0\.0\.1/)

          const server = yield* smtpServer(port)
          yield* TestClock.adjust("1 hour")
          yield* runOnce(defaults)
          assert.strictEqual(server.received.length, 1)
          assert.strictEqual((yield* row(id))?.status, "sent")
        }).pipe(Effect.provide(Layer.merge(smtp(port), TestClock.layer())))
      }).pipe(Effect.scoped))
  })
})
