import { Effect, Redacted } from "effect"
import { PgClient } from "@effect/sql-pg"
import { layerEmbeddedMemory, layerPostgres, migrate } from "../src/platform/Database.ts"

const program = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  yield* migrate
  yield* sql`SET application_name = 'leaky'`
  const r = yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`INSERT INTO sesame_meta (key, value) VALUES ('a', 'b')`
    return yield* sql`SELECT ROW(128::int4) AS r`
  })).pipe(Effect.exit)
  console.log("tx", r._tag)
  console.log(yield* sql`SELECT * FROM sesame_meta`)
  console.log(yield* sql`SELECT current_setting('application_name') AS app, (SELECT count(*) FROM pg_prepared_statements) AS prepared`)
})
const which = process.argv[2]
await Effect.runPromise(program.pipe(Effect.provide(which === "pg" ? layerPostgres(Redacted.make("postgres://postgres@127.0.0.1:5432/postgres")) : layerEmbeddedMemory())))
console.log("closed")
