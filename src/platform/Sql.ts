import { Effect } from "effect"
import { isSqlError, type SqlError } from "effect/sql/SqlError"
import { ServiceUnavailable } from "../api/Errors.ts"
import { loggableSqlError } from "./SqlErrorLog.ts"

/** Infrastructure failure → the declared 503 (with Retry-After); the cause goes to the log, never the caller. */
export const unavailable = <A, E, R>(
  effect: Effect.Effect<A, E | SqlError, R>
): Effect.Effect<A, Exclude<E, SqlError> | ServiceUnavailable, R> =>
  Effect.catch(effect, (error): Effect.Effect<never, Exclude<E, SqlError> | ServiceUnavailable> =>
    isSqlError(error)
      ? Effect.logError("database error", loggableSqlError(error)).pipe(Effect.andThen(Effect.fail(new ServiceUnavailable({ retryAfter: 1 }))))
      : Effect.fail(error as Exclude<E, SqlError>))
