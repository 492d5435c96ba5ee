import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Deferred, Effect, Fiber, Layer, Redacted } from "effect"
import { SqlClient } from "effect/sql"
import { TestClock } from "effect/testing"
import { layerPostgres } from "../../src/platform/Database.ts"
import { Health } from "../../src/platform/Health.ts"
import * as HealthLive from "../../src/platform/Health.ts"
import * as Lifecycle from "../../src/platform/Lifecycle.ts"
import { freshPostgresUrl, hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"

const ready = Effect.flatMap(Health, (health) => health.ready)

const contract = (name: string, layer: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient>) =>
  it.layer(HealthLive.layer.pipe(Layer.provideMerge(layer)), { timeout: "60 seconds" })(name, (it) => {
    it.effect("ready while the database answers", () =>
      Effect.gen(function* () {
        assert.isTrue(yield* ready)
      }))

    it.effect("not ready from the moment a shutdown begins, though the database still answers", () =>
      Effect.gen(function* () {
        const controller = Lifecycle.make()
        const health = Layer.fresh(HealthLive.layer).pipe(Layer.provide(Layer.succeed(Lifecycle.Lifecycle)(controller.lifecycle)))
        yield* controller.serving(10_000)
        assert.isTrue(yield* Effect.provide(ready, health))
        yield* controller.begin
        assert.isFalse(yield* Effect.provide(ready, health))
      }))
  })

contract("Health (PGlite)", pgliteLayer)

// PGlite has one connection: a transaction that never ends keeps the ping waiting until its timeout.
it.layer(HealthLive.layer.pipe(Layer.provideMerge(pgliteLayer)), { timeout: "60 seconds" })("Health (PGlite, busy)", (it) => {
  it.effect("not ready when the ping does not answer within 2 seconds", () =>
    Effect.gen(function* () {
      const sql = yield* SqlClient.SqlClient
      const inside = yield* Deferred.make<void>()
      const holder = yield* Effect.forkChild(sql.withTransaction(
        Effect.andThen(sql`SELECT 1`, Effect.andThen(Deferred.succeed(inside, undefined), Effect.never))
      ))
      yield* Deferred.await(inside)
      const pending = yield* Effect.forkChild(ready)
      yield* TestClock.adjust("1999 millis")
      assert.isUndefined(pending.pollUnsafe())
      yield* TestClock.adjust("1 millis")
      assert.isFalse(yield* Fiber.join(pending))
      yield* Fiber.interrupt(holder)
      assert.isTrue(yield* ready)
    }))
})

describe.skipIf(!hasPostgres)("PostgreSQL", () => {
  contract("Health (PostgreSQL)", postgresLayer)

  it.live("not ready once its database is gone", () =>
    Effect.gen(function* () {
      const database = yield* Effect.acquireRelease(Effect.promise(freshPostgresUrl), (db) => Effect.promise(db.drop))
      yield* Effect.gen(function* () {
        assert.isTrue(yield* ready)
        yield* Effect.promise(database.drop)
        assert.isFalse(yield* ready)
      }).pipe(Effect.provide(HealthLive.layer.pipe(Layer.provide(Layer.orDie(layerPostgres(Redacted.make(database.url)))))))
    }), 60_000)
})
