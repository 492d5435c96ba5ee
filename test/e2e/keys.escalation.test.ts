/**
 * Issue 10, item 6: a key cannot outgrow the key that made it. A key with `keys:manage` may create or
 * revoke only keys whose scopes are a subset of its own and whose IP allowlist and expiry are no
 * looser; the test outbox needs a scope like every other endpoint.
 */
import { assert, describe, layer } from "@effect/vitest"
import { Effect } from "effect"
import type { Scope } from "../../src/domain/Ids.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"
import { clientFor, errorCode, serverLayer, tenantFixture } from "../support/Server.ts"

const HOUR = 3600

const suite = (label: string, database: typeof pgliteLayer) =>
  layer(serverLayer(database), { timeout: 120_000, excludeTestServices: true })(label, (it) => {
    /** A tenant, its all-scopes test key's client, and a narrower key (made by the full one) with its client. */
    const narrowKey = (bounds: { scopes: Array<Scope>; ipAllowlist?: Array<string>; expiresIn?: number }) =>
      Effect.gen(function* () {
        const { keys } = yield* tenantFixture()
        const owner = yield* clientFor(keys.test)
        const expiresAt = bounds.expiresIn === undefined ? undefined : Math.floor(Date.now() / 1000) + bounds.expiresIn
        const made = yield* owner.keys.create({
          payload: {
            name: "narrow", mode: "test", scopes: bounds.scopes,
            ...(bounds.ipAllowlist === undefined ? {} : { ipAllowlist: bounds.ipAllowlist }),
            ...(expiresAt === undefined ? {} : { expiresAt })
          }
        })
        return { owner, narrow: yield* clientFor(made.secret), narrowId: made.key.id, expiresAt: expiresAt ?? 0 }
      })

    it.effect("a key bound to addresses cannot create an unbound key, or one bound beyond its networks", () =>
      Effect.gen(function* () {
        // the test client calls from 127.0.0.1
        const { narrow } = yield* narrowKey({ scopes: ["keys:manage", "passwordless:send"], ipAllowlist: ["127.0.0.0/8"] })
        const create = (ipAllowlist?: Array<string>) =>
          narrow.keys.create({ payload: { name: "child", mode: "test", scopes: ["passwordless:send"], ...(ipAllowlist === undefined ? {} : { ipAllowlist }) } })
        for (const loose of [undefined, [], ["0.0.0.0/0"], ["10.0.0.0/8"], ["127.0.0.0/7"], ["127.0.0.1", "192.168.1.1"], ["::1"]]) {
          const refused = yield* Effect.flip(create(loose))
          assert.strictEqual(errorCode(refused), "SCOPE_MISSING", JSON.stringify(loose))
          assert.strictEqual("status" in refused ? refused.status : 0, 403)
        }
        for (const tight of [["127.0.0.1"], ["127.0.0.0/8"], ["127.1.0.0/16", "127.0.0.1/32"]]) {
          const made = yield* create(tight)
          assert.deepStrictEqual(made.key.ipAllowlist.length, tight.length)
        }
      }))

    it.effect("a key that expires cannot create a key that never expires or outlives it", () =>
      Effect.gen(function* () {
        const { narrow, expiresAt } = yield* narrowKey({ scopes: ["keys:manage", "passwordless:send"], expiresIn: HOUR })
        const create = (expires?: number) =>
          narrow.keys.create({ payload: { name: "child", mode: "test", scopes: ["passwordless:send"], ...(expires === undefined ? {} : { expiresAt: expires }) } })
        for (const loose of [undefined, expiresAt + 1, expiresAt + HOUR]) {
          assert.strictEqual(errorCode(yield* Effect.flip(create(loose))), "SCOPE_MISSING", String(loose))
        }
        const made = yield* create(expiresAt - 60)
        assert.strictEqual(made.key.expiresAt, expiresAt - 60)
        assert.strictEqual((yield* create(expiresAt)).key.expiresAt, expiresAt)
      }))

    it.effect("no scope the key lacks, even combined with ones it has", () =>
      Effect.gen(function* () {
        const { narrow } = yield* narrowKey({ scopes: ["keys:manage", "passwordless:send"] })
        const refused = yield* Effect.flip(narrow.keys.create({ payload: { name: "x", mode: "test", scopes: ["passwordless:send", "users:read"] } }))
        assert.strictEqual(errorCode(refused), "SCOPE_MISSING")
        assert.strictEqual("scope" in refused ? refused.scope : undefined, "users:read")
      }))

    it.effect("a key cannot revoke a key stronger than itself; it can revoke its equals and lessers", () =>
      Effect.gen(function* () {
        const { owner, narrow, narrowId } = yield* narrowKey({ scopes: ["keys:manage", "passwordless:send"], ipAllowlist: ["127.0.0.1"], expiresIn: HOUR })
        const ownerKeys = (yield* owner.keys.list()).keys
        const full = ownerKeys.find((k) => k.name === "default test key")
        assert.isDefined(full)
        // stronger in scopes (the tenant's full key), in reach (no allowlist), in lifetime (no expiry)
        const unbound = yield* owner.keys.create({ payload: { name: "unbound", mode: "test", scopes: ["passwordless:send"], expiresAt: Math.floor(Date.now() / 1000) + 60 } })
        const forever = yield* owner.keys.create({ payload: { name: "forever", mode: "test", scopes: ["passwordless:send"], ipAllowlist: ["127.0.0.1"] } })
        for (const id of [full?.id ?? unbound.key.id, unbound.key.id, forever.key.id]) {
          const refused = yield* Effect.flip(narrow.keys.revoke({ params: { keyId: id } }))
          assert.strictEqual(errorCode(refused), "SCOPE_MISSING", id)
        }
        // none of them was revoked
        const after = (yield* owner.keys.list()).keys
        for (const id of [full?.id, unbound.key.id, forever.key.id]) {
          const key = after.find((k) => k.id === id)
          assert.isDefined(key, id)
          assert.isNull(key?.revokedAt, id)
        }
        // a lesser key it made itself, and itself, it may revoke
        const child = yield* narrow.keys.create({
          payload: { name: "child", mode: "test", scopes: ["passwordless:send"], ipAllowlist: ["127.0.0.1"], expiresAt: Math.floor(Date.now() / 1000) + 60 }
        })
        yield* narrow.keys.revoke({ params: { keyId: child.key.id } })
        yield* narrow.keys.revoke({ params: { keyId: narrowId } })
        const revoked = (yield* owner.keys.list()).keys.filter((k) => k.revokedAt !== null).map((k) => k.id).sort()
        assert.deepStrictEqual(revoked, [child.key.id, narrowId].sort())
      }))

    it.effect("the test outbox needs passwordless:send", () =>
      Effect.gen(function* () {
        const { narrow, owner } = yield* narrowKey({ scopes: ["users:read"] })
        const refused = yield* Effect.flip(narrow.test.messages({ query: {} }))
        assert.strictEqual(errorCode(refused), "SCOPE_MISSING")
        assert.strictEqual("scope" in refused ? refused.scope : undefined, "passwordless:send")
        yield* owner.passwordless.send({ payload: { email: "outbox@example.com" } })
        const { narrow: sender } = yield* narrowKey({ scopes: ["passwordless:send"] })
        assert.isArray((yield* sender.test.messages({ query: {} })).messages)
        assert.strictEqual((yield* owner.test.messages({ query: { to: "outbox@example.com" } })).messages.length, 1)
      }))
  })

suite("key escalation (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => suite("key escalation (PostgreSQL)", postgresLayer))
