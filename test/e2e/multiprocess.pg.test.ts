/**
 * Two `sesame serve` processes on one fresh PostgreSQL database: the one-time guarantees hold
 * across processes (a code verifies once; exactly maxAttempts wrong guesses count), and what one
 * process issued the other verifies.
 */
import { Effect } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freshPostgresUrl, hasPostgres } from "../support/Db.ts"
import { cli, type CreatedTenant, parseTenant, type ServerProcess, startServer } from "../support/Processes.ts"
import { errorCode } from "../support/Server.ts"
import { clientOf, run, tally } from "../support/Remote.ts"

describe.skipIf(!hasPostgres)("two server processes on one PostgreSQL database", () => {
  let database: { readonly url: string; readonly drop: () => Promise<void> } | undefined
  const servers: Array<ServerProcess> = []
  let created: CreatedTenant
  let a: ServerProcess
  let b: ServerProcess

  beforeAll(async () => {
    database = await freshPostgresUrl()
    const env = { DATABASE_URL: database.url, DELIVERY_POLL_MS: "200" }
    // The CLI migrates the empty database, so the two servers do not race on migrations.
    created = parseTenant(await cli(["tenant", "create", "--name", "Multi", "--allow-redirect", "http://localhost/*", "--json"], env))
    const started = await Promise.allSettled([startServer(env), startServer(env)])
    for (const s of started) if (s.status === "fulfilled") servers.push(s.value)
    for (const s of started) if (s.status === "rejected") throw s.reason
    ;[a, b] = servers as [ServerProcess, ServerProcess]
  }, 60_000)

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    await database?.drop()
  }, 30_000)

  const diagnostics = () => servers.map((s, i) => `--- process ${i} (${s.url})\n${s.output()}`).join("\n")

  it("a code issued by process A verifies on process B, once", async () => {
    const sent = await run(Effect.flatMap(clientOf(a.url, created.keys.test), (c) =>
      c.passwordless.send({ payload: { email: "cross@example.com" } })))
    const onB = await run(Effect.flatMap(clientOf(b.url, created.keys.test), (c) =>
      c.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })))
    assert.strictEqual(onB.user.email, "cross@example.com")
    const againOnA = await run(Effect.flatMap(clientOf(a.url, created.keys.test), (c) =>
      Effect.flip(c.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } }))))
    assert.strictEqual(errorCode(againOnA), "ALREADY_USED")
  })

  it("50 concurrent verifies of the right code across both processes: exactly one 200", async () => {
    const outcomes = await run(Effect.gen(function* () {
      const clients = [yield* clientOf(a.url, created.keys.test), yield* clientOf(b.url, created.keys.test)] as const
      const sent = yield* clients[0].passwordless.send({ payload: { email: "race-pg@example.com" } })
      return yield* Effect.forEach(Array.from({ length: 50 }, (_, i) => clients[i % 2]!), (client) =>
        client.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } }).pipe(
          Effect.match({ onSuccess: () => "OK", onFailure: errorCode })
        ), { concurrency: "unbounded" })
    }))
    const counts = tally(outcomes)
    assert.deepStrictEqual(counts, { OK: 1, ALREADY_USED: 49 }, diagnostics())
  }, 30_000)

  it("50 concurrent wrong guesses across both processes: exactly 5 CODE_INVALID, the rest TOO_MANY_ATTEMPTS", async () => {
    const { outcomes, code, authRequestId } = await run(Effect.gen(function* () {
      const clients = [yield* clientOf(a.url, created.keys.test), yield* clientOf(b.url, created.keys.test)] as const
      const sent = yield* clients[1].passwordless.send({ payload: { email: "guess-pg@example.com" } })
      const wrong = sent.code === "000000" ? "111111" : "000000"
      const outcomes = yield* Effect.forEach(Array.from({ length: 50 }, (_, i) => clients[i % 2]!), (client) =>
        client.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: wrong } }).pipe(
          Effect.match({ onSuccess: () => "OK", onFailure: errorCode })
        ), { concurrency: "unbounded" })
      return { outcomes, code: sent.code ?? "", authRequestId: sent.authRequestId }
    }))
    assert.deepStrictEqual(tally(outcomes), { CODE_INVALID: 5, TOO_MANY_ATTEMPTS: 45 }, diagnostics())
    // Locked for good: the right code no longer works either, on either process.
    for (const server of [a, b]) {
      const locked = await run(Effect.flatMap(clientOf(server.url, created.keys.test), (c) =>
        Effect.flip(c.passwordless.verify({ payload: { authRequestId, code } }))))
      assert.strictEqual(errorCode(locked), "TOO_MANY_ATTEMPTS")
    }
    const status = await run(Effect.flatMap(clientOf(b.url, created.keys.test), (c) =>
      c.passwordless.status({ params: { authRequestId } })))
    assert.strictEqual(status.status, "locked")
    assert.strictEqual(status.attempts, 5)
  }, 30_000)

  it("a live send on A (no code in the response) is visible on B; the test key cannot see it", async () => {
    const sent = await run(Effect.flatMap(clientOf(a.url, created.keys.live), (c) =>
      c.passwordless.send({ payload: { email: "live-pg@example.com" } })))
    assert.isUndefined(sent.code)
    const status = await run(Effect.flatMap(clientOf(b.url, created.keys.live), (c) =>
      c.passwordless.status({ params: { authRequestId: sent.authRequestId } })))
    assert.strictEqual(status.status, "pending")
    const hidden = await run(Effect.flatMap(clientOf(b.url, created.keys.test), (c) =>
      Effect.flip(c.passwordless.status({ params: { authRequestId: sent.authRequestId } }))))
    assert.strictEqual(errorCode(hidden), "NOT_FOUND")
  })
})
