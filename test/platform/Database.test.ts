import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { mkdtemp, rm } from "node:fs/promises"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { layerEmbedded, migrate, ping } from "../../src/platform/Database.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"

const contract = (name: string, layer: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient>) =>
  it.layer(layer, { timeout: "60 seconds" })(name, (it) => {
    it.effect("migrations are applied once and re-running them is a no-op", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        assert.deepStrictEqual(yield* migrate, [])
        assert.deepStrictEqual(yield* migrate, [])
        const rows = yield* sql`SELECT migration_id, name FROM effect_sql_migrations ORDER BY migration_id`
        assert.deepStrictEqual(rows, [{ migrationId: 1, name: "init" }, { migrationId: 2, name: "sessions" }, { migrationId: 3, name: "abuse" }, { migrationId: 4, name: "webhooks" }, { migrationId: 5, name: "links" }, { migrationId: 6, name: "sms" }, { migrationId: 7, name: "signing_key_modes" }, { migrationId: 8, name: "settings_per_mode" }, { migrationId: 9, name: "hot_paths" }, { migrationId: 10, name: "compat" }, { migrationId: 11, name: "retention" }, { migrationId: 12, name: "console" }])
      }))

    it.effect("camelCase names map to snake_case columns and back", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE probe_names (tenant_id text PRIMARY KEY, display_name text NOT NULL)`
        yield* sql`INSERT INTO probe_names ${sql.insert({ tenantId: "t1", displayName: "Acme" })}`
        const rows = yield* sql`SELECT * FROM probe_names WHERE ${sql("tenantId")} = ${"t1"}`
        assert.deepStrictEqual(rows, [{ tenantId: "t1", displayName: "Acme" }])
      }))

    it.effect("jsonb values round-trip verbatim", () =>
      Effect.gen(function*() {
        const sql = yield* PgClient.PgClient
        const value = { plan: "pro", user_agent: "curl", nestedKey: { list: [1, "two", null], ok: true } }
        yield* sql`CREATE TABLE probe_json (id int PRIMARY KEY, metadata jsonb NOT NULL)`
        yield* sql`INSERT INTO probe_json ${sql.insert({ id: 1, metadata: sql.json(value) })}`
        yield* sql`INSERT INTO probe_json (id, metadata) VALUES (2, ${JSON.stringify(value)}::jsonb)`
        const rows = yield* sql`SELECT id, metadata FROM probe_json ORDER BY id`
        assert.deepStrictEqual(rows, [{ id: 1, metadata: value }, { id: 2, metadata: value }])
      }))

    it.effect("a failing transaction rolls back", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE probe_tx (id int PRIMARY KEY)`
        const failure = yield* sql.withTransaction(Effect.gen(function*() {
          yield* sql`INSERT INTO probe_tx (id) VALUES (1)`
          return yield* Effect.fail("boom" as const)
        })).pipe(Effect.flip)
        assert.strictEqual(failure, "boom")
        assert.deepStrictEqual(yield* sql`SELECT id FROM probe_tx`, [])
      }))

    it.effect("queries issued while a transaction is open wait for it and all complete", () =>
      Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* sql`CREATE TABLE probe_queue (id int PRIMARY KEY)`
        const insert = (id: number) => sql`INSERT INTO probe_queue (id) VALUES (${id})`
        yield* Effect.all([
          sql.withTransaction(Effect.andThen(insert(1), insert(2))),
          ...[3, 4, 5].map(insert)
        ], { concurrency: "unbounded" })
        const rows = yield* sql<{ id: number }>`SELECT id FROM probe_queue ORDER BY id`
        assert.deepStrictEqual(rows.map((row) => row.id), [1, 2, 3, 4, 5])
      }))

    it.effect("ping", () => ping)
  })

contract("PGlite", pgliteLayer)

describe.skipIf(!hasPostgres)("with PostgreSQL", () => {
  contract("PostgreSQL", postgresLayer)
})

describe("layerEmbedded", () => {
  it.live("persists to its data directory across builds", () =>
    Effect.gen(function*() {
      const dir = yield* Effect.acquireRelease(
        Effect.promise(() => mkdtemp(join(tmpdir(), "sesame-db-"))),
        (dir) => Effect.promise(() => rm(dir, { recursive: true, force: true }))
      )
      const write = Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        yield* migrate
        yield* sql`INSERT INTO sesame_meta ${sql.insert({ key: "greeting", value: "hello" })}`
      })
      const read = Effect.gen(function*() {
        const sql = yield* SqlClient.SqlClient
        assert.deepStrictEqual(yield* migrate, [])
        return yield* sql`SELECT key, value FROM sesame_meta`
      })
      yield* Effect.provide(write, layerEmbedded(dir))
      const rows = yield* Effect.provide(read, layerEmbedded(dir))
      assert.deepStrictEqual(rows, [{ key: "greeting", value: "hello" }])
    }), 60_000)
})
