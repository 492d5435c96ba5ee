/**
 * A value PostgreSQL refuses must not come back in Sesame's log: its error context quotes the input
 * (`JSON data, line 1: {"state":"…`, `Key (email)=(…) already exists`). Run on PGlite and PostgreSQL.
 */
import { PgClient } from "@effect/sql-pg"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Layer, Logger } from "effect"
import { SqlClient } from "effect/sql"
import { inspect } from "node:util"
import { unavailable } from "../../src/platform/Sql.ts"
import { hasPostgres, pgliteLayer, postgresLayer } from "../support/Db.ts"

const SUBMITTED = "submitted-by-a-caller"

const contract = (name: string, layer: Layer.Layer<PgClient.PgClient | SqlClient.SqlClient>) =>
  it.layer(layer, { timeout: "60 seconds" })(name, (it) => {
    it.effect("refused values (NUL in jsonb and text, a duplicate key) are not repeated in the database error log", () =>
      Effect.gen(function* () {
        const sql = yield* SqlClient.SqlClient
        const lines: Array<string> = []
        const capture = Logger.make(({ message }) => lines.push(inspect(message, { depth: 10 })))
        yield* Effect.gen(function* () {
          yield* sql`CREATE TABLE probe_refused (j jsonb, s text, u text UNIQUE)`
          yield* sql`INSERT INTO probe_refused (u) VALUES (${`${SUBMITTED}@example.com`})`
          const refused = [
            sql`INSERT INTO probe_refused (j) VALUES (${JSON.stringify({ state: `${SUBMITTED}\u0000` })}::jsonb)`,
            sql`INSERT INTO probe_refused (s) VALUES (${`${SUBMITTED}\u0000`})`,
            sql`INSERT INTO probe_refused (u) VALUES (${`${SUBMITTED}@example.com`})`
          ]
          for (const statement of refused) {
            const error = yield* Effect.flip(unavailable(statement))
            assert.strictEqual(error._tag, "ServiceUnavailable")
          }
        }).pipe(Effect.provide(Logger.layer([capture])))
        assert.strictEqual(lines.length, 3, lines.join("\n"))
        for (const line of lines) {
          assert.include(line, "database error")
          assert.notInclude(line, SUBMITTED)
        }
        // still enough to diagnose: the SQLSTATE of each refusal
        assert.deepStrictEqual(lines.map((line) => /code: '(\w+)'/.exec(line)?.[1]), ["22P05", "22021", "23505"])
      }))
  })

contract("SQL error log (PGlite)", pgliteLayer)
describe.skipIf(!hasPostgres)("PostgreSQL", () => {
  contract("SQL error log (PostgreSQL)", postgresLayer)
})
