import { PgClient } from "@effect/sql-pg"
import { Context, Effect, Layer } from "effect"
import type { ServiceUnavailable } from "../api/Errors.ts"
import type { Key } from "./CodeStore.ts"
import { unavailable } from "../platform/Sql.ts"

/** Whether an identifier already has an account, for tenants with sign-up turned off. */
export class Accounts extends Context.Service<Accounts, {
  readonly exists: (key: Key, email: string) => Effect.Effect<boolean, ServiceUnavailable>
}>()("sesame/Accounts") {
  /** Everyone exists unless listed in `unknown`. */
  static readonly layerTest = (unknown: ReadonlyArray<string> = []) =>
    Layer.succeed(Accounts)({ exists: (_key, email) => Effect.succeed(!unknown.includes(email)) })
}

export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  return Accounts.of({
    // One index look-up (users_email), the same query whatever the answer.
    exists: (key, email) =>
      // an E.164 phone (SMS, #4) is looked up by the phone column
      unavailable(sql<{ n: number }>`SELECT count(*)::int AS n FROM users
        WHERE tenant_id = ${key.tenantId} AND mode = ${key.mode} AND ${sql(email.startsWith("+") ? "phone" : "email")} = ${email}`).pipe(
        Effect.map((rows) => (rows[0]?.n ?? 0) > 0)
      )
  })
})

export const layer = Layer.effect(Accounts)(make)
