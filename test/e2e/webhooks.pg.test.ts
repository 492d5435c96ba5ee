/**
 * Webhooks across crashes, on real processes sharing one PostgreSQL: deliveries queue while the
 * receiver is down, both servers are killed (SIGKILL) while some deliveries are in flight, two new
 * processes deliver every event (none lost), and no delivery is ever sent by two workers at once.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { afterAll, assert, describe, it } from "vitest"
import { Webhook } from "standardwebhooks"
import { freshPostgresUrl, hasPostgres } from "../support/Db.ts"
import { cli, eventually, freePort, parseTenant, startServer } from "../support/Processes.ts"
import { type Behaviour, type Receiver, startReceiver } from "../webhooks/Receiver.ts"
import { clientOf, run } from "../support/Remote.ts"

const query = <A>(url: string, f: (sql: PgClient.PgClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(Effect.flatMap(PgClient.PgClient, f).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })), Effect.orDie))

const signIn = (baseUrl: string, key: string, email: string) =>
  run(Effect.gen(function* () {
    const client = yield* clientOf(baseUrl, key)
    const sent = yield* client.passwordless.send({ payload: { email } })
    return yield* client.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })
  }))

describe.skipIf(!hasPostgres)("webhooks across a crash and restart (PostgreSQL, processes)", () => {
  const cleanup: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined)
  }, 30_000)

  it("killed with deliveries pending and in flight; two new processes deliver every event once at a time", async () => {
    const database = await freshPostgresUrl()
    cleanup.push(database.drop)
    const port = await freePort()
    const env = {
      DATABASE_URL: database.url,
      WEBHOOKS_ALLOW_PRIVATE: "true",
      DELIVERY_POLL_MS: "100",
      WEBHOOK_RETRY_BASE_MS: "2",
      WEBHOOK_TIMEOUT_MS: "1000"
    }
    const { keys } = parseTenant(await cli(["tenant", "create", "--name", "Hooks", "--json"], env))
    const [a, b] = await Promise.all([startServer(env), startServer(env)])
    cleanup.push(() => a.stop(), () => b.stop())

    const created = await run(Effect.flatMap(clientOf(a.url, keys.test), (c) => c.webhooks.create({
      payload: { url: `http://127.0.0.1:${port}/hook`, events: ["user.created", "user.verified", "login.success"] }
    })))
    // Nothing listens on the receiver's port yet: every first attempt fails (ECONNREFUSED).
    for (let i = 0; i < 6; i++) await signIn(i % 2 === 0 ? a.url : b.url, keys.test, `user${i}@example.com`)
    const eventIds = await query(database.url, (sql) =>
      sql<{ id: string }>`SELECT id FROM events WHERE type IN ('user.created', 'user.verified', 'login.success')`)
    assert.strictEqual(eventIds.length, 18)
    await eventually("every delivery tried and failed once", () =>
      query(database.url, (sql) => sql<{ n: number }>`
        SELECT count(*)::int AS n FROM webhook_deliveries WHERE attempts >= 1 AND status = 'pending'`)
        .then(([row]) => (row?.n === 18 ? true : undefined)), 15_000, 20)

    // Now the receiver accepts and never answers, so the next attempts hang in flight: kill both then.
    let behaviour: Behaviour = "hang"
    const receiver: Receiver = await startReceiver(() => behaviour, port)
    cleanup.push(receiver.close)
    await eventually("a delivery in flight", () =>
      query(database.url, (sql) => sql<{ n: number }>`SELECT count(*)::int AS n FROM webhook_deliveries WHERE status = 'sending'`)
        .then(([row]) => ((row?.n ?? 0) > 0 ? true : undefined)), 15_000, 10)
    await Promise.all([a.kill(), b.kill()])
    const orphans = await query(database.url, (sql) =>
      sql<{ status: string; n: number }>`SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY status`)
    assert.isTrue(orphans.every((o) => o.status === "pending" || o.status === "sending"), JSON.stringify(orphans))
    assert.isTrue(orphans.some((o) => o.status === "sending"))

    // Answers take 150 ms, so two workers sending one delivery at once would overlap at the receiver.
    behaviour = { status: 204, delayMs: 150 }
    const [c, d] = await Promise.all([startServer(env), startServer(env)])
    cleanup.push(() => c.stop(), () => d.stop())
    const answered = () => new Set(receiver.received.filter((r) => r.status === 204).map((r) => String(r.headers["webhook-id"])))
    await eventually("every event answered 2xx", () => Promise.resolve(answered().size === 18 ? true : undefined), 30_000, 50)
    assert.deepStrictEqual([...answered()].sort(), eventIds.map((e) => e.id).sort())
    assert.strictEqual(receiver.maxConcurrentPerId(), 1, "a delivery was in flight twice at once")
    for (const request of receiver.received.filter((r) => r.status === 204)) {
      const headers = Object.fromEntries(["webhook-id", "webhook-timestamp", "webhook-signature"].map((h) => [h, String(request.headers[h])]))
      assert.doesNotThrow(() => new Webhook(created.secret).verify(request.body, headers))
    }
    const statuses = await eventually("all deliveries recorded", () =>
      query(database.url, (sql) => sql<{ status: string; n: number }>`SELECT status, count(*)::int AS n FROM webhook_deliveries GROUP BY status`)
        .then((rows) => (rows.length === 1 && rows[0]?.status === "succeeded" ? rows : undefined)), 5000, 50)
    assert.strictEqual(statuses[0]?.n, 18)
  }, 90_000)
})
