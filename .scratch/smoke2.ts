import { Effect, Redacted } from "effect"
import { PgClient } from "@effect/sql-pg"
import { layerEmbeddedMemory, layerPostgres, migrate } from "../src/platform/Database.ts"

const program = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  yield* migrate
  const t = performance.now()
  const r = yield* sql`SELECT pg_sleep(1)`.pipe(Effect.timeout("100 millis"), Effect.result)
  console.log("timeout result", r._tag, Math.round(performance.now() - t))
  console.log(yield* sql`SELECT 1 AS one`, Math.round(performance.now() - t))
  // interrupted transaction
  const r2 = yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`INSERT INTO sesame_meta (key, value) VALUES ('a', 'b')`
    yield* sql`SELECT pg_sleep(0.5)`
  })).pipe(Effect.timeout("100 millis"), Effect.result)
  console.log("tx timeout", r2._tag, Math.round(performance.now() - t))
  console.log(yield* sql`SELECT * FROM sesame_meta`, Math.round(performance.now() - t))
  console.log(yield* sql`SHOW search_path`)
})
const which = process.argv[2]
await Effect.runPromise(program.pipe(Effect.provide(which === "pg" ? layerPostgres(Redacted.make("postgres://postgres@127.0.0.1:5432/postgres")) : layerEmbeddedMemory())))
console.log("closed")
