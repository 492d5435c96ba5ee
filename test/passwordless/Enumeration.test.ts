/**
 * Enumeration safety, measured as work rather than wall time (issue 10, item 5): with
 * `allowSignup: false`, a send to an address without an account must do exactly the work of a send
 * to one with an account — the same SQL statements, the same template renderings (of the same
 * sizes), the same sealing and hashing — so no timing difference can tell them apart. Wall-clock
 * medians on a shared 2-core machine are noise; these counts are exact.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Tracer } from "effect"
import Mustache from "mustache"
import { afterEach, vi } from "vitest"
import type { SendRequest } from "../../src/api/Passwordless.ts"
import type { CurrentKey } from "../../src/api/Security.ts"
import { policyOf } from "../../src/domain/TenantSettings.ts"
import { ApiKeys } from "../../src/keys/ApiKeys.ts"
import { servicesOn } from "../../src/Layers.ts"
import { Passwordless } from "../../src/passwordless/Passwordless.ts"
import { Secrets } from "../../src/platform/Secrets.ts"
import { Sessions } from "../../src/sessions/Sessions.ts"
import { createTenantWithKeys } from "../../src/tenants/Bootstrap.ts"
import { TenantAdmin } from "../../src/tenants/TenantAdmin.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { testConfig } from "../support/Server.ts"

type Caller = CurrentKey["Service"]

/** Everything one send did that costs time: statements, renderings, seals and HMACs, in order. */
interface Work {
  readonly statements: Array<string>
  readonly renders: Array<string>
  readonly seals: Array<number>
  hmacs: number
}

/**
 * Runs `effect` with a tracer that records every SQL statement (each runs in a span carrying its
 * text, `db.query.text`), and spies that record every Mustache rendering (template size → output
 * size) and every seal (plaintext size) and code HMAC it performs.
 */
const measure = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const secrets = yield* Secrets
    const work: Work = { statements: [], renders: [], seals: [], hmacs: 0 }
    const tracer = Tracer.make({
      span(options) {
        const span = new Tracer.NativeSpan(options)
        const attribute = span.attribute.bind(span)
        span.attribute = (key, value) => {
          if (key === "db.query.text") work.statements.push(String(value))
          attribute(key, value)
        }
        return span
      }
    })
    const render = Mustache.Writer.prototype.render
    vi.spyOn(Mustache.Writer.prototype, "render").mockImplementation(function (this: Mustache.Writer, template, view, partials, config) {
      const output = render.call(this, template, view, partials, config)
      work.renders.push(`${template.length}→${output.length}`)
      return output
    })
    const seal = secrets.seal
    vi.spyOn(secrets, "seal").mockImplementation((plaintext, aad) => {
      work.seals.push(plaintext.length)
      return seal(plaintext, aad)
    })
    const codeHash = secrets.codeHash
    vi.spyOn(secrets, "codeHash").mockImplementation((id, code) => {
      work.hmacs++
      return codeHash(id, code)
    })
    const result = yield* Effect.provideService(effect, Tracer.Tracer, tracer)
    vi.restoreAllMocks()
    return { result, work }
  })

/** A fresh tenant whose live key is the caller, with one verified user (`known`) and sign-up off. */
const tenantWithMember = (known: { readonly email?: string; readonly phone?: string }, settings: Record<string, unknown> = {}) =>
  Effect.gen(function* () {
    const created = yield* createTenantWithKeys("Enumeration", ["https://app.example.com/*"])
    const key = yield* (yield* ApiKeys).authenticate(created.keys.live)
    const caller: Caller = { keyId: key.id, tenantId: key.tenantId, mode: key.mode, scopes: key.scopes }
    yield* (yield* Sessions).signIn({
      tenantId: caller.tenantId, mode: caller.mode, channel: known.phone === undefined ? "email" : "sms",
      email: known.email ?? null, phone: known.phone ?? null, amr: ["otp", "email"], clientIp: null, userAgent: null,
      policy: policyOf({}, "Enumeration")
    })
    yield* (yield* TenantAdmin).update(caller, {
      settings: { allowSignup: false, limits: { sendPerIdentifierMinute: 100, sendPerIdentifierHour: 1000 }, ...settings }
    })
    return caller
  })

/**
 * Sends to `member` and to `stranger` (addresses of the same length, so renderings of the same
 * template have the same size), alternating, after one warm-up send each (caches, prepared
 * statements), and returns the work of the last send of each.
 */
const compare = (caller: Caller, member: SendRequest, stranger: SendRequest) =>
  Effect.gen(function* () {
    const pw = yield* Passwordless
    let last: { known: Work; unknown: Work } | undefined
    for (let round = 0; round < 2; round++) {
      const known = yield* measure(pw.send(caller, member))
      const unknown = yield* measure(pw.send(caller, stranger))
      last = { known: known.work, unknown: unknown.work }
    }
    return last ?? { known: { statements: [], renders: [], seals: [], hmacs: 0 }, unknown: { statements: [], renders: [], seals: [], hmacs: 0 } }
  })

/** `sealedSizes: false`: the two paths seal different messages (the notice is shorter), so only their number is compared. */
const assertSameWork = (work: { known: Work; unknown: Work }, sealedSizes = true) => {
  // a send does real work on both paths: it is not two empty lists that compare equal
  assert.isAtLeast(work.known.statements.length, 2)
  assert.isAtLeast(work.known.renders.length, 1)
  assert.isAtLeast(work.known.seals.length, 1)
  assert.deepStrictEqual(work.unknown.statements, work.known.statements)
  assert.deepStrictEqual(work.unknown.renders, work.known.renders)
  if (sealedSizes) assert.deepStrictEqual(work.unknown.seals, work.known.seals)
  else assert.strictEqual(work.unknown.seals.length, work.known.seals.length)
  assert.strictEqual(work.unknown.hmacs, work.known.hmacs)
}

/** A stored template of ~60 KB: the review measured 7.6 ms between the paths with one like it. */
const largeTemplate = {
  template: "SIGNIN", locale: "en", subject: "Sign in to {{appName}}",
  html: `<p>Your code is <b>{{code}}</b>, {{email}}.</p>${"<p>{{appName}} — a paragraph of legal text that goes on and on.</p>".repeat(900)}`,
  text: `Your code is {{code}}. ${"{{appName}} — legal text. ".repeat(600)}`
}

const suite = (name: string, database: typeof pgliteLayer) =>
  layer(servicesOn(database).pipe(Layer.provide(testConfig())), { timeout: 120_000, excludeTestServices: true })(name, (it) => {
    afterEach(() => {
      vi.restoreAllMocks()
    })

    it.effect("email with the built-in template: the same statements, renderings, seals and HMACs", () =>
      Effect.gen(function* () {
        const caller = yield* tenantWithMember({ email: "members@example.com" })
        const work = yield* compare(caller, { email: "members@example.com" }, { email: "strangr@example.com" })
        assertSameWork(work)
        // the decoy's message is written but never delivered; the member's is (dev outbox)
        const pw = yield* Passwordless
        const member = yield* pw.send(caller, { email: "members@example.com" })
        const stranger = yield* pw.send(caller, { email: "strangr@example.com" })
        const statusOf = (id: typeof member.authRequestId) => Effect.map(pw.status(caller, id), (s) => s.delivery.status)
        let delivered = yield* statusOf(member.authRequestId)
        for (let i = 0; i < 50 && delivered !== "sent"; i++) {
          yield* Effect.sleep("50 millis")
          delivered = yield* statusOf(member.authRequestId)
        }
        assert.strictEqual(delivered, "sent")
        assert.strictEqual(yield* statusOf(stranger.authRequestId), "suppressed")
      }))

    it.effect("email with a large stored template: the decoy renders it too", () =>
      Effect.gen(function* () {
        const caller = yield* tenantWithMember({ email: "members@example.com" }, { templates: [largeTemplate] })
        const work = yield* compare(caller, { email: "members@example.com" }, { email: "strangr@example.com" })
        assertSameWork(work)
        // the stored template really was rendered on both paths
        assert.isTrue(work.unknown.renders.some((r) => Number(r.split("→")[0]) > 50_000))
      }))

    it.effect("magic link with noAccountEmail: the sign-in email and the notice are rendered on both paths", () =>
      Effect.gen(function* () {
        const caller = yield* tenantWithMember({ email: "members@example.com" }, { noAccountEmail: true })
        const link = { type: "LINK", redirectUrl: "https://app.example.com/cb" } as const
        const work = yield* compare(caller, { email: "members@example.com", ...link }, { email: "strangr@example.com", ...link })
        // The member gets the sign-in email, the stranger the notice: both are rendered on both paths,
        // and one of them sealed and written; only the sealed size differs (about 1 KB of AES-GCM input).
        assertSameWork(work, false)
      }))

    it.effect("SMS: the decoy's text is rendered and sealed like the member's", () =>
      Effect.gen(function* () {
        const caller = yield* tenantWithMember({ phone: "+447400123456" })
        const work = yield* compare(caller, { channel: "sms", phone: "+447400123456" }, { channel: "sms", phone: "+447400123457" })
        assertSameWork(work)
      }))
  })

suite("enumeration-safe sends do the same work (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => {
  suite("enumeration-safe sends do the same work (PostgreSQL)", postgresLayer)
})
