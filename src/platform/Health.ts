import { Context, Effect, Layer } from "effect"
import { SqlClient } from "effect/sql"
import { ping } from "./Database.ts"
import { Lifecycle } from "./Lifecycle.ts"

/** Readiness for `GET /readyz`: the process is ready when its database answers and it is not shutting down. */
export class Health extends Context.Service<Health, {
  /** `SELECT 1` within 2 seconds; any failure or timeout is "not ready", never an error. */
  readonly ready: Effect.Effect<boolean>
}>()("sesame/Health") {}

export const layer: Layer.Layer<Health, never, SqlClient.SqlClient> = Layer.effect(Health)(
  Effect.gen(function* () {
    const sql = yield* SqlClient.SqlClient
    const lifecycle = yield* Lifecycle
    const database = ping.pipe(
      Effect.provideService(SqlClient.SqlClient, sql),
      Effect.timeout("2 seconds"),
      Effect.as(true),
      Effect.catch(() => Effect.succeed(false))
    )
    // Draining: 503 at once, so a load balancer stops sending here while in-flight requests finish.
    return Health.of({ ready: Effect.suspend(() => lifecycle.isDraining() ? Effect.succeed(false) : database) })
  })
)
