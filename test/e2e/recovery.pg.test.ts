/**
 * Crash recovery in seconds (issue 13, item 6), on real processes: 200 live sends, the server killed
 * with SIGKILL midway, a new server on the same database. The SMTP server holds every message handed
 * to it from just before the kill (it never says 250), so what the dead process was sending never
 * arrived and must be sent again; everything it had sent is recorded as sent. Every accepted message
 * then arrives exactly once, and the ones the dead process held arrive within ~15 s of the new
 * process starting, not after a two-minute lease.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { afterAll, assert, describe, it } from "vitest"
import { freshPostgresUrl, hasPostgres } from "../support/Db.ts"
import { cli, eventually, parseTenant, sleep, spawnServer, startServer, startSmtpSink } from "../support/Processes.ts"

const N = 200

/** Recipients of the messages the database says are being sent right now. */
const sending = (url: string) =>
  Effect.runPromise(Effect.flatMap(PgClient.PgClient, (sql) =>
    sql<{ recipient: string }>`SELECT recipient FROM messages WHERE status = 'sending'`).pipe(
    Effect.map((rows) => rows.map((r) => r.recipient)),
    Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 }))
  ))

describe.skipIf(!hasPostgres)("crash recovery (PostgreSQL, processes)", () => {
  const cleanup: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined)
  }, 30_000)

  it(`${N} live sends, SIGKILL midway, a new server: each accepted message arrives exactly once, the stranded ones within ~15 s`, async () => {
    const database = await freshPostgresUrl()
    cleanup.push(database.drop)
    const sink = await startSmtpSink(0, { delayMs: 100 })
    cleanup.push(sink.close)
    const env = { DATABASE_URL: database.url, SMTP_URL: sink.url }
    const { keys } = parseTenant(await cli(["tenant", "create", "--name", "Recovery", "--json"], env))
    const a = await startServer(env)
    cleanup.push(() => a.stop())

    const accepted: Array<string> = []
    const send = async (email: string) => {
      const response = await fetch(`${a.url}/v1/passwordless/send`, {
        method: "POST",
        headers: { authorization: `Bearer ${keys.live}`, "content-type": "application/json" },
        body: JSON.stringify({ email })
      }).catch(() => undefined)
      if (response?.status === 202) accepted.push(email)
      await response?.body?.cancel()
    }
    const sends = (async () => {
      for (let i = 0; i < N; i += 20) {
        await Promise.all(Array.from({ length: Math.min(20, N - i) }, (_, j) => send(`recover-${i + j}@example.com`)))
      }
    })()

    // midway: the mail server stops answering; what A hands it from now on is in flight at A
    await eventually("a third of the messages to arrive", async () => sink.messages.length >= N / 3 || undefined, 60_000)
    sink.hold()
    await eventually("a message held", async () => sink.held().length > 0 || undefined, 10_000)
    await sleep(1000) // what the mail server accepted before the hold is recorded as sent by A
    await sends
    const arrivedBefore = sink.messages.length
    await a.kill()
    const killedAt = Date.now()
    const stranded = await sending(database.url)
    assert.isAbove(stranded.length, 0, "A held nothing when it died")
    // the held messages' connections died with A: they never arrived
    await eventually("the held messages to be dropped", async () => sink.held().length === 0 || undefined, 10_000)
    sink.release()
    assert.strictEqual(sink.messages.length, arrivedBefore)

    const bStartedAt = Date.now()
    const b = await spawnServer(env)
    cleanup.push(() => b.stop())
    await eventually("every accepted message to arrive", async () =>
      accepted.every((email) => sink.to(email).length > 0) || undefined, 60_000, 100)
    const arrival = (email: string) => sink.to(email)[0]?.receivedAt ?? Infinity
    const lastStranded = Math.max(...stranded.map(arrival))
    console.log(`crash recovery: ${accepted.length} accepted, ${arrivedBefore} arrived before the kill, ${stranded.length} held by the ` +
      `killed process; the last of those arrived ${lastStranded - killedAt} ms after the kill, ${lastStranded - bStartedAt} ms after the new process was started`)

    await sleep(2000) // nothing more arrives: no second copies
    for (const email of accepted) assert.strictEqual(sink.to(email).length, 1, `${email} arrived ${sink.to(email).length} times`)
    assert.strictEqual(sink.messages.length, accepted.length)
    assert.isAtLeast(accepted.length, N * 0.9)
    assert.isAtMost(lastStranded - bStartedAt, 15_000)
  }, 180_000)
})
