/**
 * Migration 0008 (issue 10): an existing tenant's settings become both its live and its test
 * settings, so nothing changes for it until a key of one mode patches its own document.
 */
import { PgClient } from "@effect/sql-pg"
import { assert, describe, layer } from "@effect/vitest"
import { Effect, Layer, Redacted } from "effect"
import { Migrator } from "effect/sql"
import { migrations } from "../../migrations/index.ts"
import type { TenantId } from "../../src/domain/Ids.ts"
import { type Database, layerEmbeddedMemory, layerPostgres, migrate } from "../../src/platform/Database.ts"
import * as TenantsLive from "../../src/tenants/Tenants.ts"
import { freshPostgresDatabase, hasPostgres } from "../support/Db.ts"

const before = Object.fromEntries(Object.entries(migrations).filter(([id]) => id < "0008"))

const suite = (name: string, database: Layer.Layer<Database>) =>
  layer(Layer.provideMerge(TenantsLive.layer, database), { timeout: 60_000 })(name, (it) => {
    it.effect("0008 copies each tenant's settings into test_settings; both modes then read the same policy", () =>
      Effect.gen(function* () {
        const sql = yield* PgClient.PgClient
        yield* Migrator.make({})({ loader: Migrator.fromRecord(before) })
        const settings = { redirectAllowlist: ["https://app.example.com/cb"], allowSignup: false, limits: { sendPerIpHour: 7 } }
        yield* sql`INSERT INTO tenants ${sql.insert({ id: "ten_old", name: "Old Co", settings: sql.json(settings), createdAt: new Date(0) })}`
        const applied = yield* migrate
        assert.deepInclude(applied, [8, "settings_per_mode"])
        const [row] = yield* sql<{ settings: unknown; testSettings: unknown }>`SELECT settings, test_settings FROM tenants WHERE id = 'ten_old'`
        assert.deepStrictEqual(row, { settings, testSettings: settings })
        const tenant = yield* Effect.flatMap(TenantsLive.Tenants, (t) => t.get("ten_old" as TenantId))
        assert.deepStrictEqual(tenant.modes.test, tenant.modes.live)
        assert.deepStrictEqual([tenant.modes.test.policy.allowSignup, tenant.modes.test.policy.limits.sendPerIpHour], [false, 7])
        const missing = yield* Effect.flip(sql`INSERT INTO tenants (id, name, settings, created_at) VALUES ('ten_new', 'New', '{}', ${new Date(0)})`)
        assert.strictEqual(missing.reason._tag, "ConstraintError")
        assert.include(JSON.stringify(missing.reason), '"column":"test_settings"', "test_settings is NOT NULL")
      }).pipe(Effect.orDie))
  })

suite("settings migration (PGlite)", layerEmbeddedMemory().pipe(Layer.orDie))
describe.skipIf(!hasPostgres)("PostgreSQL", () =>
  suite("settings migration (PostgreSQL)", Layer.unwrap(Effect.map(Effect.orDie(freshPostgresDatabase), (url) => layerPostgres(Redacted.make(url)).pipe(Layer.orDie)))))
