/**
 * One SQL client (@effect/sql-pg) over PostgreSQL or PGlite, the migrator, and a readiness ping.
 *
 * Names: write camelCase (`sql.insert({ tenantId })`, `sql("tenantId")`), columns are snake_case,
 * rows come back camelCase. Only identifiers are renamed: jsonb values are stored and returned
 * verbatim (transformJson off), so keys inside client-supplied JSON are never rewritten.
 *
 * jsonb parameters: the driver refuses plain objects (CodecError "Cannot infer a PostgreSQL type").
 *   const sql = yield* PgClient.PgClient
 *   yield* sql`INSERT INTO t ${sql.insert({ id, metadata: sql.json({ plan: "pro" }) })}`
 *   yield* sql`UPDATE t SET metadata = ${sql.json(value)} WHERE id = ${id}`
 * With only SqlClient at hand: `${JSON.stringify(value)}::jsonb`. jsonb columns read back parsed.
 *
 * The driver speaks the extended protocol only: one statement per `sql` call (also in migrations).
 */
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, type Redacted, String as Str } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { ConnectionError, SqlError } from "effect/sql/SqlError"
import { migrations } from "../../migrations/index.ts"

export type Database = PgClient.PgClient | SqlClient.SqlClient

const names = {
  transformQueryNames: Str.camelToSnake,
  transformResultNames: Str.snakeToCamel,
  transformJson: false
} as const

export const layerPostgres = (
  url: Redacted.Redacted<string>,
  options?: { readonly maxConnections?: number }
): Layer.Layer<Database, SqlError> =>
  PgClient.layer({
    url,
    maxConnections: options?.maxConnections ?? 10,
    applicationName: "sesame",
    // Every statement is prepared once per connection (the driver's cache), but PostgreSQL keeps
    // planning the hot CTEs afresh (custom plans: ~0.1–0.5 ms of planning against ~0.04 ms of
    // execution, bench/RESULTS.md). Every statement here is keyed by primary or unique keys, so the
    // generic plan is the plan: it is made once per connection and reused.
    startupParameters: { plan_cache_mode: "force_generic_plan" },
    ...names
  })

/** PGlite persisted in `dataDir/pgdata`. */
export const layerEmbedded = (dataDir: string): Layer.Layer<Database, SqlError> => embedded(dataDir)

/** PGlite in memory, for tests. */
export const layerEmbeddedMemory = (): Layer.Layer<Database, SqlError> => embedded(undefined)

/**
 * PGlite is imported only here, when the embedded database is chosen: a server on PostgreSQL never
 * loads it (startup time and resident memory, bench/RESULTS.md).
 */
const embedded = (dataDir: string | undefined): Layer.Layer<Database, SqlError> =>
  Layer.unwrap(Effect.map(
    Effect.tryPromise({
      try: () => import("./Embedded.ts"),
      catch: (cause) =>
        new SqlError({ reason: new ConnectionError({ cause, message: "PGlite failed to load", operation: "connect" }) })
    }),
    (Embedded) => Embedded.layer(dataDir, names)
  ))

export const migrate: Effect.Effect<
  ReadonlyArray<readonly [id: number, name: string]>,
  Migrator.MigrationError | SqlError,
  SqlClient.SqlClient
> = Migrator.make({})({ loader: Migrator.fromRecord(migrations) }).pipe(
  Effect.tap((applied) =>
    Effect.forEach(applied, ([id, name]) => Effect.log(`migration ${String(id).padStart(4, "0")}_${name} applied`))
  )
)

export const ping: Effect.Effect<void, SqlError, SqlClient.SqlClient> = Effect.flatMap(
  SqlClient.SqlClient,
  (sql) => Effect.asVoid(sql`SELECT 1`)
)
