/**
 * The operator command line (API.md "Operator command line") against a fresh PostgreSQL database,
 * with a server process running on the same database where the effect must be seen by it.
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Redacted } from "effect"
import { afterAll, assert, describe, it } from "vitest"
import { layerPostgres } from "../../src/platform/Database.ts"
import { freshPostgresUrl, hasPostgres } from "../support/Db.ts"
import { cli, eventually, runCli, type ServerProcess, sleep, startServer } from "../support/Processes.ts"
import { errorCode } from "../support/Server.ts"
import { clientOf, run } from "../support/Remote.ts"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null

describe.skipIf(!hasPostgres)("sesame CLI (PostgreSQL)", () => {
  const cleanup: Array<() => Promise<void>> = []
  afterAll(async () => {
    for (const step of cleanup.reverse()) await step().catch(() => undefined)
  }, 30_000)

  const freshEnv = async () => {
    const database = await freshPostgresUrl()
    cleanup.push(database.drop)
    return { DATABASE_URL: database.url }
  }

  it("migrate exits 0 on an empty database, and again when there is nothing to do", async () => {
    const env = await freshEnv()
    const first = await runCli(["migrate"], env)
    assert.strictEqual(first.code, 0, first.stderr)
    const second = await runCli(["migrate"], env)
    assert.strictEqual(second.code, 0, second.stderr)
    assert.notInclude(second.stdout + second.stderr, "applied", "nothing to apply the second time")
  }, 30_000)

  it("keys rotate: both modes by default, one with --mode, the other mode's keys untouched; --json says what rotated", async () => {
    const env = await freshEnv()
    const rows = () =>
      Effect.runPromise(Effect.flatMap(PgClient.PgClient, (sql) =>
        sql<{ kid: string; mode: string; retiredAt: Date | null }>`SELECT kid, mode, retired_at FROM signing_keys ORDER BY mode, created_at`
      ).pipe(Effect.provide(layerPostgres(Redacted.make(env.DATABASE_URL), { maxConnections: 1 })), Effect.orDie))
    const rotated = async (args: ReadonlyArray<string>) =>
      (JSON.parse(await cli(["keys", "rotate", ...args, "--json"], env)) as { rotated: Array<{ mode: string; kid: string }>; signsFrom: string })

    const both = await rotated([])
    assert.deepStrictEqual(both.rotated.map((r) => r.mode), ["live", "test"])
    assert.isFalse(Number.isNaN(Date.parse(both.signsFrom)))
    const first = await rows()
    assert.deepStrictEqual(first.map((r) => [r.mode, r.kid, r.retiredAt]), both.rotated.map((r) => [r.mode, r.kid, null]))

    const testOnly = await rotated(["--mode", "test"])
    assert.deepStrictEqual(testOnly.rotated.map((r) => r.mode), ["test"])
    const second = await rows()
    assert.deepStrictEqual(second.filter((r) => r.mode === "live"), first.filter((r) => r.mode === "live"))
    assert.deepStrictEqual(second.filter((r) => r.mode === "test").map((r) => [r.kid, r.retiredAt !== null]),
      [[both.rotated[1]?.kid, true], [testOnly.rotated[0]?.kid, false]])

    const liveOnly = await rotated(["--mode", "live"])
    assert.deepStrictEqual(liveOnly.rotated.map((r) => r.mode), ["live"])
    assert.deepStrictEqual((await rows()).filter((r) => r.mode === "test"), second.filter((r) => r.mode === "test"))

    const bad = await runCli(["keys", "rotate", "--mode", "staging"], env)
    assert.notStrictEqual(bad.code, 0)
    assert.include(bad.stderr, "--mode")
    assert.strictEqual(bad.stdout, "")
  }, 60_000)

  it("bad usage exits non-zero with a message on stderr and nothing on stdout", async () => {
    const env = await freshEnv()
    const unknown = await runCli(["frobnicate"], env)
    assert.notStrictEqual(unknown.code, 0)
    assert.include(unknown.stderr, "unknown command")
    const noName = await runCli(["tenant", "create", "--json"], env)
    assert.notStrictEqual(noName.code, 0)
    assert.include(noName.stderr, "--name")
    assert.strictEqual(noName.stdout, "")
  }, 30_000)

  it("tenant create --json on an empty database prints exactly one JSON line of the documented shape; the keys work", async () => {
    const env = await freshEnv()
    const stdout = await cli(["tenant", "create", "--name", "Cli Co", "--allow-redirect", "http://localhost/*", "--json"], env)
    const lines = stdout.split("\n").filter((line) => line !== "")
    assert.strictEqual(lines.length, 1, `stdout must be exactly one line, got:\n${stdout}`)
    assert.isTrue(stdout.endsWith("\n"))
    const parsed: unknown = JSON.parse(lines[0] ?? "")
    assert.isTrue(isRecord(parsed) && isRecord(parsed["tenant"]) && isRecord(parsed["keys"]))
    if (!isRecord(parsed) || !isRecord(parsed["tenant"]) || !isRecord(parsed["keys"])) return
    assert.deepStrictEqual(Object.keys(parsed).sort(), ["keys", "tenant"])
    assert.deepStrictEqual(Object.keys(parsed["tenant"]).sort(), ["id", "name"])
    assert.deepStrictEqual(Object.keys(parsed["keys"]).sort(), ["live", "test"])
    assert.match(String(parsed["tenant"]["id"]), /^ten_[A-Za-z0-9]+$/)
    assert.strictEqual(parsed["tenant"]["name"], "Cli Co")
    assert.match(String(parsed["keys"]["live"]), /^sk_live_[A-Za-z0-9_-]{43}$/)
    assert.match(String(parsed["keys"]["test"]), /^sk_test_[A-Za-z0-9_-]{43}$/)
  }, 30_000)

  it("key create with one scope: can send, SCOPE_MISSING on verify; key revoke: refused by a running server within ~1 s", async () => {
    const env = await freshEnv()
    const created = await cli(["tenant", "create", "--name", "Keys Co", "--allow-redirect", "http://localhost/*", "--json"], env)
    const tenantLine = created.split("\n").find((line) => line.startsWith("{")) ?? ""
    const tenant: unknown = JSON.parse(tenantLine)
    const tenantId = isRecord(tenant) && isRecord(tenant["tenant"]) ? String(tenant["tenant"]["id"]) : ""
    assert.match(tenantId, /^ten_/)

    const server: ServerProcess = await startServer(env)
    cleanup.push(() => server.stop())

    const keyOut = await cli(["key", "create", "--tenant", tenantId, "--mode", "test", "--scopes", "passwordless:send", "--json"], env)
    const keyLines = keyOut.split("\n").filter((line) => line !== "")
    assert.strictEqual(keyLines.length, 1, keyOut)
    const key: unknown = JSON.parse(keyLines[0] ?? "")
    assert.isTrue(isRecord(key) && isRecord(key["key"]))
    if (!isRecord(key) || !isRecord(key["key"])) return
    const keyId = String(key["key"]["id"])
    const secret = String(key["secret"])
    assert.match(keyId, /^key_/)
    assert.match(secret, /^sk_test_[A-Za-z0-9_-]{43}$/)
    assert.strictEqual(key["key"]["mode"], "test")
    assert.deepStrictEqual(key["key"]["scopes"], ["passwordless:send"])

    const client = clientOf(server.url, secret)
    const sent = await run(Effect.flatMap(client, (c) => c.passwordless.send({ payload: { email: "scoped@example.com" } })))
    assert.match(sent.code ?? "", /^\d{6}$/)
    const denied = await run(Effect.flatMap(client, (c) =>
      Effect.flip(c.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } }))))
    assert.strictEqual(errorCode(denied), "SCOPE_MISSING")

    // Keep the key hot in the server's cache while the revoke runs: the server must still stop
    // accepting it within the documented second of the revoke.
    const probe = () =>
      run(Effect.flatMap(client, (c) => c.passwordless.status({ params: { authRequestId: sent.authRequestId } })).pipe(
        Effect.match({ onSuccess: () => "OK", onFailure: errorCode })
      ))
    let refusedAt: number | undefined
    let hot = true
    const hammer = (async () => {
      while (hot && refusedAt === undefined) {
        if ((await probe()) === "API_KEY_INVALID") refusedAt = Date.now()
        else await sleep(50)
      }
    })()
    const revoked = await cli(["key", "revoke", keyId], env)
    const revokedAt = Date.now()
    assert.include(revoked, keyId)
    await eventually("the revoked key to be refused", () => Promise.resolve(refusedAt), 5000, 20).finally(() => {
      hot = false
    })
    await hammer
    const elapsed = (refusedAt ?? Infinity) - revokedAt
    assert.isAtMost(elapsed, 1500, `revoked key still accepted ${elapsed} ms after the revoke command returned`)
    assert.strictEqual(await probe(), "API_KEY_INVALID")

    const again = await runCli(["key", "revoke", "key_doesnotexist0000000000"], env)
    assert.notStrictEqual(again.code, 0, "revoking an unknown key fails")
  }, 60_000)

  it("retention sweep: one pass now, with the configured periods; --json prints the counts", async () => {
    const env = await freshEnv()
    assert.strictEqual((await runCli(["migrate"], env)).code, 0)
    const day = 86_400_000
    await Effect.runPromise(Effect.scoped(Effect.gen(function* () {
      const sql = yield* PgClient.PgClient
      for (const [id, age] of [["aud_old", 3 * day], ["aud_new", day / 2]] as const) {
        yield* sql`INSERT INTO audit_log (tenant_id, id, mode, type, details, created_at)
          VALUES ('ten_x', ${id}, 'live', 'key.created', '{}'::jsonb, ${new Date(Date.now() - age)})`
      }
    })).pipe(Effect.provide(layerPostgres(Redacted.make(env.DATABASE_URL)))))
    const swept = await runCli(["retention", "sweep", "--json"], { ...env, RETENTION_AUDIT_DAYS: "2" })
    assert.strictEqual(swept.code, 0, swept.stderr)
    const counts: unknown = JSON.parse(swept.stdout)
    assert.isTrue(isRecord(counts) && counts.audit === 1 && counts.authRequests === 0, swept.stdout)
    const again = await runCli(["retention", "sweep"], { ...env, RETENTION_AUDIT_DAYS: "2" })
    assert.include(again.stdout, "audit: 0")
  }, 60_000)
})
