import { PgClient } from "@effect/sql-pg"
import { Effect, Exit, Layer, Redacted, Scope } from "effect"
import type { SqlClient } from "effect/sql"
import type { SqlError } from "effect/sql/SqlError"
import { randomBytes } from "node:crypto"
import { layerEmbeddedMemory, layerPostgres, migrate } from "../../src/platform/Database.ts"

type Database = PgClient.PgClient | SqlClient.SqlClient

const adminUrl = process.env.SESAME_TEST_DATABASE_URL ?? ""

/** A PostgreSQL server to test against (`SESAME_TEST_DATABASE_URL`); use with `describe.skipIf(!hasPostgres)`. */
export const hasPostgres: boolean = adminUrl !== ""

const migrated = (layer: Layer.Layer<Database, SqlError>) =>
  Layer.effectDiscard(migrate).pipe(Layer.provideMerge(layer), Layer.orDie)

/** A fresh in-memory PGlite with migrations applied (each build is a new database, ~2–5 s). */
export const pgliteLayer: Layer.Layer<Database> = migrated(layerEmbeddedMemory())

/** A fresh in-memory PGlite with no migration applied (for upgrade tests). */
export const emptyPgliteLayer: Layer.Layer<Database> = Layer.orDie(layerEmbeddedMemory())

const admin = <A>(f: (sql: PgClient.PgClient) => Effect.Effect<A, SqlError>) =>
  Effect.flatMap(PgClient.PgClient, f).pipe(
    Effect.provide(PgClient.layer({ url: Redacted.make(adminUrl), maxConnections: 1 }))
  )

/** Creates an empty database on the test server and drops it (`WITH (FORCE)`) when the scope closes. */
export const freshPostgresDatabase: Effect.Effect<string, SqlError, Scope.Scope> = Effect.acquireRelease(
  Effect.gen(function*() {
    if (!hasPostgres) return yield* Effect.die(new Error("SESAME_TEST_DATABASE_URL is not set"))
    const name = `sesame_t_${randomBytes(6).toString("hex")}`
    yield* admin((sql) => sql`CREATE DATABASE ${sql(name)}`)
    const url = new URL(adminUrl)
    url.pathname = `/${name}`
    return url.toString()
  }),
  (url) => Effect.orDie(admin((sql) => sql`DROP DATABASE IF EXISTS ${sql(new URL(url).pathname.slice(1))} WITH (FORCE)`))
)

/** A client to a fresh migrated database on the test server, dropped when the layer's scope closes. */
export const postgresLayer: Layer.Layer<Database> = Layer.unwrap(
  Effect.map(Effect.orDie(freshPostgresDatabase), (url) => migrated(layerPostgres(Redacted.make(url))))
)

/** A client to a fresh empty database on the test server (no migration applied), dropped with the scope. */
export const emptyPostgresLayer: Layer.Layer<Database> = Layer.unwrap(
  Effect.map(Effect.orDie(freshPostgresDatabase), (url) => Layer.orDie(layerPostgres(Redacted.make(url))))
)

/** For tests that spawn server processes: an empty database's URL, and `drop` to remove it. */
export const freshPostgresUrl = (): Promise<{ readonly url: string; readonly drop: () => Promise<void> }> =>
  Effect.runPromise(Effect.gen(function*() {
    const scope = yield* Scope.make()
    const url = yield* Scope.provide(freshPostgresDatabase, scope)
    return { url, drop: () => Effect.runPromise(Scope.close(scope, Exit.void)) }
  }))
