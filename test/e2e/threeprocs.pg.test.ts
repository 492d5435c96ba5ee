/**
 * Three `sesame serve` processes on one fresh PostgreSQL database behind a round-robin proxy (no
 * stickiness), as README "Deploying" describes: every caller goes through the proxy, every request to
 * the next process. The invariants of the single-process suites hold as they are: a code verifies once,
 * exactly maxAttempts wrong guesses count, a small limit admits exactly its limit, a refresh token
 * rotates once (its reuse revokes the session), and every queued email and every webhook event is
 * delivered exactly once although all three processes run both workers.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { Webhook } from "standardwebhooks"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freshPostgresUrl, hasPostgres } from "../support/Db.ts"
import {
  cli,
  type CreatedTenant,
  eventually,
  freePort,
  parseTenant,
  type ServerProcess,
  sleep,
  type SmtpSink,
  startServer,
  startSmtpSink
} from "../support/Processes.ts"
import { type Proxy, startProxy } from "../support/Proxy.ts"
import { errorCode } from "../support/Server.ts"
import { type Receiver, startReceiver } from "../webhooks/Receiver.ts"
import { clientOf, outcome, run, tally } from "../support/Remote.ts"

const query = <A>(url: string, f: (sql: PgClient.PgClient) => Effect.Effect<A, unknown>) =>
  Effect.runPromise(Effect.flatMap(PgClient.PgClient, f).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(url), maxConnections: 1 })), Effect.orDie))

/** The proxy's connections to the processes come from 127.0.0.2, the test's own from 127.0.0.1. */
const PROXY_HOP = "127.0.0.2"

describe.skipIf(!hasPostgres)("three server processes on one PostgreSQL behind a round-robin proxy", () => {
  let database: { readonly url: string; readonly drop: () => Promise<void> } | undefined
  const servers: Array<ServerProcess> = []
  let proxy: Proxy | undefined
  let smtp: SmtpSink | undefined
  let receiver: Receiver | undefined
  let main: CreatedTenant
  let limits: CreatedTenant
  let hooks: CreatedTenant

  beforeAll(async () => {
    database = await freshPostgresUrl()
    smtp = await startSmtpSink()
    // Answers take 50 ms, so one event sent twice at once by two processes would overlap.
    receiver = await startReceiver(() => ({ status: 204, delayMs: 50 }))
    const ports = await Promise.all([freePort(), freePort(), freePort()])
    proxy = await startProxy(ports.map((p) => `http://127.0.0.1:${p}`), { localAddress: PROXY_HOP })
    const env = {
      DATABASE_URL: database.url,
      // What every process of one deployment shares (SESAME_SECRET: startServer's testSecret).
      PUBLIC_URL: proxy.url,
      TRUST_PROXY: `${PROXY_HOP}/32`,
      SMTP_URL: smtp.url,
      DELIVERY_POLL_MS: "100",
      WEBHOOKS_ALLOW_PRIVATE: "true",
      WEBHOOK_RETRY_BASE_MS: "2",
      WEBHOOK_TIMEOUT_MS: "2000"
    }
    // All three start together on the empty database: each runs the migrations at start, and the
    // migrator's table lock makes them apply each migration once (README "Deploying").
    const started = await Promise.allSettled(ports.map((port) => startServer({ ...env, PORT: String(port) }, { timeoutMs: 40_000 })))
    for (const s of started) if (s.status === "fulfilled") servers.push(s.value)
    for (const s of started) if (s.status === "rejected") throw s.reason
    const [mainOut, limitsOut, hooksOut] = await Promise.all(["Main", "Limits", "Hooks"].map((name) =>
      cli(["tenant", "create", "--name", name, "--json"], env)))
    main = parseTenant(mainOut ?? "")
    limits = parseTenant(limitsOut ?? "")
    hooks = parseTenant(hooksOut ?? "")
  }, 60_000)

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    await proxy?.close()
    await smtp?.close()
    await receiver?.close()
    await database?.drop()
  }, 30_000)

  const via = () => proxy?.url ?? ""
  const diagnostics = () => servers.map((s, i) => `--- process ${i} (${s.url})\n${s.output().slice(-3000)}`).join("\n")
  /** Requests each process received from the proxy while `f` ran. */
  const spreadOf = async <A>(f: () => Promise<A>): Promise<{ readonly result: A; readonly spread: ReadonlyArray<number> }> => {
    const before = proxy?.counts() ?? []
    const result = await f()
    return { result, spread: (proxy?.counts() ?? []).map((n, i) => n - (before[i] ?? 0)) }
  }

  it("50 concurrent verifies of one code through the proxy: exactly one 200, every process answered", async () => {
    const { result: outcomes, spread } = await spreadOf(() => run(Effect.gen(function*() {
      const api = yield* clientOf(via(), main.keys.test)
      const sent = yield* api.passwordless.send({ payload: { email: "single-use@example.com" } })
      return yield* Effect.forEach(Array.from({ length: 50 }), () =>
        outcome(api.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })),
        { concurrency: "unbounded" })
    })))
    assert.deepStrictEqual(tally(outcomes), { OK: 1, ALREADY_USED: 49 }, diagnostics())
    // round robin: 51 requests, 17 each
    assert.deepStrictEqual(spread, [17, 17, 17])
  }, 30_000)

  it("50 concurrent wrong guesses: exactly 5 CODE_INVALID, the rest TOO_MANY_ATTEMPTS; the right code is refused on every process", async () => {
    const { outcomes, code, authRequestId } = await run(Effect.gen(function*() {
      const api = yield* clientOf(via(), main.keys.test)
      const sent = yield* api.passwordless.send({ payload: { email: "guesses@example.com" } })
      const wrong = sent.code === "000000" ? "111111" : "000000"
      const outcomes = yield* Effect.forEach(Array.from({ length: 50 }), () =>
        outcome(api.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: wrong } })),
        { concurrency: "unbounded" })
      return { outcomes, code: sent.code ?? "", authRequestId: sent.authRequestId }
    }))
    assert.deepStrictEqual(tally(outcomes), { CODE_INVALID: 5, TOO_MANY_ATTEMPTS: 45 }, diagnostics())
    // three requests in a row through the proxy: one to each process
    const { result: locked, spread } = await spreadOf(() => run(Effect.gen(function*() {
      const api = yield* clientOf(via(), main.keys.test)
      return yield* Effect.forEach([0, 1, 2], () => outcome(api.passwordless.verify({ payload: { authRequestId, code } })))
    })))
    assert.deepStrictEqual(locked, ["TOO_MANY_ATTEMPTS", "TOO_MANY_ATTEMPTS", "TOO_MANY_ATTEMPTS"])
    assert.deepStrictEqual(spread, [1, 1, 1])
    const status = await run(Effect.flatMap(clientOf(via(), main.keys.test), (api) => api.passwordless.status({ params: { authRequestId } })))
    assert.deepStrictEqual([status.status, status.attempts], ["locked", 5])
  }, 30_000)

  it("exact limits across the processes: 4 of 24 concurrent sends to one email, 5 of 20 from one end-user IP, 30 of 45 requests of one key", async () => {
    const limited = (e: { readonly _tag: string }) => `${errorCode(e)}${"limit" in e ? `:${String(e.limit)}` : ""}`
    // settings are per mode: the sends' in test mode, the per-key limit in live mode (not on the test key doing the sends)
    await run(Effect.gen(function*() {
      yield* (yield* clientOf(via(), limits.keys.test)).tenant.update({
        payload: { settings: { limits: { sendPerIdentifierMinute: 4, sendPerIpHour: 5 } } }
      })
      yield* (yield* clientOf(via(), limits.keys.live)).tenant.update({ payload: { settings: { limits: { requestsPerKeyMinute: 30 } } } })
    }))
    await sleep(1100) // every process's tenant cache has seen the new limits
    const { perEmail, perIp } = await run(Effect.gen(function*() {
      const api = yield* clientOf(via(), limits.keys.test)
      const perEmail = yield* Effect.forEach(Array.from({ length: 24 }), () =>
        api.passwordless.send({ payload: { email: "limited@example.com" } }).pipe(Effect.match({ onSuccess: () => "OK", onFailure: limited })),
        { concurrency: "unbounded" })
      const perIp = yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => i), (i) =>
        api.passwordless.send({ payload: { email: `ip${i}@example.com`, client: { ipAddress: "198.51.100.23" } } }).pipe(
          Effect.match({ onSuccess: () => "OK", onFailure: limited })),
        { concurrency: "unbounded" })
      return { perEmail, perIp }
    }))
    assert.deepStrictEqual(tally(perEmail), { OK: 4, "RATE_LIMITED:send_per_identifier_minute": 20 }, diagnostics())
    assert.deepStrictEqual(tally(perIp), { OK: 5, "RATE_LIMITED:send_per_ip_hour": 15 }, diagnostics())

    // a fresh live key, so that only these requests count against its 30 a minute
    const { secret } = await run(Effect.flatMap(clientOf(via(), limits.keys.live), (api) =>
      api.keys.create({ payload: { name: "counted", mode: "live", scopes: ["keys:manage"] } })))
    const { result: perKey, spread } = await spreadOf(() => run(Effect.flatMap(clientOf(via(), secret), (api) =>
      Effect.forEach(Array.from({ length: 45 }), () => api.keys.list().pipe(Effect.match({ onSuccess: () => "OK", onFailure: limited })),
        { concurrency: "unbounded" }))))
    assert.deepStrictEqual(tally(perKey), { OK: 30, "RATE_LIMITED:requests_per_key_minute": 15 }, diagnostics())
    assert.deepStrictEqual(spread, [15, 15, 15])
  }, 30_000)

  it("20 concurrent refreshes of one token: exactly one success; the reuse revokes the session on every process", async () => {
    const signed = await run(Effect.gen(function*() {
      const api = yield* clientOf(via(), main.keys.test)
      const sent = yield* api.passwordless.send({ payload: { email: "refresh@example.com" } })
      return yield* api.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })
    }))
    const results = await run(Effect.flatMap(clientOf(via()), (anon) =>
      Effect.forEach(Array.from({ length: 20 }), () =>
        anon.token.refresh({ payload: { refreshToken: signed.session.refreshToken } }).pipe(
          Effect.match({
            onSuccess: (r) => ({ code: "OK", refreshToken: r.session.refreshToken }),
            onFailure: (e) => ({ code: errorCode(e), refreshToken: "" })
          })
        ), { concurrency: "unbounded" })))
    assert.deepStrictEqual(tally(results.map((r) => r.code)), { OK: 1, REFRESH_TOKEN_REUSED: 19 }, diagnostics())
    const winner = results.find((r) => r.code === "OK")?.refreshToken ?? ""
    // three in a row: each process in turn refuses the winner's token, and says the session is revoked
    const { result: after, spread } = await spreadOf(() => run(Effect.gen(function*() {
      const anon = yield* clientOf(via())
      const api = yield* clientOf(via(), main.keys.test)
      const refreshed = yield* Effect.forEach([0, 1, 2], () => outcome(anon.token.refresh({ payload: { refreshToken: winner } })))
      const verdicts = yield* Effect.forEach([0, 1, 2], () => api.sessions.verify({ payload: { token: signed.session.accessToken } }))
      return { refreshed, verdicts }
    })))
    assert.deepStrictEqual(after.refreshed, ["TOKEN_INVALID", "TOKEN_INVALID", "TOKEN_INVALID"])
    for (const verdict of after.verdicts) assert.deepInclude(verdict, { valid: false, reason: "SESSION_REVOKED" })
    assert.deepStrictEqual(spread, [2, 2, 2])
  }, 30_000)

  it("30 live sends: each email arrives exactly once although three processes run the outbox worker", async () => {
    const emails = Array.from({ length: 30 }, (_, i) => `outbox${i}@example.com`)
    const sent = await run(Effect.flatMap(clientOf(via(), main.keys.live), (api) =>
      Effect.forEach(emails, (email) => api.passwordless.send({ payload: { email } }), { concurrency: 10 })))
    assert.isTrue(sent.every((s) => s.code === undefined && s.delivery === "queued"))
    await eventually("every email delivered", async () =>
      emails.every((e) => (smtp?.to(e).length ?? 0) > 0) ? true : undefined, 15_000)
    // 20 more poll rounds of every process: nothing is sent again
    await sleep(2000)
    assert.deepStrictEqual(emails.filter((e) => smtp?.to(e).length !== 1), [], "an email arrived twice")
    assert.strictEqual(smtp?.messages.length, emails.length)
    const rows = await query(database?.url ?? "", (sql) => sql<{ status: string; n: number }>`
      SELECT status, count(*)::int AS n FROM messages WHERE tenant_id = ${main.tenant.id} AND mode = 'live' GROUP BY status`)
    assert.deepStrictEqual(rows, [{ status: "sent", n: 30 }])
  }, 30_000)

  it("webhooks: 10 sign-ins, every event delivered once (one webhook-id each), never two senders at once", async () => {
    const created = await run(Effect.flatMap(clientOf(via(), hooks.keys.test), (api) => api.webhooks.create({
      payload: { url: receiver?.url("/hook") ?? "", events: ["user.created", "user.verified", "login.success"] }
    })))
    await run(Effect.flatMap(clientOf(via(), hooks.keys.test), (api) =>
      Effect.forEach(Array.from({ length: 10 }, (_, i) => `hook${i}@example.com`), (email) => Effect.gen(function*() {
        const sent = yield* api.passwordless.send({ payload: { email } })
        return yield* api.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })
      }), { concurrency: 5 })))
    const eventIds = (await query(database?.url ?? "", (sql) => sql<{ id: string }>`
      SELECT id FROM events WHERE tenant_id = ${hooks.tenant.id} AND type IN ('user.created', 'user.verified', 'login.success')`))
      .map((e) => e.id).sort()
    assert.strictEqual(eventIds.length, 30)
    const answered = () => (receiver?.received ?? []).filter((r) => r.path === "/hook" && r.status === 204)
    await eventually("every event answered", async () => answered().length >= 30 ? true : undefined, 15_000)
    await sleep(1500) // more poll rounds of every process: nothing is sent again
    const ids = (receiver?.received ?? []).filter((r) => r.path === "/hook").map((r) => String(r.headers["webhook-id"]))
    assert.strictEqual(ids.length, 30, `requests per webhook-id: ${JSON.stringify(tally(ids))}`)
    assert.deepStrictEqual([...new Set(ids)].sort(), eventIds)
    assert.strictEqual(receiver?.maxConcurrentPerId(), 1)
    for (const request of answered()) {
      const headers = Object.fromEntries(["webhook-id", "webhook-timestamp", "webhook-signature"].map((h) => [h, String(request.headers[h])]))
      assert.doesNotThrow(() => new Webhook(created.secret).verify(request.body, headers))
    }
    const statuses = await query(database?.url ?? "", (sql) => sql<{ status: string; attempts: number; n: number }>`
      SELECT status, attempts, count(*)::int AS n FROM webhook_deliveries WHERE tenant_id = ${hooks.tenant.id} GROUP BY status, attempts`)
    assert.deepStrictEqual(statuses, [{ status: "succeeded", attempts: 1, n: 30 }])
  }, 30_000)

  it("X-Forwarded-For: the processes trust the proxy's hop only and see the caller's address", async () => {
    const make = (ipAllowlist: ReadonlyArray<string>) => run(Effect.flatMap(clientOf(via(), main.keys.test), (api) =>
      api.keys.create({ payload: { name: "ip", mode: "test", scopes: ["keys:manage"], ipAllowlist: [...ipAllowlist] } })))
    const caller = await make(["127.0.0.1/32"])
    const proxyOnly = await make([`${PROXY_HOP}/32`])
    const list = (secret: string, headers: Record<string, string> = {}) =>
      Promise.all([0, 1, 2].map(() => fetch(`${via()}/v1/keys`, { headers: { authorization: `Bearer ${secret}`, ...headers } })
        .then(async (r) => [r.status, r.status === 200 ? "" : String((await r.json() as { code?: unknown }).code)].join(" "))))
    // the caller's address (127.0.0.1) is allowed on every process; the proxy's own (the socket peer) is not the caller
    assert.deepStrictEqual(await list(caller.secret), ["200 ", "200 ", "200 "])
    assert.deepStrictEqual(await list(proxyOnly.secret), Array(3).fill("403 IP_NOT_ALLOWED"))
    // a forged leftmost hop does not make the caller someone else
    assert.deepStrictEqual(await list(proxyOnly.secret, { "x-forwarded-for": PROXY_HOP }), Array(3).fill("403 IP_NOT_ALLOWED"))
    assert.deepStrictEqual(await list(caller.secret, { "x-forwarded-for": "198.51.100.9" }), ["200 ", "200 ", "200 "])
  }, 30_000)

  it("the proxy spread every request evenly over the three processes", () => {
    const counts = proxy?.counts() ?? []
    const total = counts.reduce((a, b) => a + b, 0)
    assert.isAbove(total, 200)
    assert.isAtMost(Math.max(...counts) - Math.min(...counts), 1, JSON.stringify(counts))
  })
})
