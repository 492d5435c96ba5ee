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
import { PGlite } from "@electric-sql/pglite"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer, type Redacted, String as Str } from "effect"
import { Migrator, SqlClient } from "effect/sql"
import { ConnectionError, SqlError } from "effect/sql/SqlError"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { duplexPair, type Duplex } from "node:stream"
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

const connectError = (message: string) => (cause: unknown) =>
  new SqlError({ reason: new ConnectionError({ cause, message, operation: "connect" }) })

const embedded = (dataDir: string | undefined): Layer.Layer<Database, SqlError> =>
  PgClient.layerFrom(Effect.gen(function*() {
    const bridge = yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: async () => {
          if (dataDir !== undefined) mkdirSync(dataDir, { recursive: true })
          return makeBridge(await PGlite.create(dataDir === undefined ? {} : { dataDir: join(dataDir, "pgdata") }))
        },
        catch: connectError("PGlite failed to start")
      }),
      (bridge) => Effect.promise(bridge.close)
    )
    // PGlite is ONE backend session: a second connection would run inside the first one's
    // transaction, so the pool holds exactly one connection and queues everything else.
    return yield* PgClient.make({
      stream: bridge.connect,
      username: "postgres",
      database: "postgres",
      host: "pglite",
      maxConnections: 1,
      minConnections: 1,
      ...names
    })
  }))

const SSL_REQUEST = 80877103
const CANCEL_REQUEST = 80877102
const TERMINATE = 0x58

/**
 * An in-process wire-protocol server: each `connect()` is a duplex whose frontend messages are
 * fed to PGlite one by one, in arrival order, on a single promise chain.
 */
const makeBridge = (db: PGlite) => {
  let tail = Promise.resolve()
  let owner = 0
  let nextId = 0
  let closed = false
  const run = (task: () => Promise<void>, onError: (error: unknown) => void) => {
    tail = tail.then(() => (closed ? undefined : task())).catch(onError)
  }
  // A dropped connection must not leak its open transaction, prepared statements or session
  // settings into the next one.
  const reset = async () => {
    if (db.isInTransaction()) await db.exec("ROLLBACK")
    await db.exec("DISCARD ALL")
  }

  const connect = (): Duplex => {
    const [client, server] = duplexPair()
    const id = ++nextId
    let buffer = Buffer.alloc(0)
    let started = false
    const fail = (error: unknown) => server.destroy(error instanceof Error ? error : new Error(String(error)))
    const send = (message: Buffer) =>
      run(() =>
        db.runExclusive(() =>
          db.execProtocolRawStream(message, {
            onRawData: (data) => {
              if (!server.destroyed) server.write(Buffer.from(data))
            }
          })
        ), fail)

    server.on("data", (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk])
      while (buffer.length >= 5) {
        const length = started ? 1 + buffer.readInt32BE(1) : buffer.readInt32BE(0)
        if (length < (started ? 5 : 8)) return void fail(new Error("PGlite bridge: malformed message"))
        if (buffer.length < length) return
        const message = buffer.subarray(0, length)
        buffer = buffer.subarray(length)
        if (started) {
          if (message[0] === TERMINATE) return void server.end()
          send(message)
          continue
        }
        const code = message.readInt32BE(4)
        if (code === SSL_REQUEST) server.write("N")
        else if (code === CANCEL_REQUEST) return void server.end() // PGlite runs queries synchronously
        else {
          started = true
          run(async () => {
            if (owner !== 0) await reset()
            owner = id
          }, fail)
          send(message)
        }
      }
    })
    server.on("close", () =>
      run(async () => {
        if (owner !== id) return
        owner = 0
        await reset()
      }, () => undefined))
    return client
  }

  const close = async () => {
    await tail
    closed = true
    await db.close()
  }
  return { connect, close }
}
