/**
 * Two `sesame serve` processes on one PostgreSQL database: refresh rotation holds across processes
 * (20 concurrent refreshes of one token, split between them → exactly one success), revocation on one
 * is seen by the other, and `sesame keys rotate` reaches both JWKS.
 */
import { Effect } from "effect"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { freshPostgresUrl, hasPostgres } from "../support/Db.ts"
import { cli, type CreatedTenant, eventually, parseTenant, type ServerProcess, startServer } from "../support/Processes.ts"
import { errorCode } from "../support/Server.ts"
import { tally, uniqueEmail } from "../sessions/HttpFixtures.ts"
import { clientOf, outcome, run } from "../support/Remote.ts"

describe.skipIf(!hasPostgres)("sessions across two server processes on one PostgreSQL database", () => {
  let database: { readonly url: string; readonly drop: () => Promise<void> } | undefined
  const servers: Array<ServerProcess> = []
  let created: CreatedTenant
  let env: Record<string, string>
  let a: ServerProcess
  let b: ServerProcess

  beforeAll(async () => {
    database = await freshPostgresUrl()
    // One issuer for both: behind a load balancer every process shares PUBLIC_URL.
    env = { DATABASE_URL: database.url, DELIVERY_POLL_MS: "200", PUBLIC_URL: "http://sesame.multi" }
    created = parseTenant(await cli(["tenant", "create", "--name", "Sessions", "--json"], env))
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

  const signInOn = (server: ServerProcess) =>
    run(Effect.gen(function*() {
      const api = yield* clientOf(server.url, created.keys.test)
      const sent = yield* api.passwordless.send({ payload: { email: uniqueEmail("mp") } })
      return yield* api.passwordless.verify({ payload: { authRequestId: sent.authRequestId, code: sent.code ?? "" } })
    }))

  it("20 concurrent refreshes of one token across both processes: exactly one success, then the session is revoked", async () => {
    const signed = await signInOn(a)
    const results = await run(Effect.gen(function*() {
      const anon = [yield* clientOf(a.url), yield* clientOf(b.url)] as const
      return yield* Effect.forEach(Array.from({ length: 20 }, (_, i) => anon[i % 2]!), (api) =>
        api.token.refresh({ payload: { refreshToken: signed.session.refreshToken } }).pipe(
          Effect.map((r) => ({ code: "OK", refreshToken: r.session.refreshToken })),
          Effect.catch((e) => Effect.succeed({ code: errorCode(e), refreshToken: "" }))
        ), { concurrency: "unbounded" })
    }))
    assert.deepStrictEqual(tally(results.map((r) => r.code)), { OK: 1, REFRESH_TOKEN_REUSED: 19 }, diagnostics())
    const winner = results.find((r) => r.code === "OK")?.refreshToken ?? ""
    for (const server of [a, b]) {
      const next = await run(Effect.flatMap(clientOf(server.url), (api) => outcome(api.token.refresh({ payload: { refreshToken: winner } }))))
      assert.strictEqual(next, "TOKEN_INVALID")
      const verdict = await run(Effect.flatMap(clientOf(server.url, created.keys.test), (api) =>
        api.sessions.verify({ payload: { token: signed.session.accessToken } })))
      assert.deepInclude(verdict, { valid: false, reason: "SESSION_REVOKED" })
    }
  }, 30_000)

  it("a token issued by A works on B; logout on B is seen by A at once", async () => {
    const signed = await signInOn(a)
    const info = await run(Effect.flatMap(clientOf(b.url, signed.session.accessToken), (api) => api.token.userinfo()))
    assert.strictEqual(info.sub, signed.user.id)
    await run(Effect.flatMap(clientOf(b.url, signed.session.accessToken), (api) => api.token.logout()))
    const after = await run(Effect.flatMap(clientOf(a.url, signed.session.accessToken), (api) => outcome(api.token.userinfo())))
    assert.strictEqual(after, "TOKEN_INVALID")
  }, 30_000)

  it("sesame keys rotate: both processes publish the new keys within a minute, each in its mode's JWKS; tokens keep verifying", async () => {
    const out = await cli(["keys", "rotate", "--json"], env)
    const { rotated } = JSON.parse(out.split("\n").find((l) => l.startsWith("{")) ?? "{}") as {
      rotated: Array<{ mode: "live" | "test"; kid: string }>
    }
    assert.deepStrictEqual(rotated.map((r) => r.mode), ["live", "test"])
    const jwksPath = { live: "/.well-known/jwks.json", test: "/test/.well-known/jwks.json" }
    const kidsAt = async (url: string) =>
      ((await fetch(url).then((r) => r.json())) as { keys: Array<{ kid: string }> }).keys.map((k) => k.kid)
    for (const server of [a, b]) {
      for (const { mode, kid } of rotated) {
        await eventually(`${server.url} to publish ${kid}`, async () =>
          (await kidsAt(`${server.url}${jwksPath[mode]}`)).includes(kid) ? true : undefined, 75_000, 1000)
      }
      assert.notInclude(await kidsAt(`${server.url}${jwksPath.live}`), rotated[1]?.kid)
    }
    const signed = await signInOn(b)
    const verdict = await run(Effect.flatMap(clientOf(a.url, created.keys.test), (api) =>
      api.sessions.verify({ payload: { token: signed.session.accessToken } })))
    assert.isTrue(verdict.valid)
  }, 120_000)
})
