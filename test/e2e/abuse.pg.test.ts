/**
 * Three `sesame serve` processes on one fresh PostgreSQL database: the rate limits hold across
 * processes (the 11th send to one email in a minute is refused wherever it lands; the per-key window
 * never admits more than its limit), a key revoked on one process is refused by another within 1 s, and an IP
 * allowlist follows TRUST_PROXY: only a trusted proxy's X-Forwarded-For is read, right to left.
 */
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freshPostgresUrl, hasPostgres } from "../support/Db.ts"
import { cli, type CreatedTenant, parseTenant, type ServerProcess, sleep, startServer } from "../support/Processes.ts"

interface Reply {
  readonly status: number
  readonly body: Record<string, unknown>
}

const call = async (base: string, key: string, method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<Reply> => {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${key}`, ...(body === undefined ? {} : { "content-type": "application/json" }), ...headers },
    ...(body === undefined ? {} : { body: JSON.stringify(body) })
  })
  const text = await response.text()
  return { status: response.status, body: text === "" ? {} : JSON.parse(text) as Record<string, unknown> }
}

const tally = (xs: ReadonlyArray<string | number>) => {
  const counts: Record<string, number> = {}
  for (const x of xs) counts[String(x)] = (counts[String(x)] ?? 0) + 1
  return counts
}

describe.skipIf(!hasPostgres)("abuse controls across three server processes on one PostgreSQL", () => {
  let database: { readonly url: string; readonly drop: () => Promise<void> } | undefined
  const servers: Array<ServerProcess> = []
  let env: Record<string, string>
  let tenant: CreatedTenant

  beforeAll(async () => {
    database = await freshPostgresUrl()
    env = { DATABASE_URL: database.url, DELIVERY_POLL_MS: "500" }
    // The CLI migrates the empty database first, so the servers do not race on migrations.
    tenant = parseTenant(await cli(["tenant", "create", "--name", "Abuse", "--json"], env))
    const started = await Promise.allSettled([
      startServer(env),
      startServer(env),
      startServer({ ...env, TRUST_PROXY: "127.0.0.1/32, ::1" })
    ])
    for (const s of started) if (s.status === "fulfilled") servers.push(s.value)
    for (const s of started) if (s.status === "rejected") throw s.reason
  }, 90_000)

  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
    await database?.drop()
  }, 30_000)

  const diagnostics = () => servers.map((s, i) => `--- process ${i} (${s.url})\n${s.output().slice(-3000)}`).join("\n")
  const at = (i: number) => servers[i % servers.length]!.url

  it("15 concurrent sends to one email spread over three processes: exactly 10 admitted, the rest send_per_identifier_minute", async () => {
    const replies = await Promise.all(Array.from({ length: 15 }, (_, i) =>
      call(at(i), tenant.keys.test, "POST", "/v1/passwordless/send", { email: "spread@example.com" })))
    const outcomes = replies.map((r) => r.status === 202 ? "OK" : `${String(r.body["code"])}:${String(r.body["limit"])}`)
    assert.deepStrictEqual(tally(outcomes), { OK: 10, "RATE_LIMITED:send_per_identifier_minute": 5 }, diagnostics())
    // and one more, sequentially, on each process
    for (let i = 0; i < 3; i++) {
      const r = await call(at(i), tenant.keys.test, "POST", "/v1/passwordless/send", { email: "spread@example.com" })
      assert.strictEqual(r.status, 429)
    }
  }, 30_000)

  it("the per-key window (a limit above 100) never admits more than its limit across processes", async () => {
    const admin = await call(at(0), tenant.keys.live, "POST", "/v1/keys", { name: "busy", mode: "live", scopes: ["keys:manage", "tenant:manage"] })
    assert.strictEqual(admin.status, 201, JSON.stringify(admin.body))
    const key = String(admin.body["secret"])
    const patched = await call(at(0), key, "PATCH", "/v1/tenant", { settings: { limits: { requestsPerKeyMinute: 120 } } })
    assert.strictEqual(patched.status, 200)
    await sleep(1100) // every process's tenant cache has seen the new limit
    // a fresh key, so that only these requests count against it
    const fresh = await call(at(1), tenant.keys.live, "POST", "/v1/keys", { name: "counted", mode: "live", scopes: ["keys:manage"] })
    const counted = String(fresh.body["secret"])
    const statuses: Array<number> = []
    for (let round = 0; round < 10; round++) {
      const batch = await Promise.all(Array.from({ length: 14 }, (_, i) => call(at(i + round), counted, "GET", "/v1/keys")))
      statuses.push(...batch.map((r) => r.status))
    }
    // Never more than the limit across the processes. Each process may hold a spare grant of the
    // current slot that it never uses (Leases.ts), so a few requests may be refused just below it.
    const counts = tally(statuses)
    assert.deepStrictEqual(Object.keys(counts).sort(), ["200", "429"], diagnostics())
    assert.isAtMost(counts["200"] ?? 0, 120, diagnostics())
    assert.isAtLeast(counts["200"] ?? 0, 110, diagnostics())
    await call(at(0), key, "PATCH", "/v1/tenant", { settings: { limits: { requestsPerKeyMinute: null } } })
  }, 60_000)

  it("a key revoked on process A is refused by process B within 1 s", async () => {
    const created = await call(at(0), tenant.keys.test, "POST", "/v1/keys", { name: "short-lived", mode: "test", scopes: ["keys:manage"] })
    const secret = String(created.body["secret"])
    const id = String((created.body["key"] as Record<string, unknown>)["id"])
    // B has the key cached from a use just before the revoke
    assert.strictEqual((await call(at(1), secret, "GET", "/v1/keys")).status, 200)
    const revoked = await call(at(0), tenant.keys.test, "DELETE", `/v1/keys/${id}`)
    assert.strictEqual(revoked.status, 204)
    const t0 = Date.now()
    assert.strictEqual((await call(at(0), secret, "GET", "/v1/keys")).status, 401) // A: at once
    let refusedAfter = -1
    while (Date.now() - t0 < 3000) {
      const r = await call(at(1), secret, "GET", "/v1/keys")
      if (r.status === 401) {
        refusedAfter = Date.now() - t0
        break
      }
      await sleep(25)
    }
    assert.isAtLeast(refusedAfter, 0, "never refused")
    assert.isAtMost(refusedAfter, 1000 + 150, `refused after ${refusedAfter} ms`)
  }, 30_000)

  it("IP allowlist: X-Forwarded-For counts only behind TRUST_PROXY, read right to left; a forged leftmost hop is ignored", async () => {
    const created = await call(at(0), tenant.keys.test, "POST", "/v1/keys", {
      name: "behind-proxy", mode: "test", scopes: ["keys:manage"], ipAllowlist: ["203.0.113.0/24"]
    })
    const secret = String(created.body["secret"])
    const [direct, , proxied] = [servers[0]!.url, servers[1]!.url, servers[2]!.url]
    // no trusted proxy configured: the socket peer (127.0.0.1) decides, whatever the header says
    const forged = await call(direct, secret, "GET", "/v1/keys", undefined, { "x-forwarded-for": "203.0.113.7" })
    assert.deepStrictEqual([forged.status, forged.body["code"]], [403, "IP_NOT_ALLOWED"])
    // behind the trusted proxy: the hop it appended is the caller
    assert.strictEqual((await call(proxied, secret, "GET", "/v1/keys", undefined, { "x-forwarded-for": "203.0.113.7" })).status, 200)
    // the client forged 203.0.113.7, the proxy appended the real address: refused
    const spoofed = await call(proxied, secret, "GET", "/v1/keys", undefined, { "x-forwarded-for": "203.0.113.7, 198.51.100.1" })
    assert.deepStrictEqual([spoofed.status, spoofed.body["code"]], [403, "IP_NOT_ALLOWED"])
    const garbage = await call(proxied, secret, "GET", "/v1/keys", undefined, { "x-forwarded-for": "203.0.113.7, unknown" })
    assert.strictEqual(garbage.status, 403)
  }, 30_000)
})
