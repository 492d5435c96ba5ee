/**
 * PGlite (PostgreSQL in WASM) behind the same @effect/sql-pg client as PostgreSQL. Loaded only through
 * `Database.layerEmbedded*` with a dynamic `import()`: PGlite's ~0.5 MB of JavaScript (and its WASM)
 * stays out of a server that runs on PostgreSQL.
 */
import { PGlite } from "@electric-sql/pglite"
import { PgClient } from "@effect/sql-pg"
import { Effect, Layer } from "effect"
import type { SqlClient } from "effect/sql"
import { ConnectionError, SqlError } from "effect/sql/SqlError"
import { mkdirSync } from "node:fs"
import { join } from "node:path"
import { duplexPair, type Duplex } from "node:stream"

/** The client options shared with the PostgreSQL layer (name transforms). */
export type ClientOptions = Pick<PgClient.PgPoolConfig, "transformQueryNames" | "transformResultNames" | "transformJson">

const connectError = (message: string) => (cause: unknown) =>
  new SqlError({ reason: new ConnectionError({ cause, message, operation: "connect" }) })

/** PGlite persisted in `dataDir/pgdata`, or in memory when `dataDir` is undefined. */
export const layer = (
  dataDir: string | undefined,
  options: ClientOptions
): Layer.Layer<PgClient.PgClient | SqlClient.SqlClient, SqlError> =>
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
      ...options
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
