/**
 * Crash safety of the durable outbox across processes: process A queues a live email while SMTP is
 * down and is then killed (SIGKILL); process B, started on the same database once SMTP is up,
 * delivers it exactly once, and the code in it verifies.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { afterAll, assert, describe, it } from "vitest"
import { freshPostgresUrl, hasPostgres } from "../support/Db.ts"
import {
  cli,
  codeIn,
  eventually,
  freePort,
  parseTenant,
  type ServerProcess,
  sleep,
  type SmtpSink,
  startServer,
  startSmtpSink
} from "../support/Processes.ts"
import { clientOf, run } from "../support/Remote.ts"

interface OutboxRow {
  readonly status: string
  readonly attempts: number
  /** Milliseconds until the row is due again, by the database's clock. */
  readonly dueInMs: number
}

/** The outbox row of an auth request, read straight from the database. */
const outboxRow = (url: string, authRequestId: string) =>
  Effect.runPromise(Effect.flatMap(PgClient.PgClient, (sql) =>
    sql<{ status: string; attempts: number; due_in_ms: number }>`
      SELECT status, attempts, (EXTRACT(EPOCH FROM (next_attempt_at - now())) * 1000)::float8 AS due_in_ms
      FROM messages WHERE auth_request_id = ${authRequestId}`).pipe(
      Effect.map(([row]): OutboxRow | undefined =>
        row === undefined ? undefined : { status: row.status, attempts: row.attempts, dueInMs: row.due_in_ms })
    ).pipe(Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))))

describe.skipIf(!hasPostgres)("outbox across a crash and restart (PostgreSQL, processes)", () => {
  const cleanup: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined)
  }, 30_000)

  it("A queues while SMTP is down and dies; B delivers exactly once; the code verifies", async () => {
    const database = await freshPostgresUrl()
    cleanup.push(database.drop)
    const smtpPort = await freePort()
    const env = {
      DATABASE_URL: database.url,
      SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
      DELIVERY_POLL_MS: "100",
      DELIVERY_RETRY_BASE_MS: "1000"
    }
    const { keys } = parseTenant(await cli(["tenant", "create", "--name", "Restart", "--json"], env))

    const a: ServerProcess = await startServer(env)
    cleanup.push(() => a.stop())
    const sent = await run(Effect.flatMap(clientOf(a.url, keys.live), (c) =>
      c.passwordless.send({ payload: { email: "restart@example.com" } })))
    assert.isUndefined(sent.code)
    assert.strictEqual(sent.delivery, "queued")

    // Kill A between two attempts: after a failed one, with the next one not due for a while, so the
    // row is certainly `queued` (not leased by A) when A dies.
    await eventually("a failed attempt with the next one >150 ms away", async () => {
      const row = await outboxRow(database.url, sent.authRequestId)
      return row !== undefined && row.status === "queued" && row.attempts >= 1 && row.dueInMs > 150 ? row : undefined
    }, 15_000, 10)
    await a.kill()
    const orphan = await outboxRow(database.url, sent.authRequestId)
    assert.strictEqual(orphan?.status, "queued", a.output())
    assert.include(a.output(), "ECONNREFUSED")

    const sink: SmtpSink = await startSmtpSink(smtpPort)
    cleanup.push(sink.close)
    const b = await startServer(env)
    cleanup.push(() => b.stop())

    const mail = await sink.waitFor("restart@example.com", 15_000)
    const code = codeIn(mail.raw)
    assert.match(code ?? "", /^\d{6}$/)
    const status = await eventually("delivery status sent", () =>
      run(Effect.flatMap(clientOf(b.url, keys.live), (c) => c.passwordless.status({ params: { authRequestId: sent.authRequestId } })))
        .then((s) => (s.delivery.status === "sent" ? s : undefined)), 5000)
    assert.strictEqual(status.delivery.provider, "smtp")
    assert.isAtLeast(status.delivery.attempts, 2)
    const verified = await run(Effect.flatMap(clientOf(b.url, keys.live), (c) =>
      c.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: code ?? "" } })))
    assert.strictEqual(verified.user.email, "restart@example.com")
    // Exactly once: nothing else arrives while B keeps polling.
    await sleep(1000)
    assert.strictEqual(sink.to("restart@example.com").length, 1, b.output())
    assert.strictEqual(sink.messages.length, 1)
  }, 60_000)
})
