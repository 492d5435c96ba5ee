import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { ServiceUnavailable } from "../api/Errors.ts"
import { unavailable } from "./Sql.ts"

/** Runs an effect in one database transaction (the test layer just runs it). */
export class Transaction extends Context.Service<Transaction, {
  readonly run: <A, E, R>(effect: Effect.Effect<A, E, R>) => Effect.Effect<A, E | ServiceUnavailable, R>
}>()("sesame/Transaction") {
  static readonly layerTest = Layer.succeed(Transaction)({ run: (effect) => effect })
}

export const layer = Layer.effect(Transaction)(
  Effect.map(SqlClient.SqlClient, (sql) => Transaction.of({ run: (effect) => unavailable(sql.withTransaction(effect)) }))
)
