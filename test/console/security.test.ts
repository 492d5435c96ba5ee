/**
 * The console's security rules (#14) over HTTP, without a browser: the hosted link page's headers on
 * every response; refused changes (viewer, no CSRF token, cross-site, ended session) that change
 * nothing; session timeouts; the cookie's attributes; sign-in that does not tell who is an operator;
 * no off-site redirect after sign-in. Two in-process servers on PGlite: http and https PUBLIC_URL.
 */
import { createServer } from "node:http"
import { NodeHttpServer } from "@effect/platform-node"
import { PgClient } from "@effect/sql-pg"
import { Clock, Effect, Layer, ManagedRuntime } from "effect"
import { FetchHttpClient, HttpRouter, HttpServerResponse } from "effect/http"
import { afterAll, assert, beforeAll, describe, it } from "vitest"
import { Audit } from "../../src/audit/Audit.ts"
import { safeNext } from "../../src/console/Auth.ts"
import { cookieName, type Kit, kitFor, make as makeKit } from "../../src/console/Kit.ts"
import { type Operator, Operators, type Role } from "../../src/console/Operators.ts"
import { pages } from "../../src/console/pages/index.ts"
import { ensureConsoleTenant } from "../../src/console/Setup.ts"
import { TenantId } from "../../src/domain/Ids.ts"
import { maskEmail, pageHeaders } from "../../src/http/LinkPageHtml.ts"
import { ApiRoutes } from "../../src/http/Server.ts"
import * as TrustedProxies from "../../src/http/TrustedProxies.ts"
import { servicesOn } from "../../src/Layers.ts"
import { TestOutbox } from "../../src/passwordless/TestOutbox.ts"
import { CONSOLE_DEFAULTS } from "../../src/platform/Config.ts"
import { createTenantWithKeys } from "../../src/tenants/Bootstrap.ts"
import { pgliteLayer } from "../support/Db.ts"
import { freePort } from "../support/Processes.ts"
import { testConfig } from "../support/Server.ts"

/**
 * Console POST routes that are not changes of the console's data, so any signed-in operator (or
 * anyone, for sign-in) may use them. Every other console POST is an action, found by building the page
 * modules with a recording Kit (`actionRoutes`): a new page's actions are covered without a list here.
 */
const NOT_ACTIONS: ReadonlyArray<string> = ["/console/signin", "/console/signin/code", "/console/signin/link", "/console/signout"]

/** A change only this test registers (through the same Kit as the pages): proves the refusals leave a real change undone. */
const PROBE = "/console/t/:tenantId/probe"

const ProbeRoute = HttpRouter.use((router) =>
  Effect.gen(function* () {
    const core = yield* makeKit
    const audit = yield* Audit
    const kit = kitFor(core, router, audit.record)
    yield* kit.action(PROBE, "admin", (ctx) =>
      Effect.gen(function* () {
        const scope = yield* kit.scope(ctx)
        yield* kit.audit(ctx, { tenantId: scope.tenant.id, mode: scope.mode, type: "tenant.updated", subject: "probe", details: {} })
        return kit.redirect(ctx, `/console/t/${scope.tenant.id}/audit`, "Probed")
      }))
  })).pipe(Layer.provide(TrustedProxies.layer))

const serverLayer = (port: number, publicUrl: string) =>
  HttpRouter.serve(Layer.merge(ApiRoutes, ProbeRoute), { disableLogger: true, disableListenLog: true }).pipe(
    Layer.provideMerge(servicesOn(pgliteLayer)),
    Layer.provideMerge(NodeHttpServer.layer(createServer, { port, host: "127.0.0.1" })),
    Layer.provide(testConfig({ publicUrl, console: { signinMode: "test" } })),
    Layer.provideMerge(FetchHttpClient.layer)
  )

type Runtime = ManagedRuntime.ManagedRuntime<Layer.Success<ReturnType<typeof serverLayer>>, Layer.Error<ReturnType<typeof serverLayer>>>
type Services = ManagedRuntime.ManagedRuntime.Services<Runtime>

interface Server {
  /** Where the server listens. */
  readonly url: string
  /** PUBLIC_URL's origin: what a console page's form sends as Origin. */
  readonly origin: string
  readonly cookie: string
  readonly run: <A, E>(effect: Effect.Effect<A, E, Services>) => Promise<A>
  readonly close: () => Promise<void>
}

const start = async (publicUrl?: string): Promise<Server> => {
  const port = await freePort()
  const url = `http://127.0.0.1:${port}`
  const origin = publicUrl ?? url
  const runtime: Runtime = ManagedRuntime.make(serverLayer(port, origin))
  const run: Server["run"] = (effect) => runtime.runPromise(effect)
  await run(ensureConsoleTenant(origin))
  return { url, origin, cookie: cookieName(origin), run, close: () => runtime.dispose() }
}

interface Call {
  readonly method?: "GET" | "POST"
  /** The session token (the cookie's value). */
  readonly session?: string
  /** A POSTed form, sent as a console page would (Origin = PUBLIC_URL) unless `headers` say otherwise. */
  readonly form?: Readonly<Record<string, string>>
  readonly headers?: Readonly<Record<string, string>>
}

const call = (server: Server, path: string, { method = "GET", session, form, headers = {} }: Call = {}) =>
  fetch(`${server.url}${path}`, {
    method,
    redirect: "manual",
    headers: {
      ...(session === undefined ? {} : { cookie: `${server.cookie}=${session}` }),
      ...(form === undefined ? {} : { "content-type": "application/x-www-form-urlencoded", origin: server.origin, "sec-fetch-site": "same-origin" }),
      ...headers
    },
    ...(form === undefined ? {} : { body: new URLSearchParams(form).toString() })
  })

const openSession = (server: Server, operator: Operator) =>
  server.run(Effect.flatMap(Operators, (operators) => operators.openSession(operator, CONSOLE_DEFAULTS, { ip: null, userAgent: "test" })))

const addOperator = (server: Server, email: string, role: Role) => server.run(Effect.flatMap(Operators, (operators) => operators.add(email, role)))

/** The CSRF token a console page renders for this session (every page's sign-out form has it). */
const csrfOf = async (server: Server, session: string): Promise<string> => {
  const response = await call(server, "/console", { session })
  const token = /name="csrf" value="([^"]+)"/u.exec(await response.text())?.[1]
  assert.isDefined(token, `no CSRF token on /console (${response.status})`)
  return token ?? ""
}

/**
 * Everything the database holds, as one digest per table: equal before and after a refused request
 * means the request changed nothing. A session's `last_seen_at` is left out (a page view may touch it).
 */
const fingerprint = (server: Server) =>
  server.run(Effect.gen(function* () {
    const sql = yield* PgClient.PgClient
    const tables = yield* sql<{ tableName: string }>`
      SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`
    const digests: Record<string, string> = {}
    for (const { tableName } of tables) {
      const rows = tableName === "console_sessions"
        ? yield* sql<{ digest: string }>`SELECT md5(coalesce(string_agg(id || ':' || coalesce(revoked_at::text, ''), '|' ORDER BY id), '')) AS digest FROM console_sessions`
        : yield* sql<{ digest: string }>`SELECT md5(coalesce(string_agg(t::text, '|' ORDER BY t::text), '')) AS digest FROM ${sql(tableName)} t`
      digests[tableName] = rows[0]?.digest ?? ""
    }
    return digests
  }).pipe(Effect.orDie))

/** The console's action routes: the page modules built with a Kit that only records what they add. */
const actionRoutes = (server: Server) =>
  server.run(Effect.gen(function* () {
    const found: Array<{ readonly path: string; readonly needs: Role }> = []
    const recording: Kit = {
      publicUrl: server.origin,
      settings: CONSOLE_DEFAULTS,
      page: () => Effect.void,
      action: (path, needs) => Effect.sync(() => void found.push({ path, needs })),
      scope: () => Effect.die(new Error("not served")),
      render: () => Effect.die(new Error("not served")),
      redirect: () => HttpServerResponse.empty(),
      audit: () => Effect.void,
      asOperator: (_ctx, effect) => effect
    }
    for (const add of pages) yield* add(recording)
    return found
  }))

/** A route's path with its parameters filled: the tenant, and ids of nothing for the rest. */
const fill = (path: string, tenantId: string) =>
  path.replace(":tenantId", tenantId).replace(/:([A-Za-z]+)/gu, (_, name: string) => `${name.toLowerCase()}_none000000000000000000`)

const cspDirectives = (csp: string) => new Map(csp.split(";").map((part) => part.trim().split(/\s+/u)).map(([name = "", ...values]) => [name, values]))

/** The hosted link page's headers (LinkPageHtml.ts `pageHeaders`) on a console response. */
const assertPageHeaders = (response: Response, what: string, cache = "no-store") => {
  const reference = pageHeaders("", null)
  for (const name of Object.keys(reference)) {
    assert.isNotNull(response.headers.get(name), `${what}: ${name}`)
  }
  for (const name of ["referrer-policy", "x-frame-options", "x-content-type-options", "cross-origin-opener-policy", "x-robots-tag"]) {
    assert.strictEqual(response.headers.get(name), reference[name], `${what}: ${name}`)
  }
  assert.strictEqual(response.headers.get("cache-control"), cache, `${what}: cache-control`)
  const csp = cspDirectives(response.headers.get("content-security-policy") ?? "")
  assert.deepStrictEqual(csp.get("frame-ancestors"), ["'none'"], `${what}: frame-ancestors`)
  assert.deepStrictEqual(csp.get("default-src"), ["'none'"], `${what}: default-src`)
  assert.deepStrictEqual(csp.get("base-uri"), ["'none'"], `${what}: base-uri`)
  assert.deepStrictEqual(csp.get("script-src"), ["'self'"], `${what}: script-src`)
  assert.notMatch(response.headers.get("content-security-policy") ?? "", /unsafe-(inline|eval)/u, what)
}

/** A sign-in through the console's forms: the email, then the code from the console tenant's test outbox. */
const signIn = async (server: Server, email: string, next?: string) => {
  const asked = await call(server, "/console/signin", { method: "POST", form: { email, ...(next === undefined ? {} : { next }) } })
  assert.strictEqual(asked.status, 200, await asked.text())
  const messages = await server.run(Effect.gen(function* () {
    const tenantId = yield* ensureConsoleTenant(server.origin)
    return yield* (yield* TestOutbox).list(tenantId, email, 1)
  }))
  const code = /\b([0-9]{6})\b/u.exec(messages[0]?.text ?? "")?.[1] ?? ""
  return call(server, "/console/signin/code", { method: "POST", form: { email, code, ...(next === undefined ? {} : { next }) } })
}

const tokenIn = (setCookie: string, name: string) => new RegExp(`^${name}=([A-Za-z0-9_-]{43});`, "u").exec(setCookie)?.[1] ?? ""

describe("console security (http PUBLIC_URL)", () => {
  let server: Server
  let tenant: string
  const sessions: Record<"owner" | "admin" | "viewer", { token: string; csrf: string }> = {
    owner: { token: "", csrf: "" }, admin: { token: "", csrf: "" }, viewer: { token: "", csrf: "" }
  }

  beforeAll(async () => {
    server = await start()
    tenant = (await server.run(createTenantWithKeys("Acme", ["http://localhost/*"]))).tenant.id
    for (const role of ["owner", "admin", "viewer"] as const) {
      const token = (await openSession(server, await addOperator(server, `${role}@example.com`, role))).token
      sessions[role] = { token, csrf: await csrfOf(server, token) }
    }
  }, 60_000)
  afterAll(async () => server?.close())

  it("answers every console response with the hosted link page's security headers", async () => {
    const owner = sessions.owner.token
    assertPageHeaders(await call(server, "/console", { session: owner }), "overview")
    assertPageHeaders(await call(server, `/console/t/${tenant}/audit`, { session: owner }), "audit page")
    assertPageHeaders(await call(server, `/console/t/${tenant}/outbox`, { session: owner }), "outbox page")
    assertPageHeaders(await call(server, "/console/signin"), "sign-in page")
    assertPageHeaders(await call(server, "/console/signin/link?token=x"), "sign-in link page")
    assertPageHeaders(await call(server, `/console/t/${tenant}/audit`), "signed-out redirect")
    for (const asset of ["console.css", "console.js", "audit.css"]) {
      const response = await call(server, `/console/assets/${asset}`)
      assert.strictEqual(response.status, 200, asset)
      assertPageHeaders(response, asset, "no-cache")
    }
    const forbidden = await call(server, `/console/t/${tenant}/probe`, { method: "POST", session: sessions.viewer.token, form: { csrf: sessions.viewer.csrf } })
    assert.strictEqual(forbidden.status, 403)
    assertPageHeaders(forbidden, "403")
    const signedOut = await call(server, `/console/t/${tenant}/probe`, { method: "POST", form: { csrf: sessions.viewer.csrf } })
    assert.strictEqual(signedOut.status, 401)
    assertPageHeaders(signedOut, "401")
    for (const path of [`/console/t/ten_${"0".repeat(22)}/audit`, "/console/t/not-a-tenant/outbox", "/console/assets/none.css"]) {
      const response = await call(server, path, { session: owner })
      assert.strictEqual(response.status, 404, path)
      assertPageHeaders(response, `404 ${path}`)
    }
  })

  it("refuses every action to a viewer, without the CSRF token, or from another site, and changes nothing", async () => {
    const actions = [...await actionRoutes(server), { path: PROBE, needs: "admin" as const }]
    // every page's changes are here: tenants, settings, branding, keys, users, webhooks, operators
    for (const prefix of ["/console/tenants", "/console/t/:tenantId/settings", "/console/t/:tenantId/branding", "/console/t/:tenantId/keys",
      "/console/t/:tenantId/users", "/console/t/:tenantId/webhooks", "/console/operators"]) {
      assert.isTrue(actions.some(({ path }) => path.startsWith(prefix)), `no action under ${prefix}`)
    }
    // only the previews (no change) are open to viewers
    assert.deepStrictEqual(actions.filter(({ needs }) => needs === "viewer").map(({ path }) => path), ["/console/t/:tenantId/branding/preview", "/console/t/:tenantId/branding/templates/preview"])
    assert.isEmpty(actions.filter(({ path }) => NOT_ACTIONS.includes(path)), "sign-in and sign-out are not Kit actions")
    for (const { path: route, needs } of actions) {
      const path = fill(route, tenant)
      const before = await fingerprint(server)
      const refusals: ReadonlyArray<readonly [string, Call]> = [
        // (a route open to viewers changes nothing: the branding preview's no-script POST, which redirects to the draft's GET)
        ...(needs === "viewer" ? [] : [["a viewer", { session: sessions.viewer.token, form: { csrf: sessions.viewer.csrf, mode: "live" } }] as const]),
        ["no CSRF token", { session: sessions.owner.token, form: { mode: "live" } }],
        ["another session's CSRF token", { session: sessions.owner.token, form: { csrf: sessions.admin.csrf, mode: "live" } }],
        ["a cross-site Origin", { session: sessions.owner.token, form: { csrf: sessions.owner.csrf, mode: "live" }, headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } }],
        ["Sec-Fetch-Site: cross-site", { session: sessions.owner.token, form: { csrf: sessions.owner.csrf, mode: "live" }, headers: { "sec-fetch-site": "cross-site" } }],
        ["no Origin, no Referer, no Sec-Fetch-Site", { session: sessions.owner.token, form: { csrf: sessions.owner.csrf, mode: "live" }, headers: { origin: "null", "sec-fetch-site": "none" } }],
        ...(needs === "owner" ? [["an admin", { session: sessions.admin.token, form: { csrf: sessions.admin.csrf, mode: "live" } }] as const] : [])
      ]
      for (const [who, request] of refusals) {
        const response = await call(server, path, { method: "POST", ...request })
        assert.strictEqual(response.status, 403, `${who}: POST ${route}`)
        assert.deepStrictEqual(await fingerprint(server), before, `${who}: POST ${route} changed the database`)
      }
    }
    // the probe itself is a change: the same request from the owner goes through, and shows
    const done = await call(server, fill(PROBE, tenant), { method: "POST", session: sessions.owner.token, form: { csrf: sessions.owner.csrf, mode: "live" } })
    assert.strictEqual(done.status, 303)
    const events = await server.run(Effect.flatMap(Audit, (audit) => audit.list(TenantId.make(tenant), "live", { limit: 5, before: undefined }, { subject: "probe" })))
    assert.deepStrictEqual(events.map((e) => e.actor), ["operator:owner@example.com"])
  })

  it("lets only an owner change the console's own sign-in tenant (its templates, keys and webhooks could reveal codes)", async () => {
    const consoleTenant = await server.run(ensureConsoleTenant(server.origin))
    const path = `/console/t/${consoleTenant}/keys`
    const form = { name: "escalation", mode: "live", scopes: "tenant:manage" }
    const before = await fingerprint(server)
    const admin = await call(server, path, { method: "POST", session: sessions.admin.token, form: { ...form, csrf: sessions.admin.csrf } })
    assert.strictEqual(admin.status, 403)
    assert.include(await admin.text(), "Only an owner may change the console")
    assert.deepStrictEqual(await fingerprint(server), before)
    // the same change on another tenant is an admin's to make
    const elsewhere = await call(server, `/console/t/${tenant}/keys`, { method: "POST", session: sessions.admin.token, form: { ...form, csrf: sessions.admin.csrf } })
    assert.strictEqual(elsewhere.status, 201)
    const owner = await call(server, path, { method: "POST", session: sessions.owner.token, form: { ...form, csrf: sessions.owner.csrf } })
    assert.strictEqual(owner.status, 201)
  })

  it("signs out only with the session's CSRF token from a console page", async () => {
    const operator = await addOperator(server, "signout@example.com", "viewer")
    const { token } = await openSession(server, operator)
    const csrf = await csrfOf(server, token)
    for (const [why, request] of [
      ["no token", { form: {} }],
      ["another session's token", { form: { csrf: sessions.viewer.csrf } }],
      ["cross-site", { form: { csrf }, headers: { origin: "https://evil.example", "sec-fetch-site": "cross-site" } }]
    ] as const) {
      const response = await call(server, "/console/signout", { method: "POST", session: token, ...request })
      assert.strictEqual(response.status, 403, why)
      assert.strictEqual((await call(server, "/console", { session: token })).status, 200, `${why}: still signed in`)
    }
    const out = await call(server, "/console/signout", { method: "POST", session: token, form: { csrf } })
    assert.strictEqual(out.status, 303)
    assert.strictEqual((await call(server, "/console", { session: token })).status, 303)
  })

  it("ends a session revoked by another operator or by `operator remove`: GET → sign-in, POST → 401", async () => {
    for (const how of ["revokeSession", "remove"] as const) {
      const email = `${how.toLowerCase()}@example.com`
      const operator = await addOperator(server, email, "admin")
      const { token, session } = await openSession(server, operator)
      const csrf = await csrfOf(server, token)
      assert.strictEqual((await call(server, `/console/t/${tenant}/audit`, { session: token })).status, 200)
      await server.run(Effect.flatMap(Operators, (operators) => how === "remove" ? operators.remove(email) : operators.revokeSession(session.id)))
      const page = await call(server, `/console/t/${tenant}/audit`, { session: token })
      assert.strictEqual(page.status, 303, how)
      assert.strictEqual(page.headers.get("location"), `/console/signin?next=${encodeURIComponent(`/console/t/${tenant}/audit`)}`)
      const before = await fingerprint(server)
      const post = await call(server, fill(PROBE, tenant), { method: "POST", session: token, form: { csrf, mode: "live" } })
      assert.strictEqual(post.status, 401, how)
      assert.deepStrictEqual(await fingerprint(server), before)
    }
  })

  it("ends a session after the idle timeout and after the absolute timeout, however active", async () => {
    const operator = await addOperator(server, "clock@example.com", "viewer")
    const shifted = (offsetMs: number) => <A, E>(effect: Effect.Effect<A, E, Services>) =>
      Clock.clockWith((live) =>
        Effect.provideService(effect, Clock.Clock, {
          currentTimeMillisUnsafe: () => live.currentTimeMillisUnsafe() + offsetMs,
          currentTimeMillis: Effect.sync(() => live.currentTimeMillisUnsafe() + offsetMs),
          currentTimeNanosUnsafe: () => live.currentTimeNanosUnsafe() + BigInt(offsetMs) * 1_000_000n,
          currentTimeNanos: Effect.sync(() => live.currentTimeNanosUnsafe() + BigInt(offsetMs) * 1_000_000n),
          monotonicTimeNanosUnsafe: () => live.monotonicTimeNanosUnsafe(),
          monotonicTimeNanos: live.monotonicTimeNanos,
          sleep: (duration) => live.sleep(duration)
        }))
    const MINUTE = 60_000
    const opened = (offsetMs: number) =>
      server.run(shifted(offsetMs)(Effect.flatMap(Operators, (operators) => operators.openSession(operator, CONSOLE_DEFAULTS, { ip: null, userAgent: null }))))
    const status = async (token: string) => (await call(server, "/console", { session: token })).status

    // idle: last seen 29 minutes ago is still signed in, 31 minutes ago is not (CONSOLE_IDLE_MINUTES 30)
    assert.strictEqual(CONSOLE_DEFAULTS.idleMs, 30 * MINUTE)
    assert.strictEqual(await status((await opened(-29 * MINUTE)).token), 200)
    assert.strictEqual(await status((await opened(-31 * MINUTE)).token), 303)

    // absolute: used every 20 minutes from 12 h 1 min ago, so never idle, it ends 12 h after sign-in
    const start = -(CONSOLE_DEFAULTS.absoluteMs + MINUTE)
    const { token } = await opened(start)
    let at = start
    while (at + 20 * MINUTE < -MINUTE) {
      at += 20 * MINUTE
      const live = await server.run(shifted(at)(Effect.flatMap(Operators, (operators) => operators.session(token, CONSOLE_DEFAULTS))))
      assert.isDefined(live, `still signed in ${(at - start) / MINUTE} minutes after sign-in`)
    }
    assert.isBelow(-at, 30 * MINUTE, "last seen within the idle timeout")
    assert.isUndefined(await server.run(shifted(-MINUTE)(Effect.flatMap(Operators, (operators) => operators.session(token, CONSOLE_DEFAULTS)))))
    assert.strictEqual(await status(token), 303)
  })

  it("answers a sign-in for an address that is not an operator exactly as for an operator, and sends nothing", async () => {
    const consoleTenant = await server.run(ensureConsoleTenant(server.origin))
    const outbox = (email?: string) => server.run(Effect.flatMap(TestOutbox, (o) => o.list(consoleTenant, email, 100)))
    const sentBefore = (await outbox()).length
    const ask = async (email: string) => {
      const response = await call(server, "/console/signin", { method: "POST", form: { email, next: "/console/tenants" } })
      const body = (await response.text()).replaceAll(maskEmail(email), "MASKED").replaceAll(email, "EMAIL")
      const headers = [...response.headers.entries()].filter(([name]) => name !== "date" && name !== "x-request-id")
      return { status: response.status, headers, body }
    }
    const operator = await ask("owner@example.com")
    const stranger = await ask("ghost@example.com")
    assert.strictEqual(operator.status, 200)
    assert.deepStrictEqual(stranger, operator)
    assert.lengthOf(await outbox("ghost@example.com"), 0)
    assert.lengthOf(await outbox("owner@example.com"), 1)
    assert.strictEqual((await outbox()).length, sentBefore + 1)
  })

  it("signs in with a plain cookie over http, and never redirects off-site after sign-in", async () => {
    await addOperator(server, "next@example.com", "viewer")
    const response = await signIn(server, "next@example.com", "//evil.example/console")
    assert.strictEqual(response.status, 303)
    assert.strictEqual(response.headers.get("location"), "/console")
    const setCookie = response.headers.get("set-cookie") ?? ""
    assert.strictEqual(cookieName("http://127.0.0.1:1"), "sesame-console")
    const token = tokenIn(setCookie, "sesame-console")
    assert.match(token, /^[A-Za-z0-9_-]{43}$/u, setCookie)
    const attributes = setCookie.split(";").slice(1).map((a) => a.trim())
    assert.includeMembers(attributes, ["Path=/", "HttpOnly", "SameSite=Strict"])
    assert.notInclude(attributes, "Secure")
    assert.isFalse(attributes.some((a) => a.toLowerCase().startsWith("domain=")))

    // signed in, the sign-in page sends a hostile `next` home
    for (const next of ["//evil.example", "https://evil.example/console", "/\\evil.example", "/console\\@evil.example", "javascript:alert(1)", "/consoles"]) {
      const page = await call(server, `/console/signin?next=${encodeURIComponent(next)}`, { session: token })
      assert.strictEqual(page.headers.get("location"), "/console", next)
      assert.strictEqual(safeNext(next), "/console", next)
    }
    assert.strictEqual((await call(server, `/console/signin?next=${encodeURIComponent("/console/t/x/audit?mode=test")}`, { session: token })).headers.get("location"), "/console/t/x/audit?mode=test")
  })
})

describe("console security (https PUBLIC_URL)", () => {
  let server: Server
  beforeAll(async () => {
    server = await start("https://console.sesame.test")
  }, 60_000)
  afterAll(async () => server?.close())

  it("names the cookie __Host-…, Secure, HttpOnly, SameSite=Strict, Path=/ and no Domain", async () => {
    assert.strictEqual(server.cookie, "__Host-sesame-console")
    await addOperator(server, "owner@example.com", "owner")
    const response = await signIn(server, "owner@example.com")
    assert.strictEqual(response.status, 303)
    assertPageHeaders(response, "sign-in")
    const setCookie = response.headers.get("set-cookie") ?? ""
    const token = tokenIn(setCookie, "__Host-sesame-console")
    assert.match(token, /^[A-Za-z0-9_-]{43}$/u, setCookie)
    const attributes = setCookie.split(";").slice(1).map((a) => a.trim())
    assert.includeMembers(attributes, ["Path=/", "HttpOnly", "SameSite=Strict", "Secure", `Max-Age=${CONSOLE_DEFAULTS.absoluteMs / 1000}`])
    assert.isFalse(attributes.some((a) => a.toLowerCase().startsWith("domain=")))
    // the cookie works under its __Host- name only
    assert.strictEqual((await call(server, "/console", { session: token })).status, 200)
    const plain = await fetch(`${server.url}/console`, { redirect: "manual", headers: { cookie: `sesame-console=${token}` } })
    assert.strictEqual(plain.status, 303)
    // sign-out clears it with the same attributes
    const out = await call(server, "/console/signout", { method: "POST", session: token, form: { csrf: await csrfOf(server, token) } })
    assert.strictEqual(out.status, 303)
    assert.match(out.headers.get("set-cookie") ?? "", /^__Host-sesame-console=; Path=\/; HttpOnly; SameSite=Strict; Max-Age=0; Secure$/u)
    assert.strictEqual((await call(server, "/console", { session: token })).status, 303)
  })
})

