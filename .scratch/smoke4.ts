import { Cause, Effect, Exit, Redacted } from "effect"
import { PgClient } from "@effect/sql-pg"
import { layerPostgres } from "../src/platform/Database.ts"

const program = Effect.gen(function*() {
  const sql = yield* PgClient.PgClient
  const exit = yield* Effect.exit(sql.withTransaction(sql`SELECT ROW(128::int4) AS r`))
  if (Exit.isFailure(exit)) console.log(exit.cause.reasons.map((r) => r._tag + ":" + (r._tag === "Fail" ? (r.error as any).message : r._tag === "Die" ? String((r.defect as any)?.message) : "")))
  console.log(yield* sql`SELECT 1 AS one`)
})
await Effect.runPromise(program.pipe(Effect.provide(layerPostgres(Redacted.make("postgres://postgres@127.0.0.1:5432/postgres")))))
console.log("closed")
