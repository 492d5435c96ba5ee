import { Effect, Layer } from "effect"
import { PgClient } from "@effect/sql-pg"
import { layerEmbeddedMemory, migrate, ping } from "../src/platform/Database.ts"

const t0 = performance.now()
const program = Effect.gen(function*() {
  console.log("layer ready ms", Math.round(performance.now() - t0))
  yield* migrate
  yield* migrate
  yield* ping
  const sql = yield* PgClient.PgClient
  yield* sql`CREATE TABLE t (id int PRIMARY KEY, tenant_id text, meta jsonb, created_at timestamptz default now())`
  yield* sql`INSERT INTO t ${sql.insert({ id: 1, tenantId: "x", meta: sql.json({ user_agent: "a", nested: { fooBar: 1 } }) })}`
  console.log(yield* sql`SELECT *, count(*) over () AS total, 1.5::numeric AS n FROM t`)
  const r = yield* sql.withTransaction(Effect.gen(function*() {
    yield* sql`INSERT INTO t (id) VALUES (2)`
    return yield* Effect.fail("boom" as const)
  })).pipe(Effect.flip)
  console.log("tx", r, yield* sql`SELECT id FROM t`)
  const e = yield* sql`SELECT 1; SELECT 2`.pipe(Effect.flip)
  console.log("multi", e.reason._tag, e.message)
  const e2 = yield* sql`SELECT ${{ a: 1 } as unknown as string}`.pipe(Effect.flip, Effect.catchDefect((d) => Effect.succeed(String(d))))
  console.log("object param", e2)
  console.log(yield* sql`SELECT ${JSON.stringify({ b: 2 })}::jsonb AS j`)
  // concurrency
  const t1 = performance.now()
  yield* Effect.forEach(Array.from({ length: 200 }, (_, i) => i), (i) => sql`SELECT ${i}::int AS i`, { concurrency: 20 })
  console.log("200 queries ms", Math.round(performance.now() - t1))
}).pipe(Effect.provide(layerEmbeddedMemory()))
await Effect.runPromise(program)
console.log("closed")
